//! The order of the shutdown: trigger, drain delay, steps by order, drain of tasks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful::testing::{hook, Harness, TestHook};
use graceful::{Exit, Outcome, Signal, Trigger, TASKS_STEP};
use tokio::time::{sleep, Instant};

type Log = Arc<Mutex<Vec<String>>>;

/// Panics with `message`; a `()` function, so the body's type is clear.
fn fail(message: &str) {
    panic!("{message}")
}

/// A hook that records its start and end in `log` and takes `work` to run.
fn logged(log: &Log, name: &'static str, order: i32, work: Duration) -> TestHook {
    let log = log.clone();
    hook(name, order).run(move |_ctx| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("start {name}"));
            sleep(work).await;
            log.lock().unwrap().push(format!("end {name}"));
        }
    })
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn hooks_run_by_ascending_order_and_equal_orders_concurrently() {
    let log = Log::default();
    let running = Harness::new()
        .without_registered_hooks()
        .hook(logged(&log, "c", 30, Duration::from_millis(10)))
        .hook(logged(&log, "a1", 10, Duration::from_millis(300)))
        .hook(logged(&log, "b", 20, Duration::from_millis(100)))
        .hook(logged(&log, "a2", 10, Duration::from_millis(200)))
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    let report = running.report().await;

    assert_eq!(
        entries(&log),
        ["start a1", "start a2", "end a2", "end a1", "start b", "end b", "start c", "end c"]
    );
    let names: Vec<&str> = report.hooks().iter().map(|h| h.name()).collect();
    assert_eq!(names, [TASKS_STEP, "a1", "a2", "b", "c"]);
    // a1 and a2 started together; b waited for the slower of the two.
    assert_eq!(
        report.hook("a1").unwrap().started_after(),
        Some(Duration::ZERO)
    );
    assert_eq!(
        report.hook("a2").unwrap().started_after(),
        Some(Duration::ZERO)
    );
    assert_eq!(
        report.hook("b").unwrap().started_after(),
        Some(Duration::from_millis(300))
    );
    assert_eq!(
        report.hook("a1").unwrap().duration(),
        Duration::from_millis(300)
    );
    assert_eq!(report.duration(), Duration::from_millis(410));
    assert_eq!(report.exit(), Exit::Clean);
    assert_eq!(report.trigger(), &Trigger::Signal(Signal::Terminate));
}

