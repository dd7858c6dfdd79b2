//! The consumer runner: N handlers at once over a [`Source`], with the whole shutdown
//! built in, so that the user writes the handler only.
//!
//! One tracked task (the shutdown's `graceful::tasks` step waits for it) takes a handler
//! slot, then the source's next delivery, and starts the handler in a tokio task of its
//! own; it does so until the shutdown is requested (the drain delay's end, or an
//! upgrade's handover). A handler's slot is free again once its work ended and its
//! delivery's settlement began: the settlement (its round trip to the broker) goes on
//! beside the next handler, within a bound of its own (a delivery the hard stop cut is
//! handed back outside it, at once). When intake ends the runner stops the source and hands back at once
//! what the source had taken off the broker but not given out, waits for every handler
//! and every settlement, and closes the source last: no acknowledgement is ever sent on a
//! closed connection.
//!
//! A handler's task is a plain tokio task rather than a tracked one: the runner's own
//! task waits for it, and a handler's panic is a failed message, settled by the failure
//! policy, not a crash of the program (it is not a task panic for
//! [`TaskPanic`](crate::TaskPanic)).

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::source::{Acked, Delivery, Error, Message, Source};
use crate::api::{spawn_named, until_hard_stop, until_shutdown};
use crate::controller::consumers::Tally;
use crate::controller::{self, Controller};
use crate::report::{log, ConsumerCounts};
use crate::trigger::panic::{self, CatchUnwind};

/// The first pause after the source's `next` failed; it doubles with each failure in a
/// row, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two calls of a failing `next`: a broker that comes back is
/// used again within this time.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// How many handlers run at once unless [`Consumer::handlers`] says otherwise.
pub const DEFAULT_HANDLERS: usize = 10;

/// What becomes of a message whose handler failed (returned an error or panicked).
///
/// The default is [`Failure::retry`]`(5)`: a message is tried five times in all, then
/// rejected (dead-lettered where the source has dead letters, dropped where it has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    max_attempts: u32,
}

impl Failure {
    /// Retries a failed message while its [`attempt`](Message::attempt) is below
    /// `max_attempts`, then rejects it: `retry(5)` runs a message at most five times.
    /// `retry(0)` and `retry(1)` both never retry.
    pub fn retry(max_attempts: u32) -> Failure {
        Failure {
            max_attempts: max_attempts.max(1),
        }
    }

    /// Rejects a failed message at once: it goes to the dead letters, or is dropped.
    pub fn reject() -> Failure {
        Failure::retry(1)
    }

    /// How many times a message runs at most.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

impl Default for Failure {
    /// [`Failure::retry`]`(5)`.
    fn default() -> Self {
        Failure::retry(5)
    }
}

type OnAcked = Arc<dyn Fn(&Message) + Send + Sync>;

/// A consumer being built: a name, a [`Source`], how many handlers at once, what to do
/// with a failed message. [`Consumer::start`] starts it with its handler.
///
/// ```no_run
/// # async fn doc<S: graceful::consume::Source>(source: S) {
/// use graceful::consume::{Consumer, Failure, Message};
///
/// let consumer = Consumer::new("orders", source)
///     .handlers(20)
///     .on_failure(Failure::retry(5))
///     .start(|msg: Message| async move {
///         // The work. An error (or a panic) retries the message, up to the policy.
///         if msg.payload().is_empty() {
///             return Err("an empty order");
///         }
///         Ok(())
///     });
/// let counts = consumer.finished().await; // after the shutdown
/// # }
/// ```
pub struct Consumer<S> {
    name: Arc<str>,
    source: S,
    handlers: usize,
    failure: Failure,
    on_acked: Option<OnAcked>,
    after_ready: Option<bool>,
}

impl<S: Source> Consumer<S> {
    /// A consumer named `name` (in logs, each message's span and the report) over
    /// `source`.
    pub fn new(name: impl Into<Arc<str>>, source: S) -> Consumer<S> {
        Consumer {
            name: name.into(),
            source,
            handlers: DEFAULT_HANDLERS,
            failure: Failure::default(),
            on_acked: None,
            after_ready: None,
        }
    }

