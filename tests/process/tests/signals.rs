//! Real signals sent to a real service: the sequence, the exit codes, the report.

use graceful_process_tests as support;

use std::time::Duration;

use support::{scripted, start, start_with_stderr_closed, stopped_by, Service, Step};

const SERVICE: &str = env!("CARGO_BIN_EXE_fixture-service");

#[test]
fn sigterm_runs_the_hooks_in_order_then_exits_0() {
    let out = stopped_by(SERVICE, "TERM", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let intake = out.line("hook stop_intake trigger=SIGTERM");
    let broker = out.line("hook broker unplugging from embedded (true left)");
    let flush = out.line("hook flush_sync blocking=true broker=embedded");
    let slow = out.line("hook slow done");
    let scratch = out.line("hook remove_scratch always");
    assert!(intake < broker && intake < flush, "{out:#?}");
    assert!(broker < slow && flush < slow && slow < scratch, "{out:#?}");
    assert!(out.has_line("body done"), "{out:#?}");
    // No subscriber installed: the summary is on stderr, readable.
    out.assert_stderr("graceful: SIGTERM: shutting down (deadline 2s, draining for 300ms first)");
    out.assert_stderr("graceful: [order 20] broker: ok");
    out.assert_stderr("steps: 7 ok, 0 failed, 0 timed out, 0 skipped; exit code 0 (clean)");
}

#[test]
fn a_closed_stderr_neither_stops_the_hooks_nor_keeps_the_process_alive() {
    // `service 2>&1 | head -1`: once `head` exits, every line the shutdown logs fails.
    let mut svc = start_with_stderr_closed(SERVICE, &[]);
    svc.wait_for("ready");
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    let intake = out.line("hook stop_intake trigger=SIGTERM");
    let scratch = out.line("hook remove_scratch always");
    assert!(intake < scratch, "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(6), "{out:#?}");
}

#[test]
fn a_logger_that_panics_on_the_summary_does_not_keep_the_process_alive() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_TRACING", "panic")]);
    // The exit the report asked for, not the watchdog's 124 seconds later.
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.line("hook remove_scratch always");
    out.assert_stderr("the log's output is gone");
}

#[test]
fn a_logger_that_panics_from_the_signal_on_loses_its_lines_not_the_teardown() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_TRACING", "gone")]);
    // Every hook ran and the exit is the clean one: not 101 for a failed sequence.
    assert_eq!(out.code, Some(0), "{out:#?}");
    let intake = out.line("hook stop_intake trigger=SIGTERM");
    let broker = out.line("hook broker unplugging from embedded");
    let slow = out.line("hook slow done");
    let scratch = out.line("hook remove_scratch always");
    assert!(
        intake < broker && broker < slow && slow < scratch,
        "{out:#?}"
    );
    assert!(out.has_line("body done"), "{out:#?}");
    out.assert_stderr("the log's output is gone");
    assert!(!out.stderr.contains("sequence failed"), "{}", out.stderr);
}

#[test]
fn sigint_is_a_clean_stop_too_after_the_drain_delay() {
    let out = stopped_by(SERVICE, "INT", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.line("hook stop_intake trigger=SIGINT");
    let drain: u64 = out.stdout[out.line("drain delay observed ")]
        .trim_start_matches("drain delay observed ")
        .trim_end_matches("ms")
        .parse()
        .unwrap();
    // The watcher polls every 5 ms: a loaded machine sees the flag late, never early.
    assert!(
        (200..2000).contains(&drain),
        "drain delay of 300ms observed as {drain}ms"
    );
    assert!(out.elapsed >= Duration::from_millis(300), "{out:#?}");
}

#[test]
fn a_second_sigterm_exits_143_at_once() {
    let out = signals_during_the_slow_hook("TERM", "TERM", &[]);
    assert_eq!(out.code, Some(143), "{out:#?}");
    assert!(!out.has_line("hook slow done"), "{out:#?}");
    out.assert_stderr(
        "SIGTERM received again: exiting at once; still running: fixture_service::slow; not started: fixture_service::stuck, fixture_service::remove_scratch",
    );
}

/// The summary's tracing event, printed on stdout by the fixture's subscriber: the one
/// event with the exit code.
fn summary_event(out: &support::Exited) -> &str {
    out.stdout
        .iter()
        .find(|l| l.contains(" exit_code="))
        .unwrap_or_else(|| panic!("{out:#?}"))
}

/// `first` starts the shutdown, `second` comes while the slow hook runs; `envs` beside
/// the slow hook's.
fn signals_during_the_slow_hook(
    first: &str,
    second: &str,
    envs: &[(&str, &str)],
) -> support::Exited {
    let mut all = vec![("FIXTURE_HOOK", "slow")];
    all.extend_from_slice(envs);
    scripted(
        SERVICE,
        &all,
        &[
            Step::Signal(first),
            Step::Line("hook slow started"),
            Step::Signal(second),
        ],
    )
}

/// A second `SIGTERM` while the slow hook runs, with the subscriber `FIXTURE_TRACING`
/// names.
fn forced_during_the_slow_hook(tracing: &str) -> support::Exited {
    signals_during_the_slow_hook("TERM", "TERM", &[("FIXTURE_TRACING", tracing)])
}

#[test]
fn with_a_subscriber_the_summary_of_a_forced_exit_counts_the_steps_not_started() {
    let out = forced_during_the_slow_hook("1");
    assert_eq!(out.code, Some(143), "{out:#?}");
    let summary = summary_event(&out);
    // `slow` was running; `stuck` and `remove_scratch` never started.
    assert!(
        summary.contains("interrupted=1") && summary.contains("not_started=2"),
        "{summary}"
    );
    // It did not complete, and does not say it did.
    assert!(
        summary.contains("shutdown interrupted") && !summary.contains("shutdown complete"),
        "{summary}"
    );
}

#[test]
fn a_forced_exit_does_not_say_shutdown_complete() {
    let out = signals_during_the_slow_hook("TERM", "TERM", &[]);
    assert_eq!(out.code, Some(143), "{out:#?}");
    out.assert_stderr("graceful: shutdown interrupted after ");
    assert!(!out.stderr.contains("shutdown complete"), "{}", out.stderr);
}

#[test]
fn sigint_then_sigterm_says_which_came_after_which() {
    let out = signals_during_the_slow_hook("INT", "TERM", &[]);
    // The second signal decides the code: 128 + 15.
    assert_eq!(out.code, Some(143), "{out:#?}");
    out.assert_stderr("graceful: SIGTERM received after SIGINT: exiting at once; still running: ");
    assert!(!out.stderr.contains("received again"), "{}", out.stderr);
}

#[test]
fn a_second_sigint_exits_130() {
    let out = signals_during_the_slow_hook("INT", "INT", &[]);
    assert_eq!(out.code, Some(130), "{out:#?}");
}

#[test]
fn the_deadline_ends_a_hook_and_a_blocking_thread_that_never_return_with_124() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_HOOK", "hang")]);
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.line("hook stuck hanging");
    // `always` hooks still run after the deadline.
    out.line("hook remove_scratch always");
    // The deadline is 2 s; the `always` hook is quick. Generous bounds for slow machines.
    assert!(out.elapsed >= Duration::from_secs(2), "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(6), "{out:#?}");
    out.assert_stderr("cut by the deadline");
    out.assert_stderr("exit code 124 (deadline exceeded)");
}

#[test]
fn a_failing_hook_fails_alone_and_exits_1() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_HOOK", "fail")]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr("[order 20] broker: failed: broker refused to close the session");
    out.line("hook slow done");
    out.line("hook remove_scratch always");
}

#[test]
fn a_panicking_hook_is_reported_with_its_message_and_later_hooks_run() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_HOOK", "panic")]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr("slow: panicked: slow hook exploded");
    out.line("hook remove_scratch always");
}

#[test]
fn a_missing_state_names_the_type_and_the_hook() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_NO_STATE", "1")]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.contains("broker: failed: no `graceful::State<")
            && out
                .stderr
                .contains("Broker>`: nothing of that type was given to `graceful::provide`"),
        "{}",
        out.stderr
    );
    out.line("hook stop_intake");
    out.line("hook remove_scratch always");
}

