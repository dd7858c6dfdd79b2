//! What starts a shutdown: a signal (and listening for it), a request from code, the
//! body of `main` ending (how it ended, a panic included), a tracked task's panic, or an
//! upgrade in place handing over to the next process.

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
    /// The program called [`request_shutdown`](crate::request_shutdown) with this reason.
    Requested(String),
    /// The body of `main` returned `Ok` or `()`.
    BodyReturned,
    /// The body of `main` returned an error.
    BodyFailed,
    /// The body of `main` panicked.
    BodyPanicked,
    /// A task started with [`spawn`](crate::spawn) panicked, and
    /// [`TaskPanic::Shutdown`](crate::TaskPanic::Shutdown) (the default) says that stops
    /// the program.
    TaskPanicked {
        /// The task's name: given to [`spawn_named`](crate::spawn_named), or where it
        /// was spawned.
        task: String,
    },
    /// An upgrade in place: the new process (this process id) said it is ready, and
    /// serves from now on; this one stops accepting and drains. See
    /// [`upgrade`](crate::upgrade).
    Upgrade {
        /// The new process's id.
        pid: u32,
    },
}

impl Trigger {
    /// Whether the drain delay applies: load balancers need it to move traffic away from
    /// an instance told to stop, not from one whose `main` has ended.
    ///
    /// A tracked task's panic drains too: the rest of the program still serves while the
    /// instance is taken out of rotation. An upgrade does not: no load balancer has to
    /// move, the new process serves on the same sockets.
    pub(crate) fn drains(&self) -> bool {
        matches!(
            self,
            Trigger::Signal(_) | Trigger::Requested(_) | Trigger::TaskPanicked { .. }
        )
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
            Trigger::TaskPanicked { task } => write!(f, "a tracked task panicked ({task})"),
            Trigger::Upgrade { pid } => write!(f, "upgraded: pid {pid} serves now"),
        }
    }
}
