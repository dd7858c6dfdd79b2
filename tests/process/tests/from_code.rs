//! A plain `fn main` configured from code with `graceful::Main`: its values rule, the
//! environment overrides them, and a bad one stops the program before its body runs.

use graceful_process_tests as support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::start_with_args;

const BUILDER: &str = env!("CARGO_BIN_EXE_fixture-builder");

/// Starts the fixture with `args` and `envs`, stops it with `SIGTERM` once ready, and
/// returns how it exited and the JSON report it wrote.
fn stopped(test: &str, args: &[&str], envs: &[(&str, &str)]) -> (support::Exited, Value) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("from-code-{test}.json"));
    let _ = std::fs::remove_file(&path);
    let mut all = vec![("GRACEFUL_REPORT", path.to_str().unwrap())];
    all.extend_from_slice(envs);
    let mut svc = start_with_args(BUILDER, args, &all);
    svc.wait_for("ready");
    svc.signal("TERM");
    let out = svc.exited();
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no report: {e}; {out:#?}"));
    (out, serde_json::from_str(&text).unwrap())
}

#[test]
fn a_plain_main_sets_the_deadline_it_read_from_its_command_line() {
    let (out, report) = stopped("flag", &["--deadline-ms", "1500"], &[]);
    // The hook never returns: the deadline from the command line ends it.
    assert_eq!(out.code, Some(124), "{out:#?}");
    assert_eq!(report["deadline_ms"], 1500);
    out.line("hook never_returns started");
    assert!(
        out.elapsed >= Duration::from_millis(1500) && out.elapsed < Duration::from_secs(6),
        "{out:#?}"
    );
}

#[test]
fn the_environment_overrides_what_the_code_set() {
    let (out, report) = stopped(
        "env",
        &["--deadline-ms", "20000"],
        &[("GRACEFUL_DEADLINE", "700ms")],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    assert_eq!(report["deadline_ms"], 700);
    assert!(out.elapsed < Duration::from_secs(5), "{out:#?}");
}

/// Runs the fixture with `args`, which it must refuse before its body runs: returns its
/// stderr.
fn refused(args: &[&str]) -> String {
    let out = start_with_args(BUILDER, args, &[]).exited();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stdout.is_empty(), "the body ran: {out:#?}");
    out.stderr
}

#[test]
fn a_bad_value_set_from_code_stops_the_program_before_its_body_runs() {
    let stderr = refused(&["--deadline-ms", "0"]);
    assert!(
        stderr.contains(
            "graceful: configuration error: the shutdown deadline (0ns) must be longer than zero"
        ),
        "{stderr}"
    );
}

#[test]
fn worker_threads_on_the_current_thread_runtime_is_refused_before_the_body_runs() {
    let stderr = refused(&["--workers-on-one-thread"]);
    assert!(
        stderr.contains(
            "graceful: configuration error: worker_threads (2) cannot be used with the current-thread runtime"
        ),
        "{stderr}"
    );
}

#[test]
fn run_inside_a_tokio_runtime_is_refused_with_a_message_not_a_panic() {
    let stderr = refused(&["--inside-tokio"]);
    assert!(
        stderr.contains(
            "graceful: configuration error: graceful builds its own tokio runtime and cannot run inside another"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