    /// How many handlers run at once (at least one; [`DEFAULT_HANDLERS`] unless set).
    /// The source is asked for a delivery only when a handler is free. A handler is free
    /// once its work ended and its message's settlement began, while the settlement is
    /// still on its way to the broker (up to four settlements per handler under way at
    /// once).
    pub fn handlers(mut self, handlers: usize) -> Self {
        self.handlers = handlers.max(1);
        self
    }

    /// What becomes of a message whose handler failed: [`Failure::retry`]`(5)` unless
    /// set.
    pub fn on_failure(mut self, failure: Failure) -> Self {
        self.failure = failure;
        self
    }

    /// Runs `f` for each message once its acknowledgement returned `Ok`: the broker has
    /// it as done. For a journal, a metric, a progress count.
    ///
    /// It may run in the task where the source reads the broker's replies rather than in
    /// the handler's (RabbitMQ learns of many acknowledgements at once), so keep it short
    /// and never block in it. A panic in it is shown and stops nothing: the message is
    /// done.
    pub fn on_acked(mut self, f: impl Fn(&Message) + Send + Sync + 'static) -> Self {
        self.on_acked = Some(Arc::new(f));
        self
    }

    /// Whether intake waits for [`ready`](crate::ready). By default it does only in a
    /// process started by an [`upgrade`](crate::upgrade) in place: there, the process it
    /// replaces consumes until then, and a new process that is rolled back (never ready)
    /// never takes a message. Elsewhere intake begins at once.
    pub fn after_ready(mut self, wait: bool) -> Self {
        self.after_ready = Some(wait);
        self
    }

    /// Starts the consumer as a tracked task named after it, with `handler` for each
    /// message. The handler's `Ok` acknowledges the message; an `Err` (shown with
    /// `{:#}`, so an `anyhow` error shows its chain) or a panic fails it, and the
    /// [`Failure`] policy settles it.
    ///
    /// Call it from the program's body or a tracked task.
    pub fn start<H, Fut, E>(self, handler: H) -> ConsumerHandle
    where
        H: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let ctl = controller::current();
        let after_ready = self.after_ready.unwrap_or_else(upgraded);
        let run = Run::new(Shared {
            ctl,
            name: Arc::clone(&self.name),
            handlers: self.handlers,
            failure: self.failure,
            on_acked: self.on_acked,
            tally: ctl.consumers.register(&self.name),
            handler,
        });
        let task = spawn_named(
            format!("consumer {}", self.name),
            run.run(self.source, after_ready),
        );
        ConsumerHandle { task }
    }
}

/// Whether this process was started by an upgrade in place.
fn upgraded() -> bool {
    #[cfg(unix)]
    return crate::handover::previous().is_some();
    #[cfg(not(unix))]
    false
}

/// A started consumer.
#[derive(Debug)]
pub struct ConsumerHandle {
    task: JoinHandle<Result<ConsumerCounts, Error>>,
}

impl ConsumerHandle {
    /// Waits for the consumer's end (after the shutdown started, every message settled,
    /// the source closed) and gives its counts. An `Err` when the source could not be
    /// stopped or closed (the counts are in the report all the same).
    pub async fn finished(self) -> Result<ConsumerCounts, Error> {
        match self.task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(Error::msg(format!(
                "the consumer panicked: {}",
                panic::message(&*e.into_panic())
            ))),
            Err(_) => Err(Error::msg("the consumer was stopped with the program")),
        }
    }
}

/// What the runner's task and each handler's task share: one reference count for each
/// message's task to take and give back, not one per field.
struct Run<H>(Arc<Shared<H>>);

/// The consumer's settings, counts and handler, behind a [`Run`].
struct Shared<H> {
    ctl: &'static Controller,
    name: Arc<str>,
    handlers: usize,
    failure: Failure,
    on_acked: Option<OnAcked>,
    tally: Arc<Tally>,
    handler: H,
}

