//! The consumer runner (`graceful::consume::Consumer`) over an in-memory source that
//! records every call the runner makes, on tokio's paused clock: when intake stops, what
//! is handed back and when, the failure policy, panics, the order of the settlements and
//! the close, the counts in the report and its JSON.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful::consume::{Acked, Consumer, Delivery, Error, Failure, Message, Source};
use graceful::testing::{Harness, Running};
use graceful::{ConsumerCounts, Signal};
use tokio::sync::Notify;
use tokio::time::{sleep, Instant};

/// What the runner did to the source, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Next(u32),
    Ack(u32),
    Retry(u32),
    Reject(u32),
    HandBack(u32),
    Stop,
    Close,
}

/// The queue the in-memory source serves, and the record of every call.
struct Broker {
    /// Each message's id and the attempt its next delivery is.
    queue: Mutex<VecDeque<(u32, u32)>>,
    arrived: Notify,
    calls: Mutex<Vec<(Duration, Call)>>,
    start: Instant,
    /// How many `next` calls fail before the first succeeds.
    next_errors: AtomicUsize,
    /// Acks fail for these ids.
    ack_fails_for: Mutex<Vec<u32>>,
    /// The close fails.
    close_fails: std::sync::atomic::AtomicBool,
    /// Hand-backs fail.
    hand_back_fails: std::sync::atomic::AtomicBool,
    /// How long an acknowledgement takes.
    ack_takes: Mutex<Duration>,
    /// How `ack_then` reports.
    reply: Mutex<Reply>,
    /// Acknowledgements sent, whose outcome `confirm_all` reports (`Reply::Later`).
    unconfirmed: Mutex<Vec<(u32, Acked)>>,
}

/// How the source reports an acknowledgement's outcome to the runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// As `ack` returns it, in the message's task (the trait's default).
    Returned,
    /// Later, from whichever task calls `Broker::confirm_all`: one reply for all.
    Later,
    /// Never: the source drops it.
    Dropped,
}

impl Broker {
    fn with(messages: u32) -> Arc<Broker> {
        Arc::new(Broker {
            queue: Mutex::new((1..=messages).map(|id| (id, 1)).collect()),
            arrived: Notify::new(),
            calls: Mutex::new(Vec::new()),
            start: Instant::now(),
            next_errors: AtomicUsize::new(0),
            ack_fails_for: Mutex::new(Vec::new()),
            close_fails: std::sync::atomic::AtomicBool::new(false),
            hand_back_fails: std::sync::atomic::AtomicBool::new(false),
            ack_takes: Mutex::new(Duration::from_millis(5)),
            reply: Mutex::new(Reply::Returned),
            unconfirmed: Mutex::new(Vec::new()),
        })
    }

    /// The broker's one reply to every acknowledgement sent so far (`Reply::Later`).
    fn confirm_all(&self) -> usize {
        let confirmed = std::mem::take(&mut *self.unconfirmed.lock().unwrap());
        let n = confirmed.len();
        for (id, acked) in confirmed {
            self.record(Call::Ack(id));
            acked.report(Ok(()));
        }
        n
    }

    fn record(&self, call: Call) {
        self.calls
            .lock()
            .unwrap()
            .push((self.start.elapsed(), call));
    }

    fn calls(&self) -> Vec<(Duration, Call)> {
        self.calls.lock().unwrap().clone()
    }

    fn put_back(&self, id: u32, attempt: u32) {
        self.queue.lock().unwrap().push_back((id, attempt));
        self.arrived.notify_one();
    }

    fn pending(&self) -> Vec<(u32, u32)> {
        self.queue.lock().unwrap().iter().copied().collect()
    }

    /// The source over this broker, prefetching up to `prefetch` messages.
    fn source(self: &Arc<Self>, prefetch: usize) -> Mem {
        Mem {
            broker: Arc::clone(self),
            prefetch,
            buffer: VecDeque::new(),
        }
    }

