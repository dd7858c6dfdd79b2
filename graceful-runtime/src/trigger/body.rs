//! The body of `main`: what it may return, and how it ended.

use super::panic::{self, Payload};
use super::Trigger;

/// How the body of `main` ended.
#[derive(Clone, Debug)]
pub(crate) enum BodyOutcome {
    Ok,
    /// The error, formatted with `{:?}` like Rust's own `main` does.
    Err(String),
    Panicked(String),
}

impl BodyOutcome {
    /// How a body that returned `out` (or panicked, `Err` with what it carried) ended.
    pub(crate) fn of<O: MainOutput>(out: Result<O, Payload>) -> BodyOutcome {
        match out {
            Ok(value) => match value.into_result() {
                Ok(()) => BodyOutcome::Ok,
                Err(e) => BodyOutcome::Err(e),
            },
            Err(payload) => BodyOutcome::Panicked(panic::message(&*payload)),
        }
    }

    pub(crate) fn trigger(&self) -> Trigger {
        match self {
            BodyOutcome::Ok => Trigger::BodyReturned,
            BodyOutcome::Err(_) => Trigger::BodyFailed,
            BodyOutcome::Panicked(_) => Trigger::BodyPanicked,
        }
    }
}

/// The return value of the body of `main`: `()` or `Result<(), E>` with `E: Debug`.
#[diagnostic::on_unimplemented(
    message = "`#[graceful::main]` must return `()` or `Result<(), E>` where `E: Debug`, not `{Self}`",
    label = "unsupported return type"
)]
pub trait MainOutput {
    /// `Err` holds the error formatted with `{:?}`.
    fn into_result(self) -> Result<(), String>;
}

impl MainOutput for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> MainOutput for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}
