//! A one-way flag that futures can wait for: set once, never reset. Checking it is one
//! atomic load, so the worker-facing API costs nothing while no shutdown is under way.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct Latch {
    set: AtomicBool,
    notify: Notify,
}

impl Latch {
    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Sets the latch and wakes every waiter. Returns true if this call set it.
    pub(crate) fn set(&self) -> bool {
        let first = !self.set.swap(true, Ordering::AcqRel);
        if first {
            self.notify.notify_waiters();
        }
        first
    }

    /// Completes once the latch is set (at once if it is).
    pub(crate) fn wait(&'static self) -> Wait {
        Wait {
            latch: self,
            notified: None,
        }
    }
}

pin_project! {
    /// The future of [`Latch::wait`].
    pub(crate) struct Wait {
        latch: &'static Latch,
        #[pin]
        notified: Option<Notified<'static>>,
    }
}

impl Wait {
    pub(crate) fn latch(&self) -> &'static Latch {
        self.latch
    }

    /// True once the latch is set, registering nothing: one atomic load while it is not.
    ///
    /// A registration that has been notified is polled here, so that it completes: a
    /// `Notified` dropped while still waiting takes the `Notify`'s lock to leave its list,
    /// and when 100,000 tasks end at once that one lock is what they would queue on.
    pub(crate) fn is_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let this = self.project();
        if !this.latch.is_set() {
            return false;
        }
        if let Some(notified) = this.notified.as_pin_mut() {
            let _ = notified.poll(cx);
        }
        true
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.as_mut().is_done(cx) {
            return Poll::Ready(());
        }
        let mut this = self.project();
        if this.notified.is_none() {
            this.notified.set(Some(this.latch.notify.notified()));
        }
        let Some(mut notified) = this.notified.as_pin_mut() else {
            return Poll::Pending;
        };
        // Registered as a waiter before the second look, so a `set` in between is seen
        // either here or as a notification.
        notified.as_mut().enable();
        // `set` is the only notification this `Notify` ever sends.
        if notified.poll(cx).is_ready() || this.latch.is_set() {
            return Poll::Ready(());
        }
        Poll::Pending
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