    /// Every delivery settled exactly once, before the close, which comes once and last,
    /// after the one stop.
    fn check_settled_once(&self) {
        let calls = self.calls();
        let (_, last) = calls.last().expect("calls");
        assert_eq!(last, &Call::Close, "the close comes last: {calls:?}");
        assert_eq!(calls.iter().filter(|(_, c)| *c == Call::Close).count(), 1);
        assert_eq!(calls.iter().filter(|(_, c)| *c == Call::Stop).count(), 1);
        let mut held: Vec<u32> = Vec::new();
        for (_, call) in &calls {
            match call {
                Call::Next(id) => {
                    assert!(
                        !held.contains(id),
                        "{id} delivered twice at once: {calls:?}"
                    );
                    held.push(*id);
                }
                Call::Ack(id) | Call::Retry(id) | Call::Reject(id) | Call::HandBack(id) => {
                    let at = held
                        .iter()
                        .position(|h| h == id)
                        .unwrap_or_else(|| panic!("{id} settled but not held: {calls:?}"));
                    held.remove(at);
                }
                Call::Stop | Call::Close => {}
            }
        }
        assert!(held.is_empty(), "never settled: {held:?} in {calls:?}");
    }
}

/// A source that takes messages off the broker `prefetch` at a time, as AMQP's prefetch
/// does: what it took and has not given out is returned by `stop`.
struct Mem {
    broker: Arc<Broker>,
    prefetch: usize,
    buffer: VecDeque<MemDelivery>,
}

impl Mem {
    fn fill(&mut self) {
        let mut queue = self.broker.queue.lock().unwrap();
        while self.buffer.len() < self.prefetch.max(1) {
            let Some((id, attempt)) = queue.pop_front() else {
                break;
            };
            self.broker.record(Call::Next(id));
            self.buffer.push_back(MemDelivery {
                broker: Arc::clone(&self.broker),
                message: Message::new(
                    id.to_string(),
                    format!("message {id}").into_bytes(),
                    attempt,
                ),
                id,
            });
        }
    }
}

impl Source for Mem {
    type Delivery = MemDelivery;

    async fn next(&mut self) -> Result<MemDelivery, Error> {
        if self
            .broker
            .next_errors
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::new(
                "cannot fetch",
                std::io::Error::other("broker down"),
            ));
        }
        loop {
            // Registered before the check, so an arrival in between is not missed.
            let broker = Arc::clone(&self.broker);
            let arrived = broker.arrived.notified();
            self.fill();
            if let Some(delivery) = self.buffer.pop_front() {
                return Ok(delivery);
            }
            arrived.await;
        }
    }

    async fn stop(&mut self) -> Result<Vec<MemDelivery>, Error> {
        self.broker.record(Call::Stop);
        Ok(self.buffer.drain(..).collect())
    }

    async fn close(self) -> Result<(), Error> {
        self.broker.record(Call::Close);
        if self.broker.close_fails.load(Ordering::SeqCst) {
            return Err(Error::new(
                "cannot close",
                std::io::Error::other("broken pipe"),
            ));
        }
        Ok(())
    }
}

struct MemDelivery {
    broker: Arc<Broker>,
    message: Message,
    id: u32,
}

impl Delivery for MemDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn ack(self) -> Result<(), Error> {
        // A settlement takes a moment on a real broker.
        let takes = *self.broker.ack_takes.lock().unwrap();
        sleep(takes).await;
        if self.broker.ack_fails_for.lock().unwrap().contains(&self.id) {
            return Err(Error::new(
                "cannot ack",
                std::io::Error::other("connection reset"),
            ));
        }
        self.broker.record(Call::Ack(self.id));
        Ok(())
    }

    async fn ack_then(self, acked: Acked) {
        let reply = *self.broker.reply.lock().unwrap();
        match reply {
            Reply::Returned => acked.report(self.ack().await),
            Reply::Later => {
                let broker = Arc::clone(&self.broker);
                broker.unconfirmed.lock().unwrap().push((self.id, acked));
            }
            Reply::Dropped => drop(acked),
        }
    }

    async fn retry(self) -> Result<(), Error> {
        self.broker.record(Call::Retry(self.id));
        self.broker.put_back(self.id, self.message.attempt() + 1);
        Ok(())
    }

    async fn reject(self) -> Result<(), Error> {
        self.broker.record(Call::Reject(self.id));
        Ok(())
    }

    async fn hand_back(self) -> Result<(), Error> {
        sleep(Duration::from_millis(5)).await;
        if self.broker.hand_back_fails.load(Ordering::SeqCst) {
            return Err(Error::new(
                "cannot hand back",
                std::io::Error::other("connection reset"),
            ));
        }
        self.broker.record(Call::HandBack(self.id));
        self.broker.put_back(self.id, self.message.attempt());
        Ok(())
    }
}

