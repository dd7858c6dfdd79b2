//! The program's last word: what it hands to `graceful::at_exit` and
//! `graceful::drop_at_exit` runs after the report is logged and before the exit, so a
//! buffered log pipeline receives the summary too.

use graceful_process_tests as support;

use std::path::PathBuf;
use std::time::Duration;

use support::stopped_by;

const LAST_WORD: &str = env!("CARGO_BIN_EXE_fixture-last-word");

#[test]
fn a_buffered_subscriber_receives_the_summary_line() {
    let out = stopped_by(LAST_WORD, "TERM", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    // The buffer reached stdout in the `at_exit` work, with every line of the shutdown:
    // the last one is the summary.
    let last = out.stdout.last().unwrap_or_else(|| panic!("{out:#?}"));
    assert!(
        last.contains("shutdown complete") && last.contains("exit_code=0"),
        "{out:#?}"
    );
    assert!(
        out.stdout.iter().any(|l| l.contains("connections closed")),
        "{out:#?}"
    );
}

#[test]
fn a_shutdown_that_uses_all_its_time_still_leaves_the_last_word_its_slice() {
    let out = stopped_by(LAST_WORD, "TERM", &[("FIXTURE_HOOK", "hang")]);
    // The deadline (2 s) was exceeded by the hook...
    assert_eq!(out.code, Some(124), "{out:#?}");
    // ...and the buffer still reached stdout, its last line the summary.
    let last = out.stdout.last().unwrap_or_else(|| panic!("{out:#?}"));
    assert!(
        last.contains("shutdown complete") && last.contains("exit_code=124"),
        "{out:#?}"
    );
    assert!(
        !out.stderr.contains("the at-exit work did not end within"),
        "{}",
        out.stderr
    );
    // Within the deadline still: the slice is kept out of it, not added to it.
    assert!(out.elapsed < Duration::from_millis(2400), "{out:#?}");
}

#[test]
fn a_tracing_appender_guard_handed_over_is_dropped_before_the_exit() {
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("last-word-appender.log");
    let _ = std::fs::remove_file(&file);
    let out = stopped_by(
        LAST_WORD,
        "TERM",
        &[
            ("FIXTURE_LOG", "appender"),
            ("FIXTURE_LOG_FILE", file.to_str().unwrap()),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    let log = std::fs::read_to_string(&file).unwrap();
    // Each write takes 20 ms: without the guard's drop, the queue behind the writer is
    // lost at the exit, the summary last.
    let last = log.lines().last().unwrap_or_else(|| panic!("empty log"));
    assert!(last.contains("shutdown complete"), "{log}");
    assert!(log.contains("connections closed"), "{log}");
}

#[test]
fn at_exit_work_that_never_returns_is_left_behind_at_the_deadline() {
    let out = stopped_by(LAST_WORD, "TERM", &[("FIXTURE_AT_EXIT", "hang")]);
    // The exit the shutdown decided, not the watchdog's 124.
    assert_eq!(out.code, Some(0), "{out:#?}");
    // It waited until the deadline (2 s from the signal; no `always` hooks), and not into
    // the watchdog's slack past it: the orchestrator's kill may come at the deadline.
    let waited = out
        .stderr
        .split("graceful: the at-exit work did not end within ")
        .nth(1)
        .and_then(|rest| rest.split("ms;").next())
        .and_then(|ms| ms.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no lateness line: {}", out.stderr));
    assert!(
        waited <= 2000.0 + 20.0,
        "waited {waited} ms past the deadline"
    );
    assert!(out.elapsed >= Duration::from_secs(2), "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(8), "{out:#?}");
}

#[test]
fn a_second_signal_during_the_at_exit_work_cuts_it_short_and_keeps_the_reports_code() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("last-word-forced.json");
    let _ = std::fs::remove_file(&path);
    let mut svc = support::start(
        LAST_WORD,
        &[
            ("FIXTURE_AT_EXIT", "hang"),
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
        ],
    );
    svc.wait_for("ready");
    svc.signal("TERM");
    svc.wait_for("at-exit work started");
    let second = std::time::Instant::now();
    svc.signal("INT");
    let out = svc.exited();
    // The report said clean, and was written: the exit agrees with it.
    assert_eq!(out.code, Some(0), "{out:#?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report["exit_code"], 0);
    out.assert_stderr("graceful: SIGINT received after the shutdown was reported");
    assert!(!out.stderr.contains("thread is blocked"), "{}", out.stderr);
    // Cut short: half a second, not the second and more the deadline still left.
    assert!(second.elapsed() < Duration::from_millis(1500), "{out:#?}");
}

#[test]
fn at_exit_work_that_panics_is_said_and_the_rest_still_runs() {
    let out = stopped_by(LAST_WORD, "TERM", &[("FIXTURE_AT_EXIT", "panic")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("graceful: an at-exit function panicked: the exporter is gone");
    // Handed over first, run last: the buffer still reached stdout.
    assert!(
        out.stdout.iter().any(|l| l.contains("shutdown complete")),
        "{out:#?}"
    );
}
