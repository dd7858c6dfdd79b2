//! A tracked task that panics: named in the log and the report, and, unless the program
//! says it goes on, the start of the shutdown.

use std::time::Duration;

use graceful::testing::Harness;
use graceful::{Exit, Signal, TaskPanic, Trigger};
use tokio::time::sleep;

/// Panics with `message`; a `()` function, so the task's type is clear.
fn fail(message: &str) {
    panic!("{message}")
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_stops_the_program_after_the_drain_delay_with_101() {
    let running = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(2))
        .start(async {
            let crashed = graceful::spawn_named("worker-3", async {
                sleep(Duration::from_secs(1)).await;
                fail("index out of bounds")
            });
            let steady = graceful::spawn_named("worker-4", async {
                while graceful::until_shutdown(sleep(Duration::from_millis(10)))
                    .await
                    .is_some()
                {}
            });
            // The task's own handle still tells of the panic, as tokio's does.
            let joined = crashed.await.unwrap_err();
            assert!(joined.is_panic());
            assert!(graceful::is_shutting_down());
            steady.await.unwrap();
        });
    let report = running.report().await;
    assert_eq!(
        report.trigger(),
        &Trigger::TaskPanicked {
            task: "worker-3".into()
        }
    );
    // Taken out of rotation first, like at a signal: 1 s of work, 2 s of drain.
    assert_eq!(report.drain_delay(), Duration::from_secs(2));
    assert_eq!(report.duration(), Duration::from_secs(2));
    let panicked = report.tasks_panicked();
    assert_eq!(panicked.len(), 1);
    assert_eq!(panicked[0].name(), "worker-3");
    assert_eq!(panicked[0].message(), "index out of bounds");
    assert_eq!(report.exit(), Exit::Panicked);
    assert_eq!(report.exit_code(), 101);
}

#[tokio::test(start_paused = true)]
async fn with_continue_the_program_goes_on_and_exits_as_it_would_have() {
    let running = Harness::new()
        .without_registered_hooks()
        .on_task_panic(TaskPanic::Continue)
        .start(async {
            let crashed = graceful::spawn(async { fail("one bad request") });
            assert!(crashed.await.unwrap_err().is_panic());
            sleep(Duration::from_secs(5)).await;
            assert!(!graceful::is_shutting_down(), "the program went on");
            graceful::shutdown_requested().await;
        });
    sleep(Duration::from_secs(10)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.trigger(), &Trigger::Signal(Signal::Terminate));
    let panicked = report.tasks_panicked();
    assert_eq!(panicked.len(), 1, "still counted");
    // Unnamed: named by where it was spawned.
    assert!(
        panicked[0].name().starts_with("task spawned at ")
            && panicked[0].name().contains("task_panics.rs"),
        "{panicked:?}"
    );
    assert_eq!(report.exit(), Exit::Clean);
}

#[tokio::test(start_paused = true)]
async fn a_panic_during_the_drain_is_counted_and_fails_the_exit() {
    let running = Harness::new().without_registered_hooks().start(async {
        graceful::spawn_named("flusher", async {
            graceful::shutdown_requested().await;
            fail("flush failed")
        });
        graceful::shutdown_requested().await;
    });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    // The signal started it; the panic does not replace the trigger.
    assert_eq!(report.trigger(), &Trigger::Signal(Signal::Terminate));
    assert_eq!(report.tasks_panicked()[0].name(), "flusher");
    assert_eq!(report.exit_code(), 101);
}

#[tokio::test(start_paused = true)]
async fn under_continue_the_panics_kept_are_bounded_and_the_count_is_exact() {
    let running = Harness::new()
        .without_registered_hooks()
        .on_task_panic(TaskPanic::Continue)
        .start(async {
            for i in 0..1000 {
                let name = format!("request-{i}");
                let crashed = graceful::spawn_named(name, async move { fail("bad input") });
                assert!(crashed.await.unwrap_err().is_panic());
            }
            graceful::shutdown_requested().await;
        });
    sleep(Duration::from_secs(1)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.tasks_panicked_count(), 1000);
    let names: Vec<&str> = report.tasks_panicked().iter().map(|t| t.name()).collect();
    let expected: Vec<String> = (0..10)
        .chain(990..1000)
        .map(|i| format!("request-{i}"))
        .collect();
    assert_eq!(names, expected, "the first ten and the last ten, in order");
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["tasks_panicked_count"], 1000);
    assert_eq!(v["tasks_panicked_left_out"], 980);
    assert_eq!(v["tasks_panicked"].as_array().unwrap().len(), 20);
    assert_eq!(report.exit(), Exit::Clean);
}
