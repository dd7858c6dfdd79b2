//! What the attributes and the runtime must agree on, kept in one place: the duration
//! grammar, the default deadline and the limits, the names of the signals.
//!
//! `graceful-runtime/src/shared` is a copy of this folder, which the runtime's test
//! `tests/shared.rs` keeps identical (a copy, not a link: a published package cannot
//! hold a link, nor a Windows checkout follow one). So both crates compile the same
//! files: a value the attribute accepts at compile time is one the runtime accepts from
//! the environment at run time, and a message names a signal the same way in both.
//! Nothing here depends on anything but `core`.

pub(crate) mod duration;
pub(crate) mod limits;
pub(crate) mod signals;