impl<H> Run<H> {
    fn new(shared: Shared<H>) -> Run<H> {
        Run(Arc::new(shared))
    }
}

impl<H> Clone for Run<H> {
    fn clone(&self) -> Self {
        Run(Arc::clone(&self.0))
    }
}

impl<H> std::ops::Deref for Run<H> {
    type Target = Shared<H>;
    fn deref(&self) -> &Shared<H> {
        &self.0
    }
}

/// The runner's two bounds: handlers running, and settlements under way. A handler whose
/// work ended takes a settlement's permit, then frees its own: the next delivery starts
/// while this one's settlement makes its round trip to the broker.
struct Slots {
    running: Arc<Semaphore>,
    settling: Arc<Semaphore>,
    /// Permits of each, for waiting until every one is back.
    permits: (u32, u32),
}

impl Slots {
    fn new(handlers: usize) -> Slots {
        let running = handlers.min(MOST_PERMITS);
        let settling = handlers
            .saturating_mul(SETTLING_PER_HANDLER)
            .min(MOST_PERMITS);
        Slots {
            running: Arc::new(Semaphore::new(running)),
            settling: Arc::new(Semaphore::new(settling)),
            permits: (running as u32, settling as u32),
        }
    }

    /// Messages under way: with a handler, or in their settlement.
    fn under_way(&self) -> usize {
        (self.permits.0 as usize - self.running.available_permits())
            + (self.permits.1 as usize - self.settling.available_permits())
    }

    /// Waits until no handler runs and no settlement is under way (intake has ended).
    async fn all_settled(&self) {
        let _running = self.running.acquire_many(self.permits.0).await;
        let _settling = self.settling.acquire_many(self.permits.1).await;
    }
}

/// How many settlements may be under way at once, per handler: a bound on what a broker
/// that is slow to confirm can pile up, far above what a round trip needs.
const SETTLING_PER_HANDLER: usize = 4;

/// The most permits a semaphore is given (within tokio's and `acquire_many`'s limits).
const MOST_PERMITS: usize = u32::MAX as usize >> 4;

/// How a handler's run ended.
enum Ran {
    Ok,
    Failed { error: String, panicked: bool },
    Cut,
}