#[tokio::test(start_paused = true)]
async fn shutting_down_is_true_at_the_signal_and_requested_after_the_drain_delay() {
    let seen = Arc::new(Mutex::new(None));
    let seen_in_body = seen.clone();
    let running = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(5))
        .start(async move {
            let t0 = Instant::now();
            while !graceful::is_shutting_down() {
                sleep(Duration::from_millis(1)).await;
            }
            let flagged = t0.elapsed();
            graceful::shutdown_requested().await;
            *seen_in_body.lock().unwrap() = Some((flagged, t0.elapsed()));
        });
    assert!(!running.is_shutting_down());
    sleep(Duration::from_secs(1)).await;
    running.signal(Signal::Interrupt);
    assert!(running.is_shutting_down());
    assert!(graceful::is_shutting_down());
    let report = running.report().await;

    let (flagged, requested) = seen.lock().unwrap().unwrap();
    assert!(flagged <= Duration::from_millis(1001), "{flagged:?}");
    assert_eq!(requested - Duration::from_secs(1), Duration::from_secs(5));
    assert_eq!(report.exit(), Exit::Clean);
    assert_eq!(report.duration(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn hooks_run_when_the_body_returns_with_no_drain_delay() {
    let log = Log::default();
    let report = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(5))
        .hook(logged(&log, "cleanup", 10, Duration::from_millis(5)))
        .run(async {})
        .await;
    assert_eq!(entries(&log), ["start cleanup", "end cleanup"]);
    assert_eq!(report.trigger(), &Trigger::BodyReturned);
    assert_eq!(report.duration(), Duration::from_millis(5));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_error_runs_the_hooks_and_exits_1() {
    let log = Log::default();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(logged(&log, "cleanup", 10, Duration::ZERO))
        .run(async { Err::<(), _>("database unreachable") })
        .await;
    assert_eq!(entries(&log).len(), 2);
    assert_eq!(report.trigger(), &Trigger::BodyFailed);
    assert_eq!(report.main_error(), Some("database unreachable"));
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_body_error_is_reported_as_its_message_and_its_causes_not_its_debug_form() {
    let report = Harness::new()
        .without_registered_hooks()
        .run(async {
            let refused = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
            let cause: Box<dyn std::error::Error + Send + Sync> = Box::new(refused);
            Err::<(), _>(std::io::Error::other(Listen(cause)))
        })
        .await;
    assert_eq!(
        report.main_error(),
        Some("cannot listen on 0.0.0.0:3000: address in use")
    );
    assert_eq!(report.exit_code(), 1);
}

/// An error with a cause, as a service's own error type has.
#[derive(Debug)]
struct Listen(Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot listen on 0.0.0.0:3000")
    }
}

impl std::error::Error for Listen {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_panic_runs_the_hooks_and_exits_101() {
    let log = Log::default();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(logged(&log, "cleanup", 10, Duration::ZERO))
        .run(async { fail("invariant broken") })
        .await;
    assert_eq!(entries(&log).len(), 2);
    assert_eq!(report.trigger(), &Trigger::BodyPanicked);
    assert_eq!(report.main_error(), Some("invariant broken"));
    assert_eq!(report.exit(), Exit::Panicked);
    assert_eq!(report.exit_code(), 101);
}

#[tokio::test(start_paused = true)]
async fn shutdown_from_code_names_its_reason_and_waits_the_drain_delay() {
    let report = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(2))
        .run(async {
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("admin endpoint");
            graceful::request_shutdown("ignored: already shutting down");
            graceful::shutdown_requested().await;
        })
        .await;
    assert_eq!(
        report.trigger(),
        &Trigger::Requested("admin endpoint".into())
    );
    assert_eq!(report.duration(), Duration::from_secs(2));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_drain_step_waits_for_the_body_and_tracked_tasks_at_its_order() {
    let log = Log::default();
    let worker_log = log.clone();
    let running = Harness::new()
        .without_registered_hooks()
        .tasks_order(15)
        .hook(logged(&log, "stop intake", 10, Duration::ZERO))
        .hook(logged(&log, "unplug", 20, Duration::ZERO))
        .start(async move {
            for i in 0..3u64 {
                let log = worker_log.clone();
                graceful::spawn_named(format!("worker-{i}"), async move {
                    graceful::shutdown_requested().await;
                    sleep(Duration::from_secs(i + 1)).await;
                    log.lock().unwrap().push(format!("worker-{i} done"));
                });
            }
            graceful::shutdown_requested().await;
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(
        entries(&log),
        [
            "start stop intake",
            "end stop intake",
            "worker-0 done",
            "worker-1 done",
            "worker-2 done",
            "start unplug",
            "end unplug"
        ]
    );
    let drain = report.hook(TASKS_STEP).unwrap();
    assert_eq!(drain.order(), 15);
    assert_eq!(drain.duration(), Duration::from_secs(3));
    assert!(report.tasks_still_running().is_empty());
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_drain_step_runs_at_order_zero_by_default() {
    let log = Log::default();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(logged(&log, "before", -1, Duration::ZERO))
        .hook(logged(&log, "after", 1, Duration::ZERO))
        .run(async {})
        .await;
    let names: Vec<&str> = report.hooks().iter().map(|h| h.name()).collect();
    assert_eq!(names, ["before", TASKS_STEP, "after"]);
    assert_eq!(report.hook(TASKS_STEP).unwrap().order(), 0);
    assert!(report
        .hooks()
        .iter()
        .all(|h| *h.outcome() == Outcome::Completed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "graceful::testing runs on tokio's current-thread runtime")]
async fn the_harness_refuses_a_multi_thread_runtime() {
    // Tasks on other worker threads would not see the harness's shutdown.
    let _ = Harness::new().without_registered_hooks().start(async {});
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "the drain delay (5s) must be shorter than the deadline (5s)")]
async fn the_harness_refuses_a_drain_delay_that_leaves_no_time() {
    let _ = Harness::new()
        .deadline(Duration::from_secs(5))
        .drain_delay(Duration::from_secs(5))
        .start(async {});
}

#[tokio::test(start_paused = true)]
async fn two_harnesses_at_once_keep_their_own_shutdown() {
    let a = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    let b = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(5))
        .start(async { graceful::shutdown_requested().await });
    a.signal(Signal::Terminate);
    let report_a = a.report().await;
    assert_eq!(report_a.exit(), Exit::Clean);
    assert!(!b.is_shutting_down());
    b.signal(Signal::Interrupt);
    let report_b = b.report().await;
    assert_eq!(report_b.trigger(), &Trigger::Signal(Signal::Interrupt));
    assert_eq!(report_b.exit(), Exit::Clean);
}

#[tokio::test(start_paused = true)]
async fn a_task_left_from_an_earlier_harness_cannot_touch_the_next() {
    let first = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(1))
        .start(async {
            graceful::spawn(async {
                sleep(Duration::from_secs(10)).await;
                graceful::request_shutdown("a task of the first program");
            });
            graceful::shutdown_requested().await;
        });
    first.signal(Signal::Terminate);
    assert_eq!(first.report().await.exit(), Exit::DeadlineExceeded);

    let second = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    sleep(Duration::from_secs(20)).await;
    assert!(!second.is_shutting_down());
    second.signal(Signal::Terminate);
    assert_eq!(
        second.report().await.trigger(),
        &Trigger::Signal(Signal::Terminate)
    );
}

#[tokio::test(start_paused = true)]
async fn the_test_thread_follows_the_harnesses_still_alive_whatever_order_they_end() {
    let a = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    let b = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    a.signal(Signal::Terminate);
    a.report().await;
    // `a` is gone; the test's own calls reach `b`, the one still alive.
    graceful::request_shutdown("from the test");
    assert!(b.is_shutting_down());
    assert_eq!(
        b.report().await.trigger(),
        &Trigger::Requested("from the test".into())
    );
}