#[test]
fn main_returning_runs_the_hooks_and_exits_0() {
    let out = start(SERVICE, &[("FIXTURE_BODY", "ok")]).exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.line("hook stop_intake trigger=main returned");
    out.line("hook remove_scratch always");
}

#[test]
fn main_returning_an_error_prints_it_runs_the_hooks_and_exits_1() {
    let out = start(SERVICE, &[("FIXTURE_BODY", "err")]).exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr("Error: body failed");
    out.line("hook stop_intake trigger=main returned an error");
    out.line("hook remove_scratch always");
}

#[test]
fn main_panicking_runs_the_hooks_and_exits_101() {
    let out = start(SERVICE, &[("FIXTURE_BODY", "panic")]).exited();
    assert_eq!(out.code, Some(101), "{out:#?}");
    out.assert_stderr("body exploded");
    out.line("hook stop_intake trigger=main panicked");
    out.line("hook remove_scratch always");
}

#[test]
fn with_a_subscriber_each_hook_and_the_summary_are_tracing_events() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_TRACING", "1")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let broker = out
        .stdout
        .iter()
        .find(|l| l.contains("teardown step finished") && l.contains("hook=\"broker\""))
        .unwrap_or_else(|| panic!("{out:#?}"));
    assert!(
        broker.contains("order=20")
            && broker.contains("duration_ms=")
            && broker.contains("outcome=ok"),
        "{broker}"
    );
    let summary = summary_event(&out);
    assert!(
        summary.contains("trigger=SIGTERM")
            && summary.contains("exit_code=0")
            && summary.contains("completed=7"),
        "{summary}"
    );
    // The subscriber has it: nothing is printed twice on stderr.
    assert!(!out.stderr.contains("graceful: "), "{}", out.stderr);
}

