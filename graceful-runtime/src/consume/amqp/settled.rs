//! What the broker is known to have handled of a channel's settlements.
//!
//! AMQP 0-9-1 answers no `basic.ack`, `basic.nack` or `basic.reject`, but the broker
//! handles a channel's frames in order, so two things prove that it handled the first `k`
//! settlements sent on the channel:
//!
//! - A round trip: a `basic.qos` sent after them, answered `qos-ok`.
//! - A later delivery. The broker sends delivery tag `t` (tags count the channel's
//!   deliveries from 1) only while fewer than `prefetch` of the consumer's deliveries are
//!   unsettled, so it had handled at least `t - prefetch` settlements then. While messages
//!   wait in the queue, each settlement frees a place that the broker fills at once, and
//!   the delivery that fills it proves the settlement handled: no round trip is needed.
//!
//! A settlement waits for a delivery to prove it. An acknowledgement does not even wait:
//! its [`Acked`] is kept with its place and reported where the proof arrives (in the task
//! that reads the deliveries), so that no task is woken for each message. One that no
//! delivery proved once it has waited a whole [`TICK`] of the channel's watchdog (a task
//! that ticks only while settlements wait: one task and one timer per channel) is released
//! to a round trip, made or shared. Once the consumer is cancelled no delivery will come,
//! and every settlement makes its round trip at once.
//!
//! A settlement's place among the channel's settlements is not known exactly (another
//! task's frame may go out between two counts), so it is bounded from above: frames are
//! counted as they begin, and the count read after the settlement's own frame went out is
//! at least its place. Should the broker ever send more than `prefetch` unsettled
//! deliveries, which would break the reasoning, deliveries prove nothing more on this
//! channel and every settlement makes its round trip.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;

use crate::consume::{Acked, Error};

/// The watchdog's period: a settlement no delivery proved makes its round trip after one
/// to two ticks (far more than a delivery takes while messages wait, little beside a
/// handler's work).
pub(super) const TICK: Duration = Duration::from_millis(1);

/// How many ticks with nothing waiting the watchdog makes before it sleeps on the bell:
/// while acknowledgements follow each other closely it does not sleep, so that the next
/// one need not ring it.
const IDLE_TICKS: u32 = 10;

/// A channel with settlements to confirm: what the watchdog needs of it.
pub(super) trait Channel: Send + Sync + 'static {
    fn settled(&self) -> &Settled;

    /// A request the broker answers only after it handled every earlier frame of the
    /// channel; its error names the queue.
    fn round_trip(&self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// A channel's settlements: counted as they are sent, and known handled.
pub(super) struct Settled {
    /// The consumer's prefetch: 0 where there is none (a publisher's channel).
    prefetch: u64,
    /// Settlement frames begun, counted before each is sent.
    begun: AtomicU64,
    /// Settlement frames sent, counted after each was sent: a round trip that reads this
    /// count goes out after every frame it counts.
    sent: AtomicU64,
    /// How many of the channel's first settlements the broker has handled, at least.
    handled: AtomicU64,
    /// Whether deliveries may still prove settlements: the consumer is registered, and
    /// the broker has kept to the prefetch.
    deliveries_prove: AtomicBool,
    /// The watchdog's ticks so far.
    ticks: AtomicU64,
    /// Whether the watchdog sleeps on the bell (the next waiter rings it).
    watchdog_asleep: AtomicBool,
    /// The channel was given up (a round trip went unanswered): no round trip may prove
    /// anything on it any more.
    broken: AtomicBool,
    waiting: Mutex<Waiting>,
    /// Wakes the watchdog when a settlement begins to wait, when settlements are released
    /// to a round trip, and when this is dropped.
    bell: Arc<Notify>,
    /// The `sent` count the last round trip covered; held while a round trip is under way,
    /// so that settlements sent meanwhile share the next one.
    synced: tokio::sync::Mutex<u64>,
}

#[derive(Default)]
struct Waiting {
    /// Settlements waiting for `handled` to reach their place.
    waiters: Vec<Waiter>,
    /// Acknowledgements no delivery will prove, for the watchdog's next round trip.
    released: Vec<Acked>,
}

struct Waiter {
    place: u64,
    /// The tick it began to wait in.
    since: u64,
    then: Then,
}

/// What a waiting settlement does once it is proved or released.
enum Then {
    /// Its task is woken: it returns, or makes its round trip.
    Wake(Waker),
    /// Its outcome is reported: `Ok`, or the watchdog's round trip decides.
    Report(Acked),
}

/// A settlement whose frame was sent: what proves that the broker handled it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent {
    /// Its rank in the `sent` count.
    rank: u64,
    /// At least its place among the channel's settlement frames.
    place: u64,
}

