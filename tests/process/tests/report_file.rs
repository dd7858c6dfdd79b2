//! `GRACEFUL_REPORT=path`: the report as JSON, written by a real process at its exit.

use graceful_process_tests as support;

use std::path::PathBuf;

use serde_json::{json, Value};
use support::{scripted, start, start_with_stderr_closed, stopped_by, Step};

const SERVICE: &str = env!("CARGO_BIN_EXE_fixture-service");
const CURRENT_THREAD: &str = env!("CARGO_BIN_EXE_fixture-current-thread");

/// An empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn a_clean_stop_writes_every_step_and_the_exit_code() {
    let dir = scratch("clean");
    let path = dir.join("shutdown.json");
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("GRACEFUL_REPORT", path.to_str().unwrap())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["version"], 1);
    assert_eq!(v["trigger"], json!({"kind": "signal", "signal": "SIGTERM"}));
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["deadline_ms"], 2000);
    assert_eq!(v["drain_delay_ms"], 300);
    let hooks = v["hooks"].as_array().unwrap();
    let steps: Vec<(&str, i64)> = hooks
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["order"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("graceful::tasks", 0),
            ("fixture_service::stop_intake", 10),
            ("broker", 20),
            ("fixture_service::flush_sync", 20),
            ("fixture_service::slow", 30),
            ("fixture_service::stuck", 35),
            ("fixture_service::remove_scratch", 40),
        ]
    );
    assert!(hooks.iter().all(|h| h["outcome"] == "completed"), "{v:#}");
    // Written beside, then renamed: nothing else is left in the directory.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn a_failed_hook_is_in_the_report_with_its_message_and_the_exit_code() {
    let dir = scratch("failed");
    let path = dir.join("shutdown.json");
    std::fs::write(&path, "the report of an earlier run, to be replaced").unwrap();
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("FIXTURE_HOOK", "fail"),
        ],
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["exit"], "failed");
    let broker = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "broker")
        .unwrap();
    assert_eq!(broker["outcome"], "failed");
    assert_eq!(broker["message"], "broker refused to close the session");
}

#[test]
fn the_deadline_is_in_the_report() {
    let dir = scratch("deadline");
    let path = dir.join("shutdown.json");
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("FIXTURE_HOOK", "hang"),
        ],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["exit_code"], 124);
    assert_eq!(v["exit"], "deadline_exceeded");
    let outcome = |name: &str| {
        v["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["outcome"].clone())
    };
    assert_eq!(
        outcome("fixture_service::stuck"),
        Some(json!("cut_by_deadline"))
    );
    assert_eq!(
        outcome("fixture_service::remove_scratch"),
        Some(json!("completed"))
    );
}

/// Like Kubernetes' `/dev/termination-log`, a file that cannot be replaced by a rename:
/// here a pipe, the service's own stderr.
#[cfg(target_os = "linux")]
#[test]
fn a_file_that_is_not_a_regular_file_is_written_in_place() {
    let out = stopped_by(SERVICE, "TERM", &[("GRACEFUL_REPORT", "/dev/stderr")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("{\"version\":1,"))
        .unwrap_or_else(|| panic!("no report on stderr: {}", out.stderr));
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn a_path_that_cannot_be_written_is_logged_and_the_exit_code_stands() {
    let dir = scratch("unwritable");
    let path = dir.join("no-such-directory").join("shutdown.json");
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("GRACEFUL_REPORT", path.to_str().unwrap())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Said at startup, so the operator need not wait for a shutdown...
    let early = format!(
        "graceful: warning: GRACEFUL_REPORT={:?} cannot take the shutdown report: its directory {}: ",
        path.display().to_string(),
        dir.join("no-such-directory").display()
    );
    out.assert_stderr(&early);
    assert!(
        out.stderr.find(&early) < out.stderr.find("shutting down"),
        "{}",
        out.stderr
    );
    // ...and at the end, with the error itself.
    out.assert_stderr(&format!(
        "graceful: cannot write the shutdown report to {}: ",
        path.display()
    ));
    let out = start(
        SERVICE,
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("FIXTURE_BODY", "err"),
        ],
    )
    .exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr("cannot write the shutdown report");
}

/// A write that blocks (here a pipe nobody reads; elsewhere a hung network mount) is
/// given up: it neither holds the exit until the watchdog nor turns the code into 124.
#[cfg(unix)]
#[test]
fn a_report_file_that_blocks_is_given_up_and_the_exit_code_stands() {
    let dir = scratch("blocking");
    let path = dir.join("report.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("GRACEFUL_REPORT", path.to_str().unwrap())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr(&format!(
        "graceful: cannot write the shutdown report to {}: ",
        path.display()
    ));
    assert!(
        !out.stderr.contains("exiting with code 124"),
        "{}",
        out.stderr
    );
}

/// With stderr gone, a second signal still forces the exit, and the report file, the
/// only record left, says so.
#[test]
fn a_closed_stderr_does_not_swallow_the_second_signal_nor_the_report() {
    let dir = scratch("closed-stderr-forced");
    let path = dir.join("shutdown.json");
    let mut svc = start_with_stderr_closed(
        SERVICE,
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("GRACEFUL_DEADLINE", "30s"),
            ("FIXTURE_HOOK", "hang"),
        ],
    );
    svc.wait_for("ready");
    svc.signal("TERM");
    svc.wait_for("hook stuck hanging");
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(143), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["exit"], "forced");
    assert_eq!(v["forced_by"], "SIGTERM");
}

/// A logger that panics on the summary (its output gone) loses the log line, not the
/// report file.
#[test]
fn a_logger_that_panics_on_the_summary_does_not_lose_the_report() {
    let dir = scratch("panicking-logger");
    let path = dir.join("shutdown.json");
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("FIXTURE_TRACING", "panic"),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["trigger"], json!({"kind": "signal", "signal": "SIGTERM"}));
}

/// The sequence has a thread of its own: a hook that blocks the only thread of a
/// current-thread runtime does not keep a second signal from the report file.
#[test]
fn a_second_signal_writes_the_report_even_when_a_hook_blocks_the_only_runtime_thread() {
    let dir = scratch("forced-runtime-blocked");
    let path = dir.join("shutdown.json");
    let out = scripted(
        CURRENT_THREAD,
        &[
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
            ("FIXTURE_BLOCK", "1"),
        ],
        &[
            Step::Signal("HUP"),
            Step::Line("hook blocking the runtime thread"),
            Step::Signal("TERM"),
        ],
    );
    assert_eq!(out.code, Some(143), "{out:#?}");
    let v = read_json(&path);
    assert_eq!(v["exit"], "forced");
    assert_eq!(v["forced_by"], "SIGTERM");
    let blocked = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "fixture_current_thread::block_the_runtime")
        .unwrap_or_else(|| panic!("no blocking hook in {v}"));
    assert_eq!(blocked["outcome"], "interrupted");
}
