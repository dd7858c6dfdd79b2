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
    out.assert_stderr("graceful: the at-exit work did not end within ");
    // Deadline 2 s and the watchdog's slack: it waited, and no longer.
    assert!(out.elapsed >= Duration::from_secs(2), "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(8), "{out:#?}");
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