#[test]
fn a_hook_past_its_own_timeout_is_stopped_and_the_next_ones_run() {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_HOOK", "slow")]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.line("hook slow started");
    assert!(!out.has_line("hook slow done"), "{out:#?}");
    out.assert_stderr("[order 30] fixture_service::slow: timed out (10");
    out.line("hook remove_scratch always");
}

#[test]
fn a_body_that_blocks_its_thread_does_not_hold_the_shutdown() {
    let out = scripted(
        SERVICE,
        &[("FIXTURE_BODY", "block")],
        &[Step::Signal("TERM"), Step::Line("body blocking its thread")],
    );
    // The drain step waits for the body until the deadline (2 s), the hooks after it are
    // skipped, the `always` one runs, and the sequence reports and exits.
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr("[order 0] graceful::tasks: cut by the deadline");
    out.assert_stderr("fixture_service::slow: skipped");
    out.line("hook remove_scratch always");
    out.assert_stderr("exit code 124 (deadline exceeded)");
    assert!(out.elapsed < Duration::from_secs(6), "{out:#?}");
}

#[test]
fn a_second_signal_exits_even_while_the_body_blocks_its_thread() {
    let out = scripted(
        SERVICE,
        &[("FIXTURE_BODY", "block")],
        &[
            Step::Signal("TERM"),
            Step::Line("body blocking its thread"),
            Step::Signal("TERM"),
        ],
    );
    assert_eq!(out.code, Some(143), "{out:#?}");
}

#[test]
fn a_slow_logger_does_not_pass_for_a_blocked_runtime_on_the_second_signal() {
    let out = forced_during_the_slow_hook("slow");
    assert_eq!(out.code, Some(143), "{out:#?}");
    // The sequence took the second signal up: its own report is complete...
    assert!(
        out.stdout
            .iter()
            .any(|l| l.contains("second signal: exiting at once")),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .iter()
            .any(|l| l.contains("shutdown interrupted")),
        "{out:#?}"
    );
    // ...and the signal thread did not cut it short.
    assert!(!out.stderr.contains("did not answer"), "{}", out.stderr);
}

/// Starts the service with a stderr nobody reads and a thread that fills it: every write
/// to stderr blocks from then on.
fn start_with_stderr_full(envs: &[(&str, &str)]) -> Service {
    let mut all = vec![("FIXTURE_STDERR", "flood")];
    all.extend_from_slice(envs);
    support::start_with_stderr_unread(SERVICE, &all)
}

#[test]
fn a_stderr_that_blocks_does_not_keep_the_watchdog_from_ending_the_process() {
    let mut svc = start_with_stderr_full(&[]);
    svc.wait_for("ready");
    svc.signal("TERM");
    // The deadline (2 s), the `always` hook's second and the watchdog's slack: 3.5 s. The
    // bound is generous for a loaded machine; without the watchdog the process never ends.
    assert_eq!(svc.exit_within(Duration::from_secs(15)), Some(124));
}

