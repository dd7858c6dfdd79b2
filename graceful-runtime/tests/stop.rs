//! The worker-facing API: `until_shutdown`, `until_hard_stop`, `is_shutting_down`.

use std::future::ready;
use std::time::Duration;

use graceful::testing::Harness;
use graceful::Signal;
use tokio::sync::mpsc;
use tokio::time::sleep;

#[tokio::test(start_paused = true)]
async fn until_shutdown_returns_the_output_before_and_none_after() {
    let running = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    assert_eq!(graceful::until_shutdown(ready(7)).await, Some(7));
    assert_eq!(
        graceful::until_shutdown(async {
            sleep(Duration::from_secs(1)).await;
            8
        })
        .await,
        Some(8)
    );
    running.signal(Signal::Terminate);
    assert_eq!(
        graceful::until_shutdown(sleep(Duration::from_secs(60))).await,
        None
    );
    running.report().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_wins_when_both_are_ready_and_the_message_stays_queued() {
    let running = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    let (tx, mut rx) = mpsc::channel(4);
    tx.send("msg").await.unwrap();
    running.signal(Signal::Terminate);
    tokio::task::yield_now().await;
    // Both the message and the shutdown are ready: the shutdown wins, every time.
    for _ in 0..100 {
        assert_eq!(graceful::until_shutdown(rx.recv()).await, None);
    }
    // And the message was not taken.
    assert_eq!(rx.try_recv(), Ok("msg"));
    running.report().await;
}

#[tokio::test(start_paused = true)]
async fn a_waiting_receive_is_woken_by_the_shutdown() {
    let running = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(3))
        .start(async { graceful::shutdown_requested().await });
    let (_tx, mut rx) = mpsc::channel::<u32>(1);
    let waiter = tokio::spawn(async move {
        let t0 = tokio::time::Instant::now();
        (graceful::until_shutdown(rx.recv()).await, t0.elapsed())
    });
    sleep(Duration::from_secs(1)).await;
    running.signal(Signal::Terminate);
    let (got, after) = waiter.await.unwrap();
    assert_eq!(got, None);
    assert_eq!(after, Duration::from_secs(4));
    running.report().await;
}

#[tokio::test(start_paused = true)]
async fn until_hard_stop_is_transparent_without_a_shutdown() {
    let _running = Harness::new()
        .without_registered_hooks()
        .start(std::future::pending::<()>());
    assert_eq!(
        graceful::until_hard_stop(async {
            sleep(Duration::from_secs(100)).await;
            "done"
        })
        .await,
        Some("done")
    );
    assert!(!graceful::is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn the_harness_state_ends_with_the_running_program() {
    let running = Harness::new()
        .without_registered_hooks()
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Terminate);
    running.report().await;
    // `running` is gone: this thread is back on the program's own state, never shut down.
    assert!(!graceful::is_shutting_down());
}
