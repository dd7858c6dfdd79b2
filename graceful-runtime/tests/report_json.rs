//! The report as JSON (`Report::to_json`, what `GRACEFUL_REPORT` writes), read back with
//! a real JSON parser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graceful::testing::{hook, Harness};
use graceful::Signal;
use serde_json::{json, Value};
use tokio::time::sleep;

fn parse(report: &graceful::Report) -> Value {
    let text = report.to_json();
    assert!(!text.contains('\n'), "one line: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Panics with `message`; a `()` function, so the hook's type is clear.
fn fail(message: &str) {
    panic!("{message}")
}

#[tokio::test(start_paused = true)]
async fn every_step_its_outcome_and_the_exit_are_in_the_json() {
    let running =
        Harness::new()
            .without_registered_hooks()
            .deadline(Duration::from_secs(10))
            .drain_delay(Duration::from_secs(1))
            .hook(hook("stop intake", 10).run(|_| async {
                sleep(Duration::from_millis(250)).await;
            }))
            .hook(hook("broker", 20).run(|_| async {
                Err::<(), _>("refused: \"session\" busy\n\tretry later \\ 🦀")
            }))
            .hook(hook("flaky", 20).run(|_| async { fail("boom") }))
            .hook(
                hook("slow", 30)
                    .timeout(Duration::from_secs(2))
                    .run(|_| async { sleep(Duration::from_secs(60)).await }),
            )
            .hook(hook("scratch", 40).always().run_blocking(|_| ()))
            .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let v = parse(&report);

    assert_eq!(v["version"], 1);
    assert_eq!(v["trigger"], json!({"kind": "signal", "signal": "SIGTERM"}));
    assert_eq!(v["deadline_ms"], 10_000);
    assert_eq!(v["drain_delay_ms"], 1_000);
    assert_eq!(v["duration_ms"], 3_250);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["exit"], "failed");
    assert_eq!(v["forced_by"], Value::Null);
    assert_eq!(v["main_error"], Value::Null);
    assert_eq!(v["main_still_running"], false);
    assert_eq!(v["tasks_still_running"], json!([]));
    assert_eq!(
        v["counts"],
        json!({"completed": 3, "failed": 1, "panicked": 1, "timed_out": 1, "cut_by_deadline": 0,
               "skipped": 0, "interrupted": 0, "not_started": 0})
    );
    let hooks = v["hooks"].as_array().unwrap();
    let names: Vec<&str> = hooks.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            graceful::TASKS_STEP,
            "stop intake",
            "broker",
            "flaky",
            "slow",
            "scratch"
        ]
    );
    assert_eq!(
        hooks[1],
        json!({"name": "stop intake", "order": 10, "always": false, "started_after_ms": 1000,
               "duration_ms": 250, "outcome": "completed", "message": null})
    );
    // The message survives quotes, control characters, backslashes and non-ASCII.
    assert_eq!(hooks[2]["outcome"], "failed");
    assert_eq!(
        hooks[2]["message"],
        "refused: \"session\" busy\n\tretry later \\ 🦀"
    );
    assert_eq!(hooks[3]["outcome"], "panicked");
    assert_eq!(hooks[3]["message"], "boom");
    assert_eq!(hooks[4]["outcome"], "timed_out");
    assert_eq!(hooks[4]["duration_ms"], 2_000);
    assert_eq!(hooks[5]["always"], true);
    assert_eq!(hooks[5]["order"], 40);
    assert_counts_add_up(&v);
}

#[tokio::test(start_paused = true)]
async fn timestamps_are_rfc3339_utc_and_agree_with_the_duration() {
    let before = SystemTime::now();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(hook("work", 10).run(|_| async {
            sleep(Duration::from_millis(1500)).await;
        }))
        .run(async {})
        .await;
    let v = parse(&report);
    assert_eq!(v["trigger"], json!({"kind": "main_returned"}));
    assert_eq!(v["drain_delay_ms"], 0);
    let started = v["started_at"].as_str().unwrap();
    let ended = v["ended_at"].as_str().unwrap();
    for stamp in [started, ended] {
        // 2026-11-25T09:41:07.120Z
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
    }
    assert_eq!(
        report
            .ended_at()
            .duration_since(report.started_at())
            .unwrap(),
        Duration::from_millis(1500)
    );
    // The wall clock of the run itself (the paused clock only moves tokio's time).
    let ended_secs = report
        .ended_at()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let before_secs = before.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(ended_secs >= before_secs && ended_secs < before_secs + 600);
}

