//! `flavor`, `signals`, `worker_threads`, `tasks_order` and `crate`, in real processes.

use graceful_process_tests as support;

use support::{scripted, stopped_by, Step};

#[test]
fn current_thread_flavor_and_a_chosen_signal() {
    let out = stopped_by(env!("CARGO_BIN_EXE_fixture-current-thread"), "HUP", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.line("flavor CurrentThread");
    out.line("hook ran");
    out.assert_stderr("graceful: SIGHUP: shutting down");
}

#[test]
fn a_signal_left_out_of_the_list_keeps_its_default_action() {
    // SIGUSR1, not SIGINT: a test run started in the background of a script inherits
    // SIGINT (and SIGQUIT) ignored, and so would the service.
    let out = stopped_by(env!("CARGO_BIN_EXE_fixture-current-thread"), "USR1", &[]);
    // Killed by the signal itself: no exit code, no hook.
    assert_eq!(out.code, None, "{out:#?}");
    assert!(!out.has_line("hook ran"), "{out:#?}");
}

#[test]
fn worker_threads_tasks_order_and_a_renamed_crate_path() {
    let out = stopped_by(env!("CARGO_BIN_EXE_fixture-renamed"), "TERM", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.line("workers 3");
    let before = out.line("hook before_drain");
    let drained = out.line("task drained");
    let after = out.line("hook after_drain");
    assert!(before < drained && drained < after, "{out:#?}");
}

#[cfg(unix)]
#[test]
fn a_signal_the_platform_lacks_stops_the_program_before_its_body_with_code_2() {
    let out = support::start(env!("CARGO_BIN_EXE_fixture-bad-config"), &[]).exited();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stdout.is_empty(),
        "the body and hooks must not run: {out:#?}"
    );
    out.assert_stderr(
        "graceful: configuration error: ctrl_break is not available on this platform",
    );
}

#[test]
fn a_second_signal_is_reported_even_when_a_hook_blocks_the_only_runtime_thread() {
    let out = scripted(
        env!("CARGO_BIN_EXE_fixture-current-thread"),
        &[("FIXTURE_BLOCK", "1")],
        &[
            Step::Signal("HUP"),
            Step::Line("hook blocking the runtime thread"),
            Step::Signal("TERM"),
        ],
    );
    assert_eq!(out.code, Some(143), "{out:#?}");
    // The sequence has a thread of its own: it reports what the signal cut short, and
    // which signal came after which.
    out.assert_stderr(
        "SIGTERM received after SIGHUP: exiting at once; still running: fixture_current_thread::block_the_runtime",
    );
    out.assert_stderr("exit code 143 (forced by a second signal)");
}

#[test]
fn the_deadline_ends_the_process_even_when_a_hook_blocks_the_only_runtime_thread() {
    let out = stopped_by(
        env!("CARGO_BIN_EXE_fixture-current-thread"),
        "HUP",
        &[("FIXTURE_BLOCK", "1")],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr("the shutdown did not end within 3.5s");
    // Deadline 3 s, plus the watchdog's slack; generous for slow machines.
    assert!(out.elapsed >= std::time::Duration::from_secs(3), "{out:#?}");
    assert!(out.elapsed < std::time::Duration::from_secs(8), "{out:#?}");
}

#[test]
fn the_deadline_counts_from_the_signal_even_when_the_runtime_is_blocked_at_that_moment() {
    let out = stopped_by(
        env!("CARGO_BIN_EXE_fixture-current-thread"),
        "HUP",
        &[("FIXTURE_BLOCK", "body")],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    // Deadline 3 s plus the watchdog's slack, counted from the signal.
    assert!(out.elapsed >= std::time::Duration::from_secs(3), "{out:#?}");
    assert!(out.elapsed < std::time::Duration::from_secs(8), "{out:#?}");
}

#[test]
fn steps_named_alike_are_warned_of_at_start_and_every_one_runs() {
    let out = support::start(env!("CARGO_BIN_EXE_fixture-same-names"), &[]).exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("graceful: warning: several teardown steps are named `flush`: the log and the report cannot tell them apart; give each its own `name = \"...\"`");
    out.assert_stderr("several teardown steps are named `graceful::tasks`");
    let cache = out.line("hook flush cache");
    let log = out.line("hook flush log");
    let drain = out.line("hook drain");
    assert!(
        out.line("body ran") < cache && cache < log && log < drain,
        "{out:#?}"
    );
}