impl Settled {
    /// A channel's settlements; [`watch`] starts its watchdog once the channel is shared.
    pub(super) fn new(prefetch: u16) -> Settled {
        Settled {
            prefetch: u64::from(prefetch),
            begun: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            deliveries_prove: AtomicBool::new(prefetch > 0),
            ticks: AtomicU64::new(0),
            watchdog_asleep: AtomicBool::new(true),
            broken: AtomicBool::new(false),
            waiting: Mutex::new(Waiting::default()),
            bell: Arc::new(Notify::new()),
            synced: tokio::sync::Mutex::new(0),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one settlement frame with `send`, counting it.
    pub(super) async fn send<E>(
        &self,
        send: impl Future<Output = Result<(), E>>,
    ) -> Result<Sent, E> {
        self.begun.fetch_add(1, Ordering::AcqRel);
        send.await?;
        let rank = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        // Every frame sent before this one began before this one was sent.
        let place = self.begun.load(Ordering::Acquire);
        Ok(Sent { rank, place })
    }

    /// Delivery `tag` arrived: the broker had handled at least `tag - prefetch`
    /// settlements when it sent it. Returns `false` when the delivery shows that the broker
    /// did not keep to the prefetch (deliveries prove nothing more, from then on).
    pub(super) fn delivered(&self, tag: u64) -> bool {
        if !self.deliveries_prove.load(Ordering::Acquire) {
            return true;
        }
        // Settlements begun bound those handled from above: more unsettled deliveries than
        // the prefetch means the broker sent one beyond it.
        let begun = self.begun.load(Ordering::Acquire);
        if tag.saturating_sub(begun) > self.prefetch {
            self.no_more_deliveries();
            return false;
        }
        self.raise(tag.saturating_sub(self.prefetch));
        true
    }

    /// No delivery will come (the consumer was cancelled, or the channel lost): every
    /// settlement waiting for one makes its round trip now.
    pub(super) fn no_more_deliveries(&self) {
        self.deliveries_prove.store(false, Ordering::Release);
        let wake = {
            let mut waiting = self.waiting();
            let Waiting { waiters, released } = &mut *waiting;
            release(std::mem::take(waiters), released)
        };
        self.bell.notify_one();
        wake.into_iter().for_each(Waker::wake);
    }

    /// Reports `acked` once the broker has handled `sent`: at once if that is known, else
    /// where a later delivery proves it, or after the watchdog's round trip. Returns it
    /// when deliveries prove nothing any more: the caller confirms by a round trip.
    pub(super) fn confirm_then(&self, sent: Sent, acked: Acked) -> Option<Acked> {
        if self.handled.load(Ordering::Acquire) >= sent.place {
            acked.report(Ok(()));
            return None;
        }
        let mut waiting = self.waiting();
        // Read again under the lock that `raise` and `no_more_deliveries` take after their
        // change.
        if !self.deliveries_prove.load(Ordering::Acquire) {
            return Some(acked);
        }
        if self.handled.load(Ordering::Acquire) >= sent.place {
            drop(waiting);
            acked.report(Ok(()));
            return None;
        }
        self.wait(
            &mut waiting,
            Waiter {
                place: sent.place,
                since: self.ticks.load(Ordering::Acquire),
                then: Then::Report(acked),
            },
        );
        None
    }

    /// Returns once the broker has handled `sent`: a later delivery proved it, or else,
    /// after a tick or two, `round_trip`, shared by the settlements sent meanwhile, did.
    pub(super) async fn confirm<F: Future<Output = Result<(), Error>>>(
        &self,
        sent: Sent,
        round_trip: impl FnOnce() -> F,
    ) -> Result<(), Error> {
        if self.proved(sent.place).await {
            return Ok(());
        }
        let mut synced = self.synced.lock().await;
        if *synced >= sent.rank || self.handled.load(Ordering::Acquire) >= sent.place {
            // A round trip that went out after this settlement has come back, or a
            // delivery proved it meanwhile.
            return Ok(());
        }
        self.round_trip(&mut synced, round_trip).await
    }

    /// The channel is given up (a round trip went unanswered, and a late answer could be
    /// taken for the next one's): from now on no round trip is made and no delivery
    /// proves anything; what waits fails.
    pub(super) fn break_off(&self) {
        self.broken.store(true, Ordering::Release);
        self.no_more_deliveries();
    }

    /// Makes a round trip, `synced` held: once it is back, the broker has handled every
    /// settlement sent before it.
    async fn round_trip<F: Future<Output = Result<(), Error>>>(
        &self,
        synced: &mut u64,
        round_trip: impl FnOnce() -> F,
    ) -> Result<(), Error> {
        // Read under `synced`: the round trip that broke the channel set it before it
        // let go.
        if self.broken.load(Ordering::Acquire) {
            return Err(Error::msg(
                "an earlier round trip to the broker went unanswered, and the connection is closed",
            ));
        }
        let upto = self.sent.load(Ordering::Acquire);
        round_trip().await?;
        *synced = upto;
        // The round trip went out after the `upto` frames counted: the first `upto`
        // settlements of the channel were handled, at least.
        self.raise(upto);
        Ok(())
    }

    /// Waits until the broker is known to have handled the first `place` settlements
    /// (`true`), or until the watchdog releases the wait, or deliveries prove nothing
    /// more (`false`).
    fn proved(&self, place: u64) -> impl Future<Output = bool> + '_ {
        let mut since = None;
        std::future::poll_fn(move |cx| {
            if self.handled.load(Ordering::Acquire) >= place {
                return Poll::Ready(true);
            }
            if !self.deliveries_prove.load(Ordering::Acquire) {
                return Poll::Ready(false);
            }
            let mut waiting = self.waiting();
            // Read again under the lock that `raise`, `no_more_deliveries` and the watchdog
            // take after their change: a change after these reads wakes the waker kept below.
            if self.handled.load(Ordering::Acquire) >= place {
                return Poll::Ready(true);
            }
            if !self.deliveries_prove.load(Ordering::Acquire) {
                return Poll::Ready(false);
            }
            let now = self.ticks.load(Ordering::Acquire);
            let since = *since.get_or_insert(now);
            if released(since, now) {
                return Poll::Ready(false);
            }
            let waker = cx.waker();
            let known = waiting.waiters.iter_mut().find(|w| {
                w.place == place
                    && w.since == since
                    && matches!(&w.then, Then::Wake(kept) if kept.will_wake(waker))
            });
            match known {
                Some(waiter) => waiter.then = Then::Wake(waker.clone()),
                None => self.wait(
                    &mut waiting,
                    Waiter {
                        place,
                        since,
                        then: Then::Wake(waker.clone()),
                    },
                ),
            }
            Poll::Pending
        })
    }

    /// Keeps `waiter` until it is proved or released.
    fn wait(&self, waiting: &mut Waiting, waiter: Waiter) {
        waiting.waiters.push(waiter);
        if self.watchdog_asleep.swap(false, Ordering::AcqRel) {
            // It ticks again while anyone waits.
            self.bell.notify_one();
        }
    }

    /// The broker has handled the first `count` settlements, at least: every settlement
    /// waiting for a place within them returns, or is reported done.
    fn raise(&self, count: u64) {
        if self.handled.fetch_max(count, Ordering::AcqRel) >= count {
            return;
        }
        let mut proved = Vec::new();
        {
            let mut waiting = self.waiting();
            let mut i = 0;
            while i < waiting.waiters.len() {
                if waiting.waiters[i].place <= count {
                    proved.push(waiting.waiters.swap_remove(i).then);
                } else {
                    i += 1;
                }
            }
        }
        // Outside the lock: a report runs the consumer's own work.
        for then in proved {
            match then {
                Then::Wake(waker) => waker.wake(),
                Then::Report(acked) => acked.report(Ok(())),
            }
        }
    }

    /// One tick of the watchdog: releases the settlements that have waited since before
    /// the last tick.
    fn tick(&self) {
        let wake = {
            let mut waiting = self.waiting();
            let now = self.ticks.fetch_add(1, Ordering::AcqRel) + 1;
            let mut old = Vec::new();
            let mut i = 0;
            while i < waiting.waiters.len() {
                if released(waiting.waiters[i].since, now) {
                    old.push(waiting.waiters.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            release(old, &mut waiting.released)
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// The acknowledgements released to a round trip since the last call.
    fn take_released(&self) -> Vec<Acked> {
        std::mem::take(&mut self.waiting().released)
    }
}

/// Sorts released waiters: the tasks to wake, returned; the acknowledgements to confirm by
/// a round trip, into `released`.
fn release(waiters: Vec<Waiter>, released: &mut Vec<Acked>) -> Vec<Waker> {
    let mut wake = Vec::new();
    for waiter in waiters {
        match waiter.then {
            Then::Wake(waker) => wake.push(waker),
            Then::Report(acked) => released.push(acked),
        }
    }
    wake
}

/// Whether a settlement waiting since tick `since` has waited a whole tick at `now`.
fn released(since: u64, now: u64) -> bool {
    now >= since + 2
}

impl Drop for Settled {
    fn drop(&mut self) {
        // The channel is gone: what still waits is reported as not known to be handled,
        // and the watchdog, idle or not, ends.
        let waiting = std::mem::take(&mut *self.waiting());
        let unknown = waiting
            .waiters
            .into_iter()
            .filter_map(|w| match w.then {
                Then::Report(acked) => Some(acked),
                Then::Wake(_) => None,
            })
            .chain(waiting.released);
        for acked in unknown {
            acked.report(Err(Error::msg(
                "the channel closed before the broker confirmed the acknowledgement (if it had not handled it, it returns the message to the queue)",
            )));
        }
        self.bell.notify_one();
    }
}

/// Starts the watchdog of `channel`'s settlements: a task that ends once the channel is
/// dropped. Call it within a tokio runtime.
pub(super) fn watch<C: Channel>(channel: &Arc<C>) {
    let settled = channel.settled();
    if settled.prefetch > 0 {
        tokio::spawn(watchdog(Arc::downgrade(channel), Arc::clone(&settled.bell)));
    }
}

/// Ticks while settlements wait, and for [`IDLE_TICKS`] after, then sleeps on the bell;
/// makes the round trip of the acknowledgements released to it.
async fn watchdog<C: Channel>(channel: Weak<C>, bell: Arc<Notify>) {
    let tick = tokio::time::sleep(TICK);
    tokio::pin!(tick);
    // Asleep until the first settlement waits.
    let mut idle_ticks = IDLE_TICKS;
    loop {
        let ticked = if idle_ticks < IDLE_TICKS {
            tokio::select! {
                () = &mut tick => {
                    tick.as_mut().reset(tokio::time::Instant::now() + TICK);
                    true
                }
                () = bell.notified() => false,
            }
        } else {
            bell.notified().await;
            tick.as_mut().reset(tokio::time::Instant::now() + TICK);
            idle_ticks = 0;
            false
        };
        let Some(channel) = channel.upgrade() else {
            return;
        };
        let settled = channel.settled();
        if ticked {
            settled.tick();
        }
        let released = settled.take_released();
        if !released.is_empty() {
            let mut synced = settled.synced.lock().await;
            let outcome = settled
                .round_trip(&mut synced, || channel.round_trip())
                .await;
            drop(synced);
            // Each acknowledgement gets the error's whole chain as its own message.
            let failed = outcome.err().map(|e| crate::trigger::body::chain(&e));
            for acked in released {
                acked.report(match &failed {
                    None => Ok(()),
                    Some(why) => Err(Error::msg(why.clone())),
                });
            }
        }
        if !settled.waiting().waiters.is_empty() {
            idle_ticks = 0;
        } else if ticked {
            idle_ticks += 1;
            if idle_ticks == IDLE_TICKS {
                settled.watchdog_asleep.store(true, Ordering::Release);
                // A waiter that came before the store did not ring: tick on for it.
                if !settled.waiting().waiters.is_empty()
                    && settled.watchdog_asleep.swap(false, Ordering::AcqRel)
                {
                    idle_ticks = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A channel whose round trips count themselves and answer at once (or fail).
    struct Fake {
        settled: Settled,
        trips: AtomicUsize,
        fails: AtomicBool,
    }

    impl Channel for Fake {
        fn settled(&self) -> &Settled {
            &self.settled
        }

        fn round_trip(&self) -> impl Future<Output = Result<(), Error>> + Send {
            self.trips.fetch_add(1, Ordering::SeqCst);
            let fails = self.fails.load(Ordering::SeqCst);
            async move {
                if fails {
                    Err(Error::msg("the channel closed"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A channel of `prefetch`, its watchdog started.
    fn channel(prefetch: u16) -> Arc<Fake> {
        let fake = Arc::new(Fake {
            settled: Settled::new(prefetch),
            trips: AtomicUsize::new(0),
            fails: AtomicBool::new(false),
        });
        watch(&fake);
        fake
    }

    impl Fake {
        async fn sent(&self) -> Sent {
            self.settled
                .send(std::future::ready(Ok::<(), ()>(())))
                .await
                .unwrap()
        }

        fn trips(&self) -> usize {
            self.trips.load(Ordering::SeqCst)
        }

        async fn confirm(&self, sent: Sent) -> Result<(), Error> {
            self.settled.confirm(sent, || self.round_trip()).await
        }

        /// Acknowledges `sent` with `confirm_then`; the outcome lands in the returned slot.
        fn acked(&self, sent: Sent) -> Arc<Mutex<Option<Result<(), String>>>> {
            let slot = Arc::new(Mutex::new(None));
            let out = Arc::clone(&slot);
            let acked = Acked::new(move |outcome| {
                *out.lock().unwrap() = Some(outcome.map_err(|e| e.to_string()));
            });
            assert!(
                self.settled.confirm_then(sent, acked).is_none(),
                "deliveries still prove settlements"
            );
            slot
        }
    }

    fn outcome(slot: &Mutex<Option<Result<(), String>>>) -> Option<Result<(), String>> {
        slot.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_beyond_the_prefetch_proves_a_settlement_without_a_round_trip() {
        let fake = channel(20);
        // Deliveries 1..=20 filled the prefetch; the first settlement frees a place.
        for tag in 1..=20 {
            assert!(fake.settled.delivered(tag));
        }
        let first = fake.sent().await;
        let confirm = {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move { fake.confirm(first).await })
        };
        tokio::time::sleep(Duration::from_micros(300)).await;
        assert!(
            !confirm.is_finished(),
            "confirmed before anything proved it"
        );
        // Delivery 21: the broker had handled one settlement when it sent it.
        assert!(fake.settled.delivered(21));
        confirm.await.unwrap().unwrap();
        assert_eq!(fake.trips(), 0, "a round trip was made");
    }

    #[tokio::test(start_paused = true)]
    async fn an_acknowledgement_is_reported_where_the_delivery_that_proves_it_arrives() {
        let fake = channel(2);
        fake.settled.delivered(1);
        fake.settled.delivered(2);
        let first = fake.sent().await;
        let second = fake.sent().await;
        let (a, b) = (fake.acked(first), fake.acked(second));
        assert_eq!((outcome(&a), outcome(&b)), (None, None));
        // Tag 3 proves the first; no task was woken for it: the report ran right here.
        fake.settled.delivered(3);
        assert_eq!(outcome(&a), Some(Ok(())));
        assert_eq!(outcome(&b), None);
        fake.settled.delivered(4);
        assert_eq!(outcome(&b), Some(Ok(())));
        assert_eq!(fake.trips(), 0);
        // And one sent once its place is known handled is reported at once.
        fake.settled.raise(3);
        let third = Sent { rank: 3, place: 3 };
        assert_eq!(outcome(&fake.acked(third)), Some(Ok(())));
    }

    #[tokio::test(start_paused = true)]
    async fn what_no_delivery_proves_is_confirmed_by_a_round_trip_after_a_tick_or_two() {
        let fake = channel(20);
        for tag in 1..=5 {
            fake.settled.delivered(tag);
        }
        let start = tokio::time::Instant::now();
        let waiting = fake.sent().await;
        let reported = fake.sent().await;
        let slot = fake.acked(reported);
        fake.confirm(waiting).await.unwrap();
        assert!(start.elapsed() >= TICK, "{:?}", start.elapsed());
        // The acknowledgement is reported by the watchdog's round trip, at the same tick.
        tokio::time::sleep(TICK).await;
        assert_eq!(outcome(&slot), Some(Ok(())));
        assert!(start.elapsed() <= 4 * TICK, "{:?}", start.elapsed());
        assert!(
            (1..=2).contains(&fake.trips()),
            "{} round trips",
            fake.trips()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_round_trip_is_each_acknowledgements_error() {
        let fake = channel(20);
        fake.fails.store(true, Ordering::SeqCst);
        let slots: Vec<_> = [fake.sent().await, fake.sent().await]
            .into_iter()
            .map(|sent| fake.acked(sent))
            .collect();
        tokio::time::sleep(4 * TICK).await;
        for slot in &slots {
            assert_eq!(outcome(slot), Some(Err("the channel closed".to_owned())));
        }
        assert_eq!(fake.trips(), 1, "one round trip for both");
    }

    #[tokio::test(start_paused = true)]
    async fn a_settlement_is_placed_after_every_frame_begun_before_it_was_sent() {
        let fake = channel(1);
        // A's frame begins and waits to go out; B's begins and goes out first: B's place is
        // bounded by both, so the broker's handling of one settlement does not prove B.
        let (release_a, a_sends) = tokio::sync::oneshot::channel::<()>();
        let a = {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move {
                fake.settled
                    .send(async {
                        a_sends.await.unwrap();
                        Ok::<(), ()>(())
                    })
                    .await
                    .unwrap()
            })
        };
        tokio::task::yield_now().await;
        let b = fake.sent().await;
        assert_eq!(b.place, 2);
        fake.settled.delivered(1);
        // Tag 2 with a prefetch of 1: one settlement handled. Not enough for B.
        fake.settled.delivered(2);
        let b_slot = fake.acked(b);
        assert_eq!(
            outcome(&b_slot),
            None,
            "B confirmed by one handled settlement"
        );
        release_a.send(()).unwrap();
        let a = a.await.unwrap();
        assert_eq!(a.place, 2);
        // Tag 3: two handled. Both are proved.
        fake.settled.delivered(3);
        assert_eq!(outcome(&b_slot), Some(Ok(())));
        fake.confirm(a).await.unwrap();
        assert_eq!(fake.trips(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn once_the_consumer_is_cancelled_settlements_make_their_round_trip_at_once() {
        let fake = channel(20);
        let waiting = fake.sent().await;
        let slot = fake.acked(fake.sent().await);
        let confirm = {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move { fake.confirm(waiting).await })
        };
        tokio::task::yield_now().await;
        let start = tokio::time::Instant::now();
        fake.settled.no_more_deliveries();
        confirm.await.unwrap().unwrap();
        // The watchdog makes the acknowledgement's round trip as soon as it is told.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(outcome(&slot), Some(Ok(())));
        assert_eq!(start.elapsed(), Duration::ZERO);
        // And a settlement sent after the cancel waits for nothing: `confirm_then` gives
        // it back for a round trip of its own.
        let later = fake.sent().await;
        let acked = Acked::new(|_| {});
        assert!(fake.settled.confirm_then(later, acked).is_some());
        fake.confirm(later).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn settlements_sent_during_a_round_trip_share_the_next_one() {
        let fake = channel(0);
        let (answer, answered) = tokio::sync::oneshot::channel::<()>();
        let first = fake.sent().await;
        // The first round trip is held until told.
        let held = {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move {
                fake.settled
                    .confirm(first, || {
                        fake.trips.fetch_add(1, Ordering::SeqCst);
                        async {
                            answered.await.unwrap();
                            Ok(())
                        }
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let mut later = Vec::new();
        for _ in 0..5 {
            let s = fake.sent().await;
            let fake = Arc::clone(&fake);
            later.push(tokio::spawn(async move { fake.confirm(s).await }));
        }
        tokio::task::yield_now().await;
        answer.send(()).unwrap();
        held.await.unwrap().unwrap();
        for confirm in later {
            confirm.await.unwrap().unwrap();
        }
        // The held one, then one for the five sent while it was under way.
        assert_eq!(fake.trips(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_unanswered_round_trip_no_round_trip_proves_anything() {
        let fake = channel(0);
        let first = fake.sent().await;
        let second = fake.sent().await;
        // The first round trip goes unanswered: the channel is given up within it.
        let failed = fake
            .settled
            .confirm(first, || {
                fake.settled.break_off();
                std::future::ready(Err(Error::msg("no answer within 30s")))
            })
            .await;
        assert_eq!(failed.unwrap_err().to_string(), "no answer within 30s");
        // A late answer could be taken for the next round trip's: none is made.
        let next = fake.confirm(second).await.unwrap_err().to_string();
        assert!(next.contains("went unanswered"), "{next}");
        assert_eq!(fake.trips(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn acknowledgements_waiting_on_a_channel_given_up_fail_and_deliveries_prove_nothing() {
        let fake = channel(20);
        let slot = fake.acked(fake.sent().await);
        fake.settled.break_off();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let reported = outcome(&slot).expect("reported");
        assert!(reported.unwrap_err().contains("went unanswered"));
        assert_eq!(fake.trips(), 0);
        let later = fake.sent().await;
        assert!(fake.settled.delivered(100));
        assert!(fake
            .settled
            .confirm_then(later, Acked::new(|_| {}))
            .is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_broker_beyond_its_prefetch_proves_nothing_more() {
        let fake = channel(2);
        assert!(fake.settled.delivered(1));
        assert!(fake.settled.delivered(2));
        // A third delivery with no settlement begun: beyond the prefetch.
        assert!(!fake.settled.delivered(3));
        let first = fake.sent().await;
        // Tag 4 would prove one handled settlement; it is not believed.
        fake.settled.delivered(4);
        let start = tokio::time::Instant::now();
        fake.confirm(first).await.unwrap();
        assert_eq!(fake.trips(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_acknowledgement_still_waiting_when_the_channel_goes_is_reported_unknown() {
        let fake = channel(20);
        let slot = fake.acked(fake.sent().await);
        drop(fake);
        let reported = outcome(&slot).expect("reported as the channel went");
        assert!(reported
            .unwrap_err()
            .contains("closed before the broker confirmed"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_send_is_its_error_and_counts_as_begun() {
        let fake = channel(20);
        let failed = fake
            .settled
            .send(std::future::ready(Err::<(), _>("lost")))
            .await;
        assert_eq!(failed.err(), Some("lost"));
        // The failed frame was counted as begun: the next one's place bounds it too.
        let next = fake.sent().await;
        assert_eq!(next.place, 2);
        assert_eq!(next.rank, 1);
    }
}
