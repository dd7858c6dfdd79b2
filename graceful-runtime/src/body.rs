//! The body of `main`: what it may return, and how it ended.

use std::future::Future;

use crate::controller::Controller;
use crate::panic::CatchUnwind;
use crate::{events, Trigger};

/// Runs the body of `main` and records how it ended, which starts the shutdown if nothing
/// has yet.
pub(crate) async fn run<F>(ctl: &'static Controller, body: F)
where
    F: Future,
    F::Output: MainOutput,
{
    let outcome = body_ended(CatchUnwind::new(body).await);
    ctl.body_ended(outcome);
}

/// How the body of `main` ended.
#[derive(Clone, Debug)]
pub(crate) enum BodyOutcome {
    Ok,
    /// The error, formatted with `{:?}` like Rust's own `main` does.
    Err(String),
    Panicked(String),
}

impl BodyOutcome {
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

fn body_ended<O: MainOutput>(out: Result<O, String>) -> BodyOutcome {
    match out {
        Ok(value) => match value.into_result() {
            Ok(()) => BodyOutcome::Ok,
            Err(e) => {
                events::body_error(&e);
                BodyOutcome::Err(e)
            }
        },
        Err(panic) => BodyOutcome::Panicked(panic),
    }
}
