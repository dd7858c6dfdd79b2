//! Per-hook timeouts, the global deadline, `always` hooks and the hard stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graceful::testing::{hook, Harness};
use graceful::{Exit, Outcome, Signal, TASKS_STEP};
use tokio::time::{sleep, Instant};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn a_hook_is_stopped_at_its_own_timeout_and_the_next_still_runs() {
    let next_ran = Arc::new(AtomicBool::new(false));
    let flag = next_ran.clone();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(
            hook("slow", 10)
                .timeout(Duration::from_secs(2))
                .run(|_| sleep(HOUR)),
        )
        .hook(hook("next", 20).run(move |_| {
            let flag = flag.clone();
            async move { flag.store(true, Ordering::SeqCst) }
        }))
        .run(async {})
        .await;
    assert_eq!(
        report.hook("slow").unwrap().outcome(),
        &Outcome::TimedOut {
            after: Duration::from_secs(2),
            by_deadline: false
        }
    );
    assert!(next_ran.load(Ordering::SeqCst));
    assert_eq!(
        report.hook("next").unwrap().started_after(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(report.exit(), Exit::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_hook_never_gets_more_than_the_deadline_leaves() {
    let seen_left = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let seen = seen_left.clone();
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(10))
        .drain_delay(Duration::from_secs(4))
        .hook(hook("first", 10).run(|_| sleep(Duration::from_secs(3))))
        .hook(
            hook("greedy", 20)
                .timeout(Duration::from_secs(60))
                .run(move |ctx| {
                    *seen.lock().unwrap() = ctx.time_left();
                    sleep(HOUR)
                }),
        )
        .hook(hook("late", 30).run(|_| async {}))
        .hook(
            hook("flush logs", 40)
                .always()
                .run(|_| sleep(Duration::from_millis(300))),
        )
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    let report = running.report().await;

    // 4 s drain + 3 s first hook leaves 3 s of the 10 s deadline.
    assert_eq!(*seen_left.lock().unwrap(), Duration::from_secs(3));
    assert_eq!(
        report.hook("greedy").unwrap().outcome(),
        &Outcome::TimedOut {
            after: Duration::from_secs(3),
            by_deadline: true
        }
    );
    assert_eq!(report.hook("late").unwrap().outcome(), &Outcome::Skipped);
    // Skipped: it never started, and took no time.
    assert_eq!(report.hook("late").unwrap().started_after(), None);
    assert_eq!(report.hook("late").unwrap().duration(), Duration::ZERO);
    assert_eq!(
        report.hook("flush logs").unwrap().outcome(),
        &Outcome::Completed
    );
    assert_eq!(
        report.hook("flush logs").unwrap().started_after(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(report.duration(), Duration::from_millis(10_300));
    assert_eq!(report.exit(), Exit::DeadlineExceeded);
    assert_eq!(report.exit_code(), 124);
}

#[tokio::test(start_paused = true)]
async fn always_hooks_run_after_the_deadline_bounded_by_their_own_timeout() {
    let report = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(5))
        .hook(hook("stuck", 10).run(|_| sleep(HOUR)))
        .hook(hook("skipped", 20).run(|_| async {}))
        .hook(hook("quick cleanup", 30).always().run(|_| async {}))
        .hook(hook("stuck cleanup", 30).always().run(|_| sleep(HOUR)))
        .hook(
            hook("bounded cleanup", 40)
                .always()
                .timeout(Duration::from_secs(2))
                .run(|_| sleep(HOUR)),
        )
        .run(async {})
        .await;
    let outcome = |name: &str| report.hook(name).unwrap().outcome().clone();
    assert!(outcome("stuck").hit_deadline());
    assert_eq!(outcome("skipped"), Outcome::Skipped);
    assert_eq!(outcome("quick cleanup"), Outcome::Completed);
    // No timeout of its own: one second once the deadline has passed, and running out
    // of it is the deadline's doing, not a timeout of the hook's.
    assert_eq!(
        outcome("stuck cleanup"),
        Outcome::TimedOut {
            after: Duration::from_secs(1),
            by_deadline: true
        }
    );
    assert_eq!(
        outcome("bounded cleanup"),
        Outcome::TimedOut {
            after: Duration::from_secs(2),
            by_deadline: false
        }
    );
    // 5 s deadline + 1 s + 2 s of `always` hooks.
    assert_eq!(report.duration(), Duration::from_secs(8));
    assert_eq!(report.exit_code(), 124);
}

#[tokio::test(start_paused = true)]
async fn an_always_hook_without_a_timeout_is_cut_by_the_deadline_however_much_it_had_left() {
    // The same hook, hanging, started with more and with less than a second left: the
    // same verdict, and the same exit code.
    for (first_takes, always_ends_after) in [(500, 2000), (1500, 2500)] {
        let report = Harness::new()
            .without_registered_hooks()
            .deadline(Duration::from_secs(2))
            .hook(hook("first", 10).run(move |_| sleep(Duration::from_millis(first_takes))))
            .hook(hook("flush", 20).always().run(|_| sleep(HOUR)))
            .run(async {})
            .await;
        let flush = report.hook("flush").unwrap().outcome().clone();
        assert!(
            matches!(
                flush,
                Outcome::TimedOut {
                    by_deadline: true,
                    ..
                }
            ),
            "{first_takes} ms: {flush:?}"
        );
        assert!(flush.hit_deadline());
        assert_eq!(report.exit_code(), 124, "{first_takes} ms");
        assert_eq!(report.counts().cut_by_deadline, 1, "{first_takes} ms");
        assert_eq!(
            report.duration(),
            Duration::from_millis(always_ends_after),
            "{first_takes} ms"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_still_running_at_the_deadline_are_named() {
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(3))
        .start(async {
            graceful::spawn_named("stubborn", sleep(HOUR));
            graceful::spawn(sleep(HOUR));
            graceful::spawn_named("polite", graceful::shutdown_requested());
            graceful::shutdown_requested().await;
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let drain = report.hook(TASKS_STEP).unwrap();
    assert!(drain.outcome().hit_deadline(), "{:?}", drain.outcome());
    let still = report.tasks_still_running();
    assert_eq!(still.len(), 2, "{still:?}");
    assert_eq!(still[0], "stubborn");
    assert!(
        still[1].starts_with("task spawned at ") && still[1].contains("limits.rs:"),
        "{still:?}"
    );
    assert_eq!(report.duration(), Duration::from_secs(3));
    assert_eq!(report.exit(), Exit::DeadlineExceeded);
}

#[tokio::test(start_paused = true)]
async fn thousands_of_tasks_cut_by_the_deadline_keep_the_json_report_small() {
    // Every connection of a server is a tracked task: a deadline may cut thousands. The
    // report must still fit where it is read (Kubernetes keeps 4096 bytes of a
    // termination log), and say how many there were.
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(3))
        .start(async {
            for i in 0..3000 {
                graceful::spawn_named(format!("http connection from 10.0.0.1:{i}"), sleep(HOUR));
            }
            graceful::shutdown_requested().await;
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.tasks_still_running().len(), 3000);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["tasks_still_running_count"], 3000);
    assert_eq!(json["tasks_still_running"].as_array().unwrap().len(), 20);
    assert!(
        report.to_json().len() < 4096,
        "{} bytes",
        report.to_json().len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_ignores_the_shutdown_exits_at_the_deadline() {
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(3))
        .start(sleep(HOUR));
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert!(report.body_still_running());
    assert_eq!(report.duration(), Duration::from_secs(3));
    assert_eq!(report.exit_code(), 124);
}

#[tokio::test(start_paused = true)]
async fn until_hard_stop_hands_work_back_a_margin_before_the_deadline() {
    let handed_back_at = Arc::new(std::sync::Mutex::new(None));
    let at = handed_back_at.clone();
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(5))
        .start(async move {
            let t0 = Instant::now();
            let worker = graceful::spawn(async move {
                // An operation far longer than the deadline.
                if graceful::until_hard_stop(sleep(HOUR)).await.is_none() {
                    *at.lock().unwrap() = Some(t0.elapsed());
                }
            });
            graceful::shutdown_requested().await;
            worker.await.unwrap();
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    // A tenth of the deadline, at most 1 s: 500 ms before it.
    assert_eq!(
        *handed_back_at.lock().unwrap(),
        Some(Duration::from_millis(4_500))
    );
    assert_eq!(report.duration(), Duration::from_millis(4_500));
    // Handed back in time, but cut by the deadline all the same: the exit says so.
    assert_eq!(report.cut_at_hard_stop(), 1);
    assert_eq!(report.exit(), Exit::DeadlineExceeded);
    assert!(report.to_json().contains("\"cut_at_hard_stop\":1,"));
}

#[tokio::test(start_paused = true)]
async fn a_stream_ended_by_hard_stop_ends_in_time_and_is_no_cut() {
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(5))
        .start(async move {
            let t0 = Instant::now();
            let stream = graceful::spawn(async move {
                // Open for its client as long as the process can afford.
                graceful::hard_stop().await;
                t0.elapsed()
            });
            graceful::shutdown_requested().await;
            assert_eq!(stream.await.unwrap(), Duration::from_millis(4_500));
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.cut_at_hard_stop(), 0);
    assert_eq!(report.exit(), Exit::Clean);
    assert_eq!(report.duration(), Duration::from_millis(4_500));
}

#[tokio::test(start_paused = true)]
async fn work_that_ends_before_the_hard_stop_is_not_counted_as_cut() {
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(5))
        .start(async move {
            let worker = graceful::spawn(async move {
                graceful::until_hard_stop(sleep(Duration::from_secs(3))).await
            });
            graceful::shutdown_requested().await;
            assert_eq!(worker.await.unwrap(), Some(()));
        });
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.cut_at_hard_stop(), 0);
    assert_eq!(report.exit(), Exit::Clean);
    assert_eq!(report.duration(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_hook_token_is_cancelled_when_its_time_is_up() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(
            hook("watcher", 10)
                .timeout(Duration::from_secs(1))
                .run(move |ctx| {
                    let flag = flag.clone();
                    let token = ctx.token();
                    // Work the hook handed off outlives the hook's task.
                    tokio::spawn(async move {
                        token.cancelled().await;
                        flag.store(true, Ordering::SeqCst);
                    });
                    sleep(HOUR)
                }),
        )
        .run(async {})
        .await;
    tokio::task::yield_now().await;
    assert!(cancelled.load(Ordering::SeqCst));
    assert!(report.hook("watcher").unwrap().outcome().is_failure());
}

/// Real time: a blocking thread that never returns keeps tokio's paused clock from
/// advancing, exactly as it would keep a plain runtime from shutting down.
#[tokio::test]
async fn a_blocking_hook_that_never_returns_does_not_hold_the_shutdown() {
    let release = Arc::new(AtomicBool::new(false));
    let release_hook = release.clone();
    let t0 = std::time::Instant::now();
    let report = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_millis(300))
        .hook(hook("stuck sync", 10).run_blocking(move |_| {
            while !release_hook.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }))
        .hook(hook("cleanup", 20).always().run_blocking(|_| ()))
        .run(async {})
        .await;
    let elapsed = t0.elapsed();
    release.store(true, Ordering::SeqCst);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(report.hook("stuck sync").unwrap().outcome().hit_deadline());
    assert_eq!(
        report.hook("cleanup").unwrap().outcome(),
        &Outcome::Completed
    );
    assert_eq!(report.exit_code(), 124);
}

#[tokio::test(start_paused = true)]
async fn the_hard_stop_never_comes_before_the_shutdown_itself() {
    let handed_back_after = Arc::new(std::sync::Mutex::new(None));
    let seen = handed_back_after.clone();
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(10))
        .drain_delay(Duration::from_millis(9_500))
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    // Work taken during the drain delay, after `deadline - margin` (9 s).
    sleep(Duration::from_millis(9_200)).await;
    let taken_at = Instant::now();
    let worker = graceful::spawn(async move {
        let out = graceful::until_hard_stop(sleep(HOUR)).await;
        *seen.lock().unwrap() = Some((out, taken_at.elapsed()));
    });
    worker.await.unwrap();
    running.report().await;
    // Handed back when the shutdown starts (9.5 s), not refused at once at 9.2 s.
    assert_eq!(
        *handed_back_after.lock().unwrap(),
        Some((None, Duration::from_millis(300)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_by_a_later_hook_is_waited_for() {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(hook("starts a flush", 10).run(move |_| {
            let flag = flag.clone();
            async move {
                graceful::spawn_named("flusher", async move {
                    sleep(Duration::from_secs(2)).await;
                    flag.store(true, Ordering::SeqCst);
                });
            }
        }))
        .run(async {})
        .await;
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(report.duration(), Duration::from_secs(2));
    assert!(report.tasks_still_running().is_empty());
    assert_eq!(report.exit(), Exit::Clean);
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_by_a_later_hook_that_outlives_the_deadline_is_named() {
    let report = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(4))
        .hook(hook("starts a flush", 10).run(|_| async {
            graceful::spawn_named("endless flusher", sleep(HOUR));
        }))
        .run(async {})
        .await;
    assert_eq!(report.tasks_still_running(), ["endless flusher"]);
    assert_eq!(report.duration(), Duration::from_secs(4));
    assert_eq!(report.exit(), Exit::DeadlineExceeded);
}