impl<H, Fut, E> Run<H>
where
    H: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    /// The runner's task: intake until the shutdown, then stop, drain, close.
    async fn run<S: Source>(
        self,
        mut source: S,
        after_ready: bool,
    ) -> Result<ConsumerCounts, Error> {
        let slots = Slots::new(self.handlers);
        // A process that waits for `ready()` and hears it only once its shutdown started
        // (a new process rolled back by its upgrade's timeout, still in its drain delay)
        // never took over: it takes nothing.
        let began = !after_ready
            || (until_shutdown(self.ctl.readied.wait()).await.is_some()
                && !self.ctl.is_shutting_down());
        if began {
            self.intake(&mut source, &slots).await;
        }
        let stopped = source.stop().await;
        let mut result = Ok(());
        match stopped {
            Ok(unstarted) => {
                let under_way = slots.under_way();
                let mut handed_back = 0;
                for delivery in unstarted {
                    let id: Arc<str> = delivery.message().id().into();
                    match delivery.hand_back().await {
                        Ok(()) => {
                            handed_back += 1;
                            Tally::add(&self.tally.handed_back_unstarted);
                        }
                        Err(e) => self.settle_failed(&id, "hand back", &e),
                    }
                }
                log::consume_intake_stopped(&self.name, under_way, handed_back);
            }
            Err(e) => {
                log::consume_source_failed(&self.name, "stop", &chain(&e));
                result = Err(e);
            }
        }
        // Every handler settled: a handler holds its slot until it holds a settlement's,
        // and that one until its settlement returned.
        slots.all_settled().await;
        if let Err(e) = source.close().await {
            log::consume_source_failed(&self.name, "close", &chain(&e));
            result = result.and(Err(e));
        }
        result.map(|()| self.tally.snapshot())
    }

    /// Takes deliveries while a handler is free, until the shutdown is requested.
    async fn intake<S: Source>(&self, source: &mut S, slots: &Slots) {
        let mut pause = FIRST_PAUSE;
        loop {
            let Some(slot) = until_shutdown(Arc::clone(&slots.running).acquire_owned()).await
            else {
                return;
            };
            let slot = slot.expect("the slots are never closed");
            match until_shutdown(source.next()).await {
                None => return,
                Some(Ok(delivery)) => {
                    pause = FIRST_PAUSE;
                    Tally::add(&self.tally.taken);
                    let settling = Arc::clone(&slots.settling);
                    tokio::spawn(controller::scope(
                        self.ctl,
                        self.clone().handle(delivery, slot, settling),
                    ));
                }
                Some(Err(e)) => {
                    drop(slot);
                    log::consume_next_failed(&self.name, &chain(&e), pause);
                    if until_shutdown(tokio::time::sleep(pause)).await.is_none() {
                        return;
                    }
                    pause = (pause * 2).min(MAX_PAUSE);
                }
            }
        }
    }

    /// One delivery: its handler within the deadline, then its one settlement.
    async fn handle<D: Delivery>(
        self,
        delivery: D,
        slot: OwnedSemaphorePermit,
        settling: Arc<Semaphore>,
    ) {
        let msg = delivery.message().clone();
        let span = tracing::info_span!(
            target: log::TARGET,
            "message",
            consumer = %self.name,
            id = %msg.id(),
            attempt = msg.attempt()
        );
        let panicked = |payload: Box<dyn std::any::Any + Send>| Ran::Failed {
            error: format!("panicked: {}", panic::message(&*payload)),
            panicked: true,
        };
        // The handler's own code before its future (a parse that unwraps) can panic too:
        // that is a failed message as well, settled like any other.
        let made = {
            let _entered = span.enter();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.handler)(msg.clone())))
        };
        let ran = match made {
            Err(payload) => panicked(payload),
            // Built in place: the handler's future is held once in this task, not twice.
            Ok(future) => match until_hard_stop(CatchUnwind::new(future.instrument(span))).await {
                Some(Ok(Ok(()))) => Ran::Ok,
                Some(Ok(Err(e))) => Ran::Failed {
                    error: format!("{e:#}"),
                    panicked: false,
                },
                Some(Err(payload)) => panicked(payload),
                None => Ran::Cut,
            },
        };
        if matches!(ran, Ran::Cut) {
            // The hard stop: handed back at once, outside the settlements' bound (it must
            // not wait behind acknowledgements a slow broker has not confirmed yet), the
            // slot held until then.
            Box::pin(self.settle(ran, delivery, msg, None)).await;
            drop(slot);
            return;
        }
        let settling = settling
            .acquire_owned()
            .await
            .expect("the slots are never closed");
        // The handler is free once its settlement has begun (its first poll: the
        // acknowledgement is on its way, and the source counts the delivery no more).
        let mut slot = Some(slot);
        // Boxed: a source's settlement (its client's requests) can be kilobytes of future,
        // and this task is moved at its spawn; the box keeps it a few hundred bytes.
        let mut settlement = Box::pin(self.settle(ran, delivery, msg, Some(settling)));
        std::future::poll_fn(|cx| {
            let polled = settlement.as_mut().poll(cx);
            slot = None;
            polled
        })
        .await;
    }

    /// A delivery's one settlement, by how its handler's run ended. `place`, the
    /// settlement's permit, is held until its outcome is known: for an acknowledgement,
    /// until the source reports it, perhaps after this returned.
    async fn settle<D: Delivery>(
        &self,
        ran: Ran,
        delivery: D,
        msg: Message,
        place: Option<OwnedSemaphorePermit>,
    ) {
        match ran {
            Ran::Ok => {
                let run = self.clone();
                let acked = Acked::new(move |outcome| {
                    run.acked(&msg, outcome);
                    drop(place);
                });
                delivery.ack_then(acked).await;
            }
            Ran::Failed { error, panicked } => {
                Tally::add(&self.tally.failed);
                if panicked {
                    Tally::add(&self.tally.panicked);
                }
                if msg.attempt() < self.failure.max_attempts {
                    let then = format!(
                        "retried (attempt {} of {})",
                        msg.attempt() + 1,
                        self.failure.max_attempts
                    );
                    log::consume_failed(&self.name, msg.id(), msg.attempt(), &error, &then);
                    match delivery.retry().await {
                        Ok(()) => Tally::add(&self.tally.retried),
                        Err(e) => self.settle_failed(msg.id(), "retry", &e),
                    }
                } else {
                    let then = format!("rejected after {} attempt(s)", msg.attempt());
                    log::consume_failed(&self.name, msg.id(), msg.attempt(), &error, &then);
                    match delivery.reject().await {
                        Ok(()) => Tally::add(&self.tally.rejected),
                        Err(e) => self.settle_failed(msg.id(), "reject", &e),
                    }
                }
            }
            Ran::Cut => match delivery.hand_back().await {
                Ok(()) => Tally::add(&self.tally.handed_back_cut),
                Err(e) => self.settle_failed(msg.id(), "hand back", &e),
            },
        }
    }

    /// An acknowledgement's outcome, in whichever task the source reports it.
    fn acked(&self, msg: &Message, outcome: Result<(), Error>) {
        controller::sync_scope(self.ctl, || match outcome {
            Ok(()) => {
                Tally::add(&self.tally.done);
                if let Some(on_acked) = &self.on_acked {
                    // The source may report in its own task, where it reads the broker's
                    // replies: a panic of `on_acked` must not unwind through it (the panic
                    // hook has shown it; the message is done all the same).
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        on_acked(msg);
                    }));
                }
            }
            Err(e) => self.settle_failed(msg.id(), "acknowledge", &e),
        });
    }

    fn settle_failed(&self, id: &str, what: &str, error: &Error) {
        Tally::add(&self.tally.settle_failed);
        log::consume_settle_failed(&self.name, id, what, &chain(error));
    }
}

