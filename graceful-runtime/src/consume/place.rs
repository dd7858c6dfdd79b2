//! A delivery's place in its source's count of what the next read leaves room for: given
//! up once, as its settlement begins (its handler is free then) or when it is dropped.
//! Shared by the sources that size their reads by the handlers (Redis, NATS).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One delivery's place in a count; see [the module's docs](self).
pub(super) struct Place(Option<Arc<AtomicUsize>>);

impl Place {
    /// A place the count already holds (asked for before it arrived).
    pub(super) fn counted(count: &Arc<AtomicUsize>) -> Place {
        Place(Some(Arc::clone(count)))
    }

    /// Adds one to `count` for a new delivery (NATS counts what it asks for instead).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn take(count: &Arc<AtomicUsize>) -> Place {
        count.fetch_add(1, Ordering::SeqCst);
        Place::counted(count)
    }

    /// Gives the place up; the second call and the drop after it do nothing.
    pub(super) fn give_up(&mut self) {
        if let Some(count) = self.0.take() {
            count.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.give_up();
    }
}