fn id(msg: &Message) -> u32 {
    msg.id().parse().unwrap()
}

fn counts_of(report: &graceful::Report, name: &str) -> ConsumerCounts {
    report
        .consumer(name)
        .unwrap_or_else(|| panic!("no consumer {name} in {:?}", report.consumers()))
        .counts()
}

fn times_of(calls: &[(Duration, Call)], what: impl Fn(&Call) -> bool) -> Vec<Duration> {
    calls
        .iter()
        .filter(|(_, c)| what(c))
        .map(|(at, _)| *at)
        .collect()
}

/// `harness` running, as its body, one consumer `name` of `handlers` over `source` with
/// `handler`, until the shutdown: the program most tests here stop.
fn consuming<S, H, Fut>(
    harness: Harness,
    name: &str,
    source: S,
    handlers: usize,
    handler: H,
) -> Running
where
    S: Source,
    H: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let consumer = Consumer::new(name, source).handlers(handlers);
    harness
        .without_registered_hooks()
        .start(async move { consumer.start(handler).finished().await.map(|_| ()) })
}

#[tokio::test(start_paused = true)]
async fn intake_goes_on_through_the_drain_delay_and_stops_at_its_end() {
    let broker = Broker::with(1000);
    let source = broker.source(1);
    let started = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&started);
    let t0 = Instant::now();
    let running = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(10))
        .drain_delay(Duration::from_secs(1))
        .start(async move {
            let consumer = Consumer::new("orders", source)
                .handlers(4)
                .start(move |msg| {
                    let seen = Arc::clone(&seen);
                    async move {
                        seen.lock().unwrap().push((t0.elapsed(), id(&msg)));
                        sleep(Duration::from_millis(300)).await;
                        Ok::<(), String>(())
                    }
                });
            graceful::shutdown_requested().await;
            consumer.finished().await.map(|_| ())
        });
    sleep(Duration::from_millis(1500)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;

    let started = started.lock().unwrap().clone();
    let signal = Duration::from_millis(1500);
    let intake_end = signal + Duration::from_secs(1);
    assert!(
        started.iter().any(|(at, _)| *at > signal),
        "intake goes on during the drain delay: {started:?}"
    );
    assert!(
        started.iter().all(|(at, _)| *at < intake_end),
        "nothing starts once intake stopped: {started:?}"
    );
    let counts = counts_of(&report, "orders");
    assert_eq!(counts.taken, started.len() as u64);
    assert_eq!(
        counts.done, counts.taken,
        "what was started is finished: {counts:?}"
    );
    assert_eq!(report.exit_code(), 0);
    broker.check_settled_once();
    // Every message not done is still on the queue: nothing lost.
    assert_eq!(broker.pending().len() as u64 + counts.done, 1000);
}

