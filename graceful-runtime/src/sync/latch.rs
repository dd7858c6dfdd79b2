//! A one-way flag that futures can wait for: set once, never reset. Checking it is one
//! atomic load, so the worker-facing API costs nothing while no shutdown is under way.
//!
//! A future that has to wait leaves its waker in a [`Sharded`] set, in the shard of its
//! thread: registering and leaving take one uncontended lock each, which is what an
//! `until_shutdown` around a receive that is not ready costs. Setting the latch takes
//! every waker out and wakes it; a waiting future dropped after that has nothing to leave.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use super::sharded::{self, Key, Sharded};

pub(crate) struct Latch {
    set: AtomicBool,
    waiters: Sharded<Waker>,
}

impl Default for Latch {
    /// A latch that a few futures wait for.
    fn default() -> Self {
        Latch::with_shards(1)
    }
}

impl Latch {
    /// A latch that many tasks on many threads wait for, such as every worker's
    /// `until_shutdown`.
    pub(crate) fn for_many() -> Self {
        Latch::with_shards(sharded::per_cpu())
    }

    fn with_shards(shards: usize) -> Self {
        Latch {
            set: AtomicBool::new(false),
            waiters: Sharded::new(shards),
        }
    }

    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Sets the latch and wakes every waiter. Returns true if this call set it.
    pub(crate) fn set(&self) -> bool {
        let first = !self.set.swap(true, Ordering::AcqRel);
        if first {
            // A waker runs another executor's code. One that panics (its panic is printed)
            // must not keep the other waiters from their wake-up and leave their wakers
            // behind for good, nor end the thread that sets the latch: the signal thread.
            self.waiters.drain(|waker| {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
            });
        }
        first
    }

    /// Completes once the latch is set (at once if it is).
    pub(crate) fn wait(&'static self) -> Wait {
        Wait {
            latch: self,
            key: None,
        }
    }
}

/// The shard a thread registers its waiters in: its own, as far as there are shards.
fn shard_hint() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static HINT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    HINT.with(|hint| *hint)
}

/// The future of [`Latch::wait`].
pub(crate) struct Wait {
    latch: &'static Latch,
    /// Where its waker is, once it has had to wait.
    key: Option<Key>,
}

impl Wait {
    pub(crate) fn latch(&self) -> &'static Latch {
        self.latch
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let latch = this.latch;
        if latch.is_set() {
            return Poll::Ready(());
        }
        match this.key {
            None => {
                // The flag is read again under the shard's lock: a `set` either comes
                // before and is seen here, or drains this shard after, waker included.
                this.key = latch.waiters.insert_with(shard_hint(), |key| {
                    if latch.is_set() {
                        (None, None)
                    } else {
                        (Some(cx.waker().clone()), Some(key))
                    }
                });
                if this.key.is_none() {
                    return Poll::Ready(());
                }
            }
            Some(key) => {
                let waker = cx.waker();
                let kept = latch.waiters.with(key, |stored| {
                    if !stored.will_wake(waker) {
                        stored.clone_from(waker);
                    }
                });
                // Only a `set` takes a waker out from under its future.
                if kept.is_none() {
                    return Poll::Ready(());
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        // Once the latch is set, its waker has been taken out, or is about to be: there
        // is nothing to leave, and 100,000 tasks ending at once take no lock here.
        if let Some(key) = self.key {
            if !self.latch.is_set() {
                drop(self.latch.waiters.remove(key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak() -> &'static Latch {
        Box::leak(Box::default())
    }

    #[tokio::test]
    async fn waiters_before_and_after_the_set_complete() {
        let latch = leak();
        let early = tokio::spawn(latch.wait());
        tokio::task::yield_now().await;
        assert!(!early.is_finished());
        assert!(latch.set());
        assert!(!latch.set());
        early.await.unwrap();
        latch.wait().await;
        assert!(latch.is_set());
    }

    /// A waker that counts its wake-ups.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (std::sync::Arc<Counter>, Waker) {
        let c = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn poll(wait: &mut Wait, waker: &Waker) -> Poll<()> {
        Pin::new(wait).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn the_latest_waker_is_the_one_woken() {
        let latch = leak();
        let (first, first_waker) = counter();
        let (second, second_waker) = counter();
        let mut wait = latch.wait();
        assert!(poll(&mut wait, &first_waker).is_pending());
        // Moved to another task, as a future may be between polls.
        assert!(poll(&mut wait, &second_waker).is_pending());
        latch.set();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert!(poll(&mut wait, &second_waker).is_ready());
    }

    #[test]
    fn a_waiter_dropped_before_the_set_leaves_nothing_behind() {
        let latch = leak();
        let (woken, waker) = counter();
        for _ in 0..1_000 {
            let mut wait = latch.wait();
            assert!(poll(&mut wait, &waker).is_pending());
        }
        assert!(
            latch.waiters.is_empty(),
            "every dropped waiter took its waker out"
        );
        latch.set();
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_set_takes_every_waker_out() {
        let latch: &'static Latch = Box::leak(Box::new(Latch::for_many()));
        let (woken, waker) = counter();
        let mut waits: Vec<Wait> = (0..100).map(|_| latch.wait()).collect();
        for wait in &mut waits {
            assert!(poll(wait, &waker).is_pending());
        }
        latch.set();
        assert_eq!(woken.0.load(Ordering::SeqCst), 100);
        assert!(latch.waiters.is_empty());
        for wait in &mut waits {
            assert!(poll(wait, &waker).is_ready());
        }
        drop(waits);
        assert!(latch.waiters.is_empty());
    }

    /// A waker whose `wake` panics: a bug in another executor.
    struct Panics;

    impl std::task::Wake for Panics {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("a waker that panics");
        }
    }

    #[test]
    fn a_waker_that_panics_costs_the_other_waiters_nothing() {
        let latch = leak();
        let bad = Waker::from(std::sync::Arc::new(Panics));
        let mut first = latch.wait();
        assert!(poll(&mut first, &bad).is_pending());
        let (woken, waker) = counter();
        let mut rest: Vec<Wait> = (0..10).map(|_| latch.wait()).collect();
        for wait in &mut rest {
            assert!(poll(wait, &waker).is_pending());
        }
        // Set from the signal thread, say: it must live on to hear the second signal.
        let set = std::panic::catch_unwind(|| latch.set());
        assert!(matches!(set, Ok(true)), "the set went on past the panic");
        assert_eq!(
            woken.0.load(Ordering::SeqCst),
            10,
            "every other waiter woken"
        );
        assert!(latch.waiters.is_empty(), "no waker left behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_wakeup_is_lost_under_races() {
        for _ in 0..200 {
            let latch = leak();
            let waiters: Vec<_> = (0..4).map(|_| tokio::spawn(latch.wait())).collect();
            let setter = tokio::spawn(async move {
                latch.set();
            });
            setter.await.unwrap();
            for w in waiters {
                tokio::time::timeout(std::time::Duration::from_secs(5), w)
                    .await
                    .expect("a waiter missed the set")
                    .unwrap();
            }
        }
    }
}
