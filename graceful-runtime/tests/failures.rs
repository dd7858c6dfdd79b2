//! A hook that errors, panics or lacks its state fails alone; a second signal forces the exit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graceful::testing::{hook, Harness};
use graceful::{Exit, Outcome, Signal, State, TASKS_STEP};
use tokio::time::sleep;

struct Broker;

/// Panics with `message`; a `()` function, so the hook's type is clear.
fn fail(message: &str) {
    panic!("{message}")
}

#[tokio::test(start_paused = true)]
async fn each_failure_is_reported_with_its_reason_and_later_hooks_still_run() {
    let later = Arc::new(AtomicUsize::new(0));
    let count = later.clone();
    let report = Harness::new()
        .without_registered_hooks()
        .hook(
            hook("errors", 10)
                .run(|_| async { Err::<(), _>(std::io::Error::other("connection reset")) }),
        )
        .hook(hook("panics", 10).run(|_| async { fail("index out of bounds: 7") }))
        .hook(hook("blocking panics", 10).run_blocking(|_| fail("sync boom")))
        .hook(hook("needs state", 10).run(|ctx| async move {
            let Some(_broker) = ctx.state::<Broker>() else {
                return Err(format!("missing {}", std::any::type_name::<Broker>()));
            };
            Ok(())
        }))
        .hook(hook("later", 20).run(move |_| {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .run(async {})
        .await;
    let outcome = |name: &str| report.hook(name).unwrap().outcome().clone();
    assert_eq!(
        outcome("errors"),
        Outcome::Failed("connection reset".into())
    );
    assert_eq!(
        outcome("panics"),
        Outcome::Panicked("index out of bounds: 7".into())
    );
    assert_eq!(
        outcome("blocking panics"),
        Outcome::Panicked("sync boom".into())
    );
    assert_eq!(
        outcome("needs state"),
        Outcome::Failed("missing failures::Broker".into())
    );
    assert_eq!(later.load(Ordering::SeqCst), 1);
    assert_eq!(outcome("later"), Outcome::Completed);
    // Each kind of failure has its own count.
    assert_eq!(report.counts().failed, 2);
    assert_eq!(report.counts().panicked, 2);
    assert_eq!(report.exit(), Exit::Failed);
}

#[tokio::test(start_paused = true)]
async fn provided_state_reaches_the_hook() {
    struct Counter(AtomicUsize);
    let report = Harness::new()
        .without_registered_hooks()
        .hook(hook("reads state", 10).run(|ctx| async move {
            let counter: State<Counter> = ctx.state().ok_or("no counter")?;
            counter.0.fetch_add(1, Ordering::SeqCst);
            Ok::<(), &str>(())
        }))
        .run(async {
            graceful::provide(Counter(AtomicUsize::new(41)));
        })
        .await;
    assert_eq!(report.exit(), Exit::Clean, "{:?}", report.hooks());
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_forces_the_exit_and_names_what_was_running() {
    let running = Harness::new()
        .without_registered_hooks()
        .tasks_order(25)
        .hook(hook("quick", 10).run(|_| sleep(Duration::from_secs(3))))
        .hook(hook("slow drain", 20).run(|_| sleep(Duration::from_secs(20))))
        .hook(hook("slow flush", 20).run(|_| sleep(Duration::from_secs(20))))
        .hook(hook("never reached", 30).run(|_| async {}))
        .start(async {
            graceful::spawn_named("stubborn worker", sleep(Duration::from_secs(60)));
            graceful::shutdown_requested().await;
        });
    running.signal(Signal::Terminate);
    sleep(Duration::from_secs(5)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.exit(), Exit::Forced(Signal::Terminate));
    assert_eq!(report.exit_code(), 143);
    assert_eq!(report.hook("quick").unwrap().outcome(), &Outcome::Completed);
    for name in ["slow drain", "slow flush"] {
        let step = report.hook(name).unwrap();
        assert_eq!(step.outcome(), &Outcome::Interrupted);
        assert_eq!(step.order(), 20);
        // It started after `quick` and ran until the second signal.
        assert_eq!(step.started_after(), Some(Duration::from_secs(3)));
        assert_eq!(step.duration(), Duration::from_secs(2));
    }
    // What the second signal kept from starting is named, so the operator knows which
    // cleanup did not happen.
    let never = report.hook("never reached").unwrap();
    assert_eq!(never.outcome(), &Outcome::NotStarted);
    assert_eq!(never.order(), 30);
    // It never started: no start time, no duration.
    assert_eq!(never.started_after(), None);
    assert_eq!(never.duration(), Duration::ZERO);
    assert_eq!(report.counts().interrupted, 2);
    assert_eq!(report.counts().not_started, 2, "{:?}", report.hooks());
    // The drain (order 25) was never reached: the worker is named as still running.
    assert_eq!(report.tasks_still_running(), ["stubborn worker"]);
    assert_eq!(report.duration(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_second_sigint_during_the_drain_delay_exits_130() {
    let running = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(10))
        .hook(hook("remove scratch", 20).always().run(|_| async {}))
        .start(async { graceful::shutdown_requested().await });
    running.signal(Signal::Interrupt);
    sleep(Duration::from_secs(1)).await;
    running.signal(Signal::Interrupt);
    let report = running.report().await;
    assert_eq!(report.exit_code(), 130);
    assert_eq!(report.duration(), Duration::from_secs(1));
    // Nothing ran: every step is in the report as not started, `always` ones included.
    let steps: Vec<(&str, i32, bool, &Outcome)> = report
        .hooks()
        .iter()
        .map(|h| (h.name(), h.order(), h.always(), h.outcome()))
        .collect();
    assert_eq!(
        steps,
        [
            (TASKS_STEP, 0, false, &Outcome::NotStarted),
            ("remove scratch", 20, true, &Outcome::NotStarted),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_a_shutdown_started_by_main_does_not_force() {
    let running = Harness::new()
        .without_registered_hooks()
        .hook(hook("slow", 10).run(|_| sleep(Duration::from_secs(5))))
        .start(async {});
    sleep(Duration::from_secs(1)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    assert_eq!(report.exit(), Exit::Clean);
    assert_eq!(report.duration(), Duration::from_secs(5));
}