#[tokio::test(start_paused = true)]
async fn a_forced_exit_names_the_signal_and_what_was_still_running() {
    let running = Harness::new()
        .without_registered_hooks()
        .hook(hook("unplug", 10).run(|_| async {}))
        .start(async {
            graceful::spawn_named("worker \"7\"", std::future::pending::<()>());
            graceful::shutdown_requested().await;
        });
    running.signal(Signal::Terminate);
    sleep(Duration::from_millis(100)).await;
    running.signal(Signal::Interrupt);
    let v = parse(&running.report().await);
    assert_eq!(v["exit_code"], 130);
    assert_eq!(v["exit"], "forced");
    assert_eq!(v["forced_by"], "SIGINT");
    assert_eq!(v["tasks_still_running"], json!(["worker \"7\""]));
    assert_eq!(v["tasks_still_running_count"], 1);
    // The drain of the tasks was waiting for the worker when the second signal came, and
    // the hook after it never started.
    assert_eq!(
        v["hooks"],
        json!([{"name": graceful::TASKS_STEP, "order": 0, "always": false, "started_after_ms": 0,
                "duration_ms": 100, "outcome": "interrupted", "message": null},
               {"name": "unplug", "order": 10, "always": false, "started_after_ms": null,
                "duration_ms": 0, "outcome": "not_started", "message": null}])
    );
    assert_counts_add_up(&v);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_and_a_main_error_are_in_the_json() {
    let report = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(2))
        .hook(hook("hangs", 10).run(|_| std::future::pending::<()>()))
        .hook(hook("after", 20).run(|_| async {}))
        .run(async { Err::<(), _>("config file \"app.toml\" missing") })
        .await;
    let v = parse(&report);
    assert_eq!(v["trigger"], json!({"kind": "main_failed"}));
    assert_eq!(v["exit_code"], 124);
    assert_eq!(v["exit"], "deadline_exceeded");
    assert_eq!(v["main_error"], "config file \"app.toml\" missing");
    let outcomes: Vec<&str> = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["completed", "cut_by_deadline", "skipped"]);
    assert_counts_add_up(&v);
}

/// Every count is the number of steps with that outcome, under the outcome's own name,
/// and the counts add up to the number of steps.
#[track_caller]
fn assert_counts_add_up(v: &Value) {
    let hooks = v["hooks"].as_array().unwrap();
    let counts = v["counts"].as_object().unwrap();
    let mut sum = 0;
    for (outcome, count) in counts {
        let steps = hooks.iter().filter(|h| h["outcome"] == *outcome).count();
        assert_eq!(count.as_u64(), Some(steps as u64), "{outcome} in {v}");
        sum += steps;
    }
    assert_eq!(sum, hooks.len(), "an outcome without its count: {v}");
}

#[tokio::test(start_paused = true)]
async fn steps_cut_by_the_deadline_are_not_counted_as_timed_out() {
    // Two steps cut by the deadline and one by its own timeout: a stalled run once read
    // `timed_out: 3`.
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(10))
        .hook(hook("ok", 5).run(|_| async {}))
        .hook(hook("refuses", 5).run(|_| async { Err::<(), _>("no") }))
        .hook(hook("explodes", 5).run(|_| async { fail("boom") }))
        .hook(
            hook("own timeout", 10)
                .timeout(Duration::from_secs(1))
                .run(|_| std::future::pending::<()>()),
        )
        .hook(hook("stalled", 20).run(|_| std::future::pending::<()>()))
        .hook(hook("stalled too", 20).run(|_| std::future::pending::<()>()))
        .hook(hook("passed by", 30).run(|_| async {}))
        .hook(hook("flush", 40).always().run(|_| async {}))
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let v = parse(&report);
    assert_eq!(
        v["counts"],
        json!({"completed": 3, "failed": 1, "panicked": 1, "timed_out": 1, "cut_by_deadline": 2,
               "skipped": 1, "interrupted": 0, "not_started": 0})
    );
    assert_counts_add_up(&v);
    let counts = report.counts();
    assert_eq!(counts.total(), report.hooks().len());
    assert_eq!((counts.timed_out, counts.cut_by_deadline), (1, 2));
    assert_eq!(v["exit"], "deadline_exceeded");
    // The step passed by never started.
    let passed_by = &v["hooks"].as_array().unwrap()[7];
    assert_eq!(passed_by["name"], "passed by");
    assert_eq!(passed_by["started_after_ms"], Value::Null);
    assert_eq!(passed_by["duration_ms"], 0);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_tracked_task_is_in_the_json() {
    let report = Harness::new()
        .without_registered_hooks()
        .run(async {
            graceful::spawn_named("worker-3", async { fail("queue \"jobs\" is gone") });
            graceful::shutdown_requested().await;
        })
        .await;
    let v = parse(&report);
    assert_eq!(
        v["trigger"],
        json!({"kind": "task_panicked", "task": "worker-3"})
    );
    assert_eq!(
        v["tasks_panicked"],
        json!([{"name": "worker-3", "message": "queue \"jobs\" is gone"}])
    );
    assert_eq!(v["exit_code"], 101);
    assert_eq!(v["exit"], "panicked");
    assert_counts_add_up(&v);
}
