//! How the process ends: the exit codes, in one table.

use std::fmt;

use crate::trigger::Signal;

/// How the process ends, and with which exit code.
///
/// | code | meaning |
/// |---|---|
/// | 0 | clean: a signal or `main` returning `Ok`, every hook completed |
/// | 1 | `main` returned `Err`, or a hook failed (error, panic, own timeout, missing state) |
/// | 2 | bad configuration (a `GRACEFUL_*` variable that does not parse, a value set in [`Main`](crate::Main) that the attribute would refuse, among others), found before the body ran |
/// | 101 | `main` panicked (Rust's own code for a panic), or a task of [`spawn`](crate::spawn) did, unless [`TaskPanic::Continue`](crate::TaskPanic::Continue) is in force |
/// | 124 | the deadline was exceeded (as `timeout(1)` reports): a step was cut or skipped, tasks or `main` were still running, or [`until_hard_stop`](crate::until_hard_stop) handed work back |
/// | 128 + n | a second signal n forced the exit: 130 for `SIGINT`, 143 for `SIGTERM` |
///
/// When several apply, the first in this order wins: forced, deadline, panic, failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// Code 0.
    Clean,
    /// Code 1.
    Failed,
    /// Code 2.
    Config,
    /// Code 101.
    Panicked,
    /// Code 124.
    DeadlineExceeded,
    /// Code 128 + the signal's number.
    Forced(Signal),
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> i32 {
        match self {
            Exit::Clean => 0,
            Exit::Failed => 1,
            Exit::Config => 2,
            Exit::Panicked => 101,
            Exit::DeadlineExceeded => 124,
            Exit::Forced(signal) => signal.forced_exit_code(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Exit::Clean => "clean",
            Exit::Failed => "failed",
            Exit::Config => "bad configuration",
            Exit::Panicked => "panicked",
            Exit::DeadlineExceeded => "deadline exceeded",
            Exit::Forced(_) => "forced by a second signal",
        };
        write!(f, "{} ({what})", self.code())
    }
}
