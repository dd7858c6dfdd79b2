//! The primitives the rest is built on, which import nothing else from the crate: a
//! lock that survives a panicking holder, a latch futures wait for, a sharded set many
//! threads enter and leave at once, and work run with a bounded patience.

pub(crate) mod bounded;
pub(crate) mod latch;
pub(crate) mod sharded;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex whose data stays valid even if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