/// An error and its causes, on one line: `cannot connect: connection refused`.
pub(super) fn chain(error: &Error) -> String {
    crate::trigger::body::chain(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delivery whose settlements hold 16 KiB across an await, as a broker client's
    /// request futures can hold kilobytes.
    struct Heavy(Message);

    async fn heavy_settlement() -> Result<(), Error> {
        let buffer = [1u8; 16 * 1024];
        tokio::task::yield_now().await;
        std::hint::black_box(&buffer);
        Ok(())
    }

    impl Delivery for Heavy {
        fn message(&self) -> &Message {
            &self.0
        }
        async fn ack(self) -> Result<(), Error> {
            heavy_settlement().await
        }
        async fn retry(self) -> Result<(), Error> {
            heavy_settlement().await
        }
        async fn reject(self) -> Result<(), Error> {
            heavy_settlement().await
        }
        async fn hand_back(self) -> Result<(), Error> {
            heavy_settlement().await
        }
    }

    /// Each message's task is moved when it is spawned: a source's large settlement is
    /// boxed, not part of it.
    #[tokio::test]
    async fn a_large_settlement_is_not_part_of_each_messages_task() {
        let ctl = controller::new_scoped();
        let handler = |_: Message| async { Ok::<(), std::convert::Infallible>(()) };
        let run = Run::new(Shared {
            ctl,
            name: Arc::from("heavy"),
            handlers: 1,
            failure: Failure::default(),
            on_acked: None,
            tally: ctl.consumers.register("heavy"),
            handler,
        });
        let slots = Slots::new(1);
        let slot = Arc::clone(&slots.running).acquire_owned().await.unwrap();
        let task = run.clone().handle(
            Heavy(Message::new("1", &b"x"[..], 1)),
            slot,
            Arc::clone(&slots.settling),
        );
        let size = std::mem::size_of_val(&task);
        assert!(size < 2048, "a message's task is {size} bytes");
        // And the boxed settlement runs: the message is acknowledged.
        controller::scope(ctl, task).await;
        assert_eq!(run.tally.snapshot().done, 1);
    }
}