#[test]
fn a_stderr_that_blocks_does_not_swallow_the_second_signal() {
    let mut svc = start_with_stderr_full(&[("GRACEFUL_DEADLINE", "60s")]);
    svc.wait_for("ready");
    svc.signal("TERM");
    // Apart, so that the two are not merged into one pending signal.
    std::thread::sleep(Duration::from_millis(500));
    svc.signal("TERM");
    assert_eq!(svc.exit_within(Duration::from_secs(15)), Some(143));
}

/// Every line of a shutdown's readable report, on stderr, for a run cut by the deadline.
fn lines_of_a_deadline_cut() -> Vec<String> {
    let out = stopped_by(SERVICE, "TERM", &[("FIXTURE_HOOK", "hang")]);
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.stderr.lines().map(str::to_owned).collect()
}

/// The durations written in `line`: each run of digits (with a point) followed by a unit.
fn durations(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
            j += 1;
        }
        let unit: String = line[j..]
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect();
        if ["ns", "µs", "us", "ms", "s", "m", "h"].contains(&unit.as_str()) {
            found.push(format!("{}{unit}", &line[i..j]));
        }
        i = j + unit.len().max(1);
    }
    found
}

#[test]
fn each_line_writes_its_durations_in_one_format() {
    let mut steps = 0;
    for line in lines_of_a_deadline_cut() {
        if !line.starts_with("graceful: [order") {
            continue;
        }
        steps += 1;
        // `[order 35] fixture_service::stuck: cut by the deadline (1699.8ms)`: one
        // duration, with one decimal; the line once read `cut by the deadline after
        // 1.699812345s (1699.8ms)`.
        let found = durations(&line);
        assert!(found.len() <= 1, "{line}: {found:?}");
        for d in found {
            let decimals = d
                .split('.')
                .nth(1)
                .map_or(0, |f| f.trim_end_matches(char::is_alphabetic).len());
            assert!(decimals <= 2, "{line}: {d}");
        }
    }
    assert!(steps > 0, "no step line was checked");
}

#[test]
fn tracing_fields_carry_no_float_noise() {
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("FIXTURE_TRACING", "1"), ("FIXTURE_HOOK", "hang")],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    let mut seen = 0;
    for line in &out.stdout {
        for field in ["duration_ms=", "total_ms="] {
            let Some(at) = line.find(field) else { continue };
            let value: String = line[at + field.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let decimals = value.split('.').nth(1).map_or(0, str::len);
            // Milliseconds to the microsecond: `0.009766`, never `0.009765999999999999`.
            assert!(decimals <= 3, "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            seen += 1;
        }
    }
    assert!(seen >= 8, "{out:#?}");
}

#[test]
fn a_panicking_tracked_task_is_logged_at_once_and_stops_the_program_with_101() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("task-panic-report.json");
    let _ = std::fs::remove_file(&path);
    let mut svc = support::start(
        SERVICE,
        &[
            ("FIXTURE_TASK", "panic"),
            ("GRACEFUL_REPORT", path.to_str().unwrap()),
        ],
    );
    svc.wait_for("ready");
    // No signal: the panic starts the shutdown.
    let out = svc.exited();
    assert_eq!(out.code, Some(101), "{out:#?}");
    let said = out
        .stderr
        .find("graceful: a tracked task panicked (doomed): the queue went away; the program stops")
        .unwrap_or_else(|| panic!("{}", out.stderr));
    let started = out
        .stderr
        .find("a tracked task panicked (doomed): shutting down")
        .unwrap();
    assert!(said < started, "{}", out.stderr);
    out.assert_stderr("tasks that panicked: doomed");
    out.assert_stderr("exit code 101 (panicked)");
    // Every hook still ran.
    out.line("hook remove_scratch always");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        report["trigger"],
        serde_json::json!({"kind": "task_panicked", "task": "doomed"})
    );
    assert_eq!(
        report["tasks_panicked"],
        serde_json::json!([{"name": "doomed", "message": "the queue went away"}])
    );
    assert_eq!(report["exit"], "panicked");
}

#[test]
fn one_signal_sent_to_the_process_and_its_group_is_not_a_second_signal() {
    // GNU `timeout`, and `kill 0` in a script, send SIGTERM to the service and then to its
    // process group: it arrives twice, milliseconds apart. That is one request to stop.
    let mut svc = start(SERVICE, &[]);
    svc.wait_for("ready");
    svc.signal("TERM");
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!out.stderr.contains("received again"), "{}", out.stderr);
    out.line("hook remove_scratch always");
}
