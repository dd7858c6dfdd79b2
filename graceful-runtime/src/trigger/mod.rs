//! What starts a shutdown: a signal (and listening for it), a request from code, or the
//! body of `main` ending (how it ended, a panic included).

pub(crate) mod body;
pub(crate) mod panic;
mod signal;

use std::fmt;

pub(crate) use signal::listen;
pub use signal::Signal;

/// Why the shutdown started.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// A signal arrived (the first one; a second forces the exit).
    Signal(Signal),
    /// The program called [`shutdown`](crate::shutdown) with this reason.
    Requested(String),
    /// The body of `main` returned `Ok` or `()`.
    BodyReturned,
    /// The body of `main` returned an error.
    BodyFailed,
    /// The body of `main` panicked.
    BodyPanicked,
}

impl Trigger {
    /// Whether the drain delay applies: load balancers need it to move traffic away from
    /// an instance told to stop, not from one whose `main` has ended.
    pub(crate) fn drains(&self) -> bool {
        matches!(self, Trigger::Signal(_) | Trigger::Requested(_))
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Signal(s) => write!(f, "{s}"),
            Trigger::Requested(reason) => write!(f, "shutdown requested: {reason}"),
            Trigger::BodyReturned => f.write_str("main returned"),
            Trigger::BodyFailed => f.write_str("main returned an error"),
            Trigger::BodyPanicked => f.write_str("main panicked"),
        }
    }
}