#[tokio::test(start_paused = true)]
async fn buffered_deliveries_are_handed_back_at_once_not_at_the_deadline() {
    let broker = Broker::with(10);
    let source = broker.source(4);
    let harness = Harness::new()
        .deadline(Duration::from_secs(30))
        .drain_delay(Duration::from_secs(1));
    let running = consuming(harness, "slow", source, 1, |_msg| async {
        sleep(Duration::from_secs(5)).await;
        Ok(())
    });
    sleep(Duration::from_millis(100)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;

    let calls = broker.calls();
    let stop = times_of(&calls, |c| *c == Call::Stop);
    assert_eq!(stop, [Duration::from_millis(1100)], "{calls:?}");
    // One handler took message 1; the source had taken 2, 3, 4 with it.
    let handed_back = times_of(&calls, |c| matches!(c, Call::HandBack(_)));
    assert_eq!(handed_back.len(), 3, "{calls:?}");
    assert!(
        handed_back
            .iter()
            .all(|at| *at < Duration::from_millis(1200)),
        "handed back at intake's end, not at the deadline: {calls:?}"
    );
    // The handler under way finished after that, and its ack came before the close.
    let ack = times_of(&calls, |c| *c == Call::Ack(1));
    assert_eq!(ack.len(), 1, "{calls:?}");
    assert!(ack[0] >= Duration::from_secs(5));
    let counts = counts_of(&report, "slow");
    assert_eq!(
        (counts.taken, counts.done, counts.handed_back_unstarted),
        (1, 1, 3)
    );
    assert_eq!(report.exit_code(), 0);
    broker.check_settled_once();
    // Back on the queue, not counted as an attempt.
    let mut pending = broker.pending();
    pending.sort();
    assert_eq!(pending.len(), 9);
    assert!(
        pending.iter().all(|(_, attempt)| *attempt == 1),
        "{pending:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_longer_than_the_deadline_is_cut_and_handed_back() {
    let broker = Broker::with(3);
    let source = broker.source(1);
    let harness = Harness::new().deadline(Duration::from_secs(10));
    let running = consuming(harness, "stuck", source, 3, |_msg| async {
        sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    sleep(Duration::from_millis(10)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;

    let calls = broker.calls();
    let handed_back = times_of(&calls, |c| matches!(c, Call::HandBack(_)));
    assert_eq!(handed_back.len(), 3, "{calls:?}");
    // The hard stop: a second before a 10 s deadline that started at 10 ms.
    assert!(
        handed_back
            .iter()
            .all(|at| *at >= Duration::from_millis(9010) && *at < Duration::from_millis(9100)),
        "{calls:?}"
    );
    let counts = counts_of(&report, "stuck");
    assert_eq!(
        (counts.taken, counts.handed_back_cut, counts.done),
        (3, 3, 0)
    );
    assert_eq!(report.cut_at_hard_stop(), 3);
    assert_eq!(report.exit_code(), 124);
    assert!(report.tasks_still_running().is_empty());
    broker.check_settled_once();
    let mut pending = broker.pending();
    pending.sort();
    assert_eq!(
        pending,
        [(1, 1), (2, 1), (3, 1)],
        "back at once, same attempt"
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_retries_the_message_up_to_the_maximum_then_rejects_it() {
    let broker = Broker::with(1);
    let source = broker.source(1);
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&attempts);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("flaky", source)
                .on_failure(Failure::retry(3))
                .start(move |msg| {
                    seen.lock().unwrap().push(msg.attempt());
                    async move { Err::<(), _>(format!("cannot process {}", msg.id())) }
                });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;

    assert_eq!(*attempts.lock().unwrap(), [1, 2, 3]);
    let calls: Vec<Call> = broker.calls().into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        calls,
        [
            Call::Next(1),
            Call::Retry(1),
            Call::Next(1),
            Call::Retry(1),
            Call::Next(1),
            Call::Reject(1),
            Call::Stop,
            Call::Close
        ]
    );
    let counts = counts_of(&report, "flaky");
    assert_eq!(
        (
            counts.taken,
            counts.failed,
            counts.retried,
            counts.rejected,
            counts.done
        ),
        (3, 3, 2, 1, 0)
    );
    // A failed message is the message's fault, not the shutdown's.
    assert_eq!(report.exit_code(), 0);
    assert!(broker.pending().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_runs_a_message_five_times() {
    assert_eq!(Failure::default(), Failure::retry(5));
    assert_eq!(Failure::default().max_attempts(), 5);
    assert_eq!(Failure::reject().max_attempts(), 1);
    assert_eq!(Failure::retry(0).max_attempts(), 1);

    let broker = Broker::with(1);
    let source = broker.source(1);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("default", source).start(|_| async { Err::<(), _>("no") });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let counts = counts_of(&report, "default");
    assert_eq!((counts.taken, counts.retried, counts.rejected), (5, 4, 1));
}

/// Runs `messages` messages through one handler, `handler`, that panics on message 2,
/// failures rejected at once; checks that the panic was one failed message, rejected, and
/// that the consumer went on and the program stopped cleanly.
async fn one_panic_rejected<H, Fut>(name: &str, messages: u32, handler: H)
where
    H: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let broker = Broker::with(messages);
    let source = broker.source(1);
    let consumer = Consumer::new(name, source)
        .handlers(1)
        .on_failure(Failure::reject());
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = consumer.start(handler);
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;

    let counts = counts_of(&report, name);
    assert_eq!(
        (
            counts.taken,
            counts.done,
            counts.failed,
            counts.panicked,
            counts.rejected
        ),
        (u64::from(messages), u64::from(messages) - 1, 1, 1, 1),
        "{counts:?}"
    );
    let calls: Vec<Call> = broker.calls().into_iter().map(|(_, c)| c).collect();
    assert!(calls.contains(&Call::Reject(2)), "{calls:?}");
    assert!(calls.contains(&Call::Ack(messages)), "{calls:?}");
    // Not a task panic: the program stops cleanly.
    assert!(report.tasks_panicked().is_empty());
    assert_eq!(report.exit_code(), 0);
    broker.check_settled_once();
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_a_failed_message_and_the_consumer_goes_on() {
    one_panic_rejected("brave", 5, |msg| async move {
        if id(&msg) == 2 {
            panic!("message 2 is poison");
        }
        Ok::<(), String>(())
    })
    .await;
}

/// A handler whose own code panics before it gives its future (a parse that unwraps
/// before its `async` block) fails its message like a panic within the future.
#[tokio::test(start_paused = true)]
async fn a_panic_before_the_handlers_future_is_a_failed_message_too() {
    one_panic_rejected("hasty", 3, |msg| {
        assert_ne!(id(&msg), 2, "message 2 is malformed");
        async move { Ok::<(), String>(()) }
    })
    .await;
}

/// What `ConsumerCounts` says of its sum holds when the hand-back of a delivery never
/// started fails: that one is a failed settlement, not a hand-back.
#[tokio::test(start_paused = true)]
async fn the_counts_add_up_when_an_unstarted_hand_back_fails() {
    let broker = Broker::with(5);
    broker.hand_back_fails.store(true, Ordering::SeqCst);
    // Prefetch 4, one handler held busy: three are taken off the broker and never started.
    let source = broker.source(4);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("sum", source).handlers(1).start(|_| async {
                sleep(Duration::from_millis(500)).await;
                Ok::<(), String>(())
            });
            sleep(Duration::from_millis(100)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;

    let c = counts_of(&report, "sum");
    let never_started = 3;
    assert_eq!((c.taken, c.done), (1, 1), "{c:?}");
    assert_eq!((c.handed_back_unstarted, c.settle_failed), (0, 3), "{c:?}");
    let ends = c.done
        + c.retried
        + c.rejected
        + c.handed_back_unstarted
        + c.handed_back_cut
        + c.settle_failed;
    assert_eq!(ends, c.taken + never_started, "{c:?}");
}

#[tokio::test(start_paused = true)]
async fn the_source_closes_only_after_the_last_settlement_returned() {
    let broker = Broker::with(6);
    let source = broker.source(2);
    let harness = Harness::new().deadline(Duration::from_secs(10));
    let running = consuming(harness, "c", source, 3, |msg| async move {
        // Different lengths: the last to finish is not the last to start.
        sleep(Duration::from_millis(200 * u64::from(id(&msg) % 3 + 1))).await;
        Ok(())
    });
    sleep(Duration::from_millis(50)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let calls = broker.calls();
    let close = times_of(&calls, |c| *c == Call::Close)[0];
    let last_ack = *times_of(&calls, |c| matches!(c, Call::Ack(_)))
        .iter()
        .max()
        .unwrap();
    assert!(close >= last_ack, "{calls:?}");
    assert!(close >= Duration::from_millis(600), "{calls:?}");
    broker.check_settled_once();
    assert_eq!(counts_of(&report, "c").done, 3);
}

#[tokio::test(start_paused = true)]
async fn a_handler_is_free_while_its_acknowledgement_is_under_way_up_to_four_at_once() {
    let broker = Broker::with(8);
    *broker.ack_takes.lock().unwrap() = Duration::from_secs(1);
    let source = broker.source(1);
    let started = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&started);
    let start = Instant::now();
    let harness = Harness::new().deadline(Duration::from_secs(30));
    let running = consuming(harness, "c", source, 1, move |msg| {
        seen.lock().unwrap().push((id(&msg), start.elapsed()));
        async move {
            sleep(Duration::from_millis(10)).await;
            Ok(())
        }
    });
    sleep(Duration::from_secs(5)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let started = started.lock().unwrap().clone();
    // One handler, and an acknowledgement of a second: the next message starts as the
    // handler ends, not as the acknowledgement returns. Four acknowledgements wait at
    // once; the fifth handler keeps its slot until one returns.
    let at = |n: usize| started[n].1;
    for n in 1..5 {
        assert_eq!(
            at(n) - at(n - 1),
            Duration::from_millis(10),
            "message {} started as the one before ended: {started:?}",
            n + 1
        );
    }
    assert!(
        at(5) >= at(0) + Duration::from_secs(1),
        "the sixth waited for the first acknowledgement: {started:?}"
    );
    assert!(at(5) < at(0) + Duration::from_millis(1100), "{started:?}");
    broker.check_settled_once();
    assert_eq!(counts_of(&report, "c").done, 8);
}

#[tokio::test(start_paused = true)]
async fn what_the_hard_stop_cuts_is_handed_back_at_once_even_behind_slow_acknowledgements() {
    let broker = Broker::with(5);
    *broker.ack_takes.lock().unwrap() = Duration::from_secs(20);
    let source = broker.source(1);
    let harness = Harness::new().deadline(Duration::from_secs(2));
    let running = consuming(harness, "c", source, 1, |msg| async move {
        // Four quick ones, whose acknowledgements take every settlement's place, then
        // one longer than the deadline.
        let work = if id(&msg) == 5 { 600 } else { 0 };
        sleep(Duration::from_millis(10) + Duration::from_secs(work)).await;
        Ok(())
    });
    sleep(Duration::from_millis(100)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    let calls = broker.calls();
    let handed_back = times_of(&calls, |c| *c == Call::HandBack(5));
    assert_eq!(handed_back.len(), 1, "{calls:?}");
    assert!(
        handed_back[0] < Duration::from_millis(100) + Duration::from_secs(2),
        "handed back before the deadline, not after the acknowledgements: {calls:?}"
    );
    assert_eq!(counts_of(&report, "c").handed_back_cut, 1);
}

#[tokio::test(start_paused = true)]
async fn a_handler_count_beyond_what_a_semaphore_holds_runs_and_stops_without_a_panic() {
    let broker = Broker::with(3);
    let source = broker.source(1);
    let running = consuming(Harness::new(), "c", source, usize::MAX, |_| async {
        Ok(())
    });
    sleep(Duration::from_millis(100)).await;
    running.signal(Signal::Terminate);
    let report = running.report().await;
    broker.check_settled_once();
    assert_eq!(counts_of(&report, "c").done, 3);
}

#[tokio::test(start_paused = true)]
async fn errors_of_next_are_retried_after_a_growing_pause() {
    let broker = Broker::with(2);
    broker.next_errors.store(3, Ordering::SeqCst);
    let source = broker.source(1);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer =
                Consumer::new("patient", source).start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_secs(2)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let calls = broker.calls();
    // Three failures: pauses of 100, 200 and 400 ms before the fourth call.
    let first = times_of(&calls, |c| matches!(c, Call::Next(_)))[0];
    assert_eq!(first, Duration::from_millis(700), "{calls:?}");
    assert_eq!(counts_of(&report, "patient").done, 2);
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_ack_is_counted_and_on_acked_is_not_called() {
    let broker = Broker::with(3);
    broker.ack_fails_for.lock().unwrap().push(2);
    let source = broker.source(1);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&acked);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("acks", source)
                .on_acked(move |msg| seen.lock().unwrap().push(id(msg)))
                .start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let mut acked = acked.lock().unwrap().clone();
    acked.sort();
    assert_eq!(acked, [1, 3]);
    let counts = counts_of(&report, "acks");
    assert_eq!((counts.taken, counts.done, counts.settle_failed), (3, 2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_waits_for_ready_takes_nothing_before_it() {
    let broker = Broker::with(3);
    let source = broker.source(1);
    let (before, after) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (b, a) = (Arc::clone(&before), Arc::clone(&after));
    let taken = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&taken);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("candidate", source)
                .after_ready(true)
                .start(move |_| {
                    t.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<(), String>(()) }
                });
            sleep(Duration::from_secs(5)).await;
            b.store(taken.load(Ordering::SeqCst), Ordering::SeqCst);
            graceful::ready();
            sleep(Duration::from_secs(1)).await;
            a.store(taken.load(Ordering::SeqCst), Ordering::SeqCst);
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    assert_eq!(before.load(Ordering::SeqCst), 0);
    assert_eq!(after.load(Ordering::SeqCst), 3);
    assert_eq!(counts_of(&report, "candidate").done, 3);
}

#[tokio::test(start_paused = true)]
async fn a_candidate_never_ready_takes_nothing_and_still_stops_and_closes() {
    let broker = Broker::with(3);
    let source = broker.source(1);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("rolled back", source)
                .after_ready(true)
                .start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_secs(5)).await;
            graceful::request_shutdown("rolled back");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let calls: Vec<Call> = broker.calls().into_iter().map(|(_, c)| c).collect();
    assert_eq!(calls, [Call::Stop, Call::Close]);
    assert_eq!(counts_of(&report, "rolled back"), ConsumerCounts::default());
    assert_eq!(broker.pending().len(), 3);
}

/// A new process rolled back by its upgrade's timeout gets `SIGTERM` and may still call
/// `ready()` during its drain delay: it is not the one that serves, and takes nothing.
#[tokio::test(start_paused = true)]
async fn a_candidate_ready_only_once_the_shutdown_started_takes_nothing() {
    let broker = Broker::with(3);
    let source = broker.source(1);
    let report = Harness::new()
        .without_registered_hooks()
        .drain_delay(Duration::from_secs(2))
        .run(async move {
            let consumer = Consumer::new("late", source)
                .after_ready(true)
                .start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("rolled back");
            sleep(Duration::from_millis(500)).await;
            graceful::ready(); // within the drain delay
            consumer.finished().await.map(|_| ())
        })
        .await;
    let calls: Vec<Call> = broker.calls().into_iter().map(|(_, c)| c).collect();
    assert_eq!(calls, [Call::Stop, Call::Close]);
    assert_eq!(counts_of(&report, "late"), ConsumerCounts::default());
    assert_eq!(broker.pending().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_counts_are_in_the_report_its_json_and_finished() {
    let broker = Broker::with(4);
    let source = broker.source(1);
    let finished = Arc::new(Mutex::new(None));
    let out = Arc::clone(&finished);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("json \"orders\"", source)
                .on_failure(Failure::reject())
                .start(|msg| async move {
                    if id(&msg) == 4 {
                        return Err("bad");
                    }
                    Ok(())
                });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            *out.lock().unwrap() = Some(consumer.finished().await.unwrap());
        })
        .await;
    let counts = counts_of(&report, "json \"orders\"");
    assert_eq!(finished.lock().unwrap().unwrap(), counts);
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        v["consumers"],
        serde_json::json!([{
            "name": "json \"orders\"", "taken": 4, "done": 3, "failed": 1, "panicked": 0,
            "retried": 0, "rejected": 1, "handed_back_unstarted": 0, "handed_back_cut": 0,
            "settle_failed": 0
        }])
    );
    assert_eq!(
        counts.to_string(),
        "taken 4, done 3, failed 1 (retried 0, rejected 1), handed back 0 unstarted and 0 cut"
    );
}

#[tokio::test(start_paused = true)]
async fn a_close_that_fails_is_the_error_of_finished_and_the_counts_stay_in_the_report() {
    let broker = Broker::with(2);
    broker.close_fails.store(true, Ordering::SeqCst);
    let source = broker.source(1);
    let error = Arc::new(Mutex::new(None));
    let out = Arc::clone(&error);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer =
                Consumer::new("closing", source).start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            *out.lock().unwrap() = consumer.finished().await.err().map(|e| {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                (e.to_string(), cause)
            });
        })
        .await;
    assert_eq!(
        *error.lock().unwrap(),
        Some(("cannot close".to_owned(), Some("broken pipe".to_owned())))
    );
    assert_eq!(counts_of(&report, "closing").done, 2);
}

/// The broker's replier: every 300 ms, one reply to every acknowledgement sent.
fn replying(broker: &Arc<Broker>) -> tokio::task::JoinHandle<()> {
    let broker = Arc::clone(broker);
    *broker.reply.lock().unwrap() = Reply::Later;
    tokio::spawn(async move {
        loop {
            sleep(Duration::from_millis(300)).await;
            broker.confirm_all();
        }
    })
}

/// A consumer `name` of `handlers` over `broker`, each handler done at once, `on_acked`
/// for each acknowledgement, the shutdown requested at 100 ms; its report.
async fn acking(
    broker: &Arc<Broker>,
    name: &'static str,
    handlers: usize,
    on_acked: impl Fn(&Message) + Send + Sync + 'static,
) -> graceful::Report {
    let source = broker.source(1);
    Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(10))
        .run(async move {
            let consumer = Consumer::new(name, source)
                .handlers(handlers)
                .on_acked(on_acked)
                .start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_millis(100)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await
}

#[tokio::test(start_paused = true)]
async fn acknowledgements_reported_later_by_the_source_are_done_and_the_close_waits_for_them() {
    let broker = Broker::with(5);
    let replier = replying(&broker);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&acked);
    let report = acking(&broker, "later", 2, move |msg| {
        seen.lock().unwrap().push(id(msg));
    })
    .await;
    replier.abort();
    let calls = broker.calls();
    // Two handlers took all five before the first reply: a handler is free once its
    // acknowledgement is sent, not once the broker confirmed it.
    let taken = times_of(&calls, |c| matches!(c, Call::Next(_)));
    assert_eq!(taken.len(), 5, "{calls:?}");
    assert!(
        taken.iter().all(|at| *at < Duration::from_millis(300)),
        "{calls:?}"
    );
    // Counted done, and on_acked called, only as the replies came; the close after them.
    let mut acked = acked.lock().unwrap().clone();
    acked.sort();
    assert_eq!(acked, [1, 2, 3, 4, 5]);
    let close = times_of(&calls, |c| *c == Call::Close)[0];
    assert!(close >= Duration::from_millis(300), "{calls:?}");
    broker.check_settled_once();
    let counts = counts_of(&report, "later");
    assert_eq!((counts.taken, counts.done, counts.settle_failed), (5, 5, 0));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_acknowledgement_the_source_drops_unreported_is_a_failed_settlement_not_a_wait() {
    let broker = Broker::with(3);
    *broker.reply.lock().unwrap() = Reply::Dropped;
    let acked = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&acked);
    let report = acking(&broker, "dropped", 10, move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    })
    .await;
    assert_eq!(acked.load(Ordering::SeqCst), 0);
    let counts = counts_of(&report, "dropped");
    assert_eq!((counts.taken, counts.done, counts.settle_failed), (3, 0, 3));
    // Ended at once, not at the deadline.
    assert!(
        report.duration() < Duration::from_secs(1),
        "{:?}",
        report.duration()
    );
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_on_acked_where_the_source_reports_stops_neither_the_source_nor_the_rest() {
    let broker = Broker::with(4);
    let replier = replying(&broker);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&acked);
    let report = acking(&broker, "journal", 4, move |msg| {
        assert_ne!(id(msg), 2, "the journal is full");
        seen.lock().unwrap().push(id(msg));
    })
    .await;
    // The replier reported all four in one go, and lives on.
    assert!(
        !replier.is_finished(),
        "the source's task died of on_acked's panic"
    );
    replier.abort();
    let mut acked = acked.lock().unwrap().clone();
    acked.sort();
    assert_eq!(acked, [1, 3, 4]);
    assert_eq!(counts_of(&report, "journal").done, 4);
    assert!(
        report.duration() < Duration::from_secs(1),
        "{:?}",
        report.duration()
    );
    assert_eq!(report.exit_code(), 0);
}
