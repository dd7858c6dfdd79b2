//! The body of `main`: what it may return, and how it ended.

use std::any::Any;
use std::error::Error;
use std::fmt;

use super::panic::{self, Payload};
use super::Trigger;

/// How the body of `main` ended.
#[derive(Clone, Debug)]
pub(crate) enum BodyOutcome {
    Ok,
    /// The error as a user reads it: its `Display` and its causes.
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

/// What the body of `main` may return, as std's `Termination` is for a plain `main`: `()`,
/// or `Result<(), E>` where `E: Display`.
///
/// [`Main::run`](crate::Main::run) and [`testing::Harness`](crate::testing::Harness)
/// require it of the body's output. It is sealed: those two are the only forms, and the
/// crate may add methods to it without breaking anyone.
///
/// An `Err` is shown as a user reads it, in the log, on stderr (`Error: ...`) and in the
/// report: its `Display`, then each cause (`source()`), joined by `: `. For an
/// `anyhow::Error` the causes come from its alternate `Display` (`{:#}`); for
/// `Box<dyn Error>` (with or without `Send` and `Sync`) and `std::io::Error` from
/// `source()`. Another error type's causes are shown when its `Display` includes them.
#[diagnostic::on_unimplemented(
    message = "`#[graceful::main]` must return `()` or `Result<(), E>` where `E: Display`, not `{Self}`",
    label = "unsupported return type"
)]
pub trait MainOutput: sealed::Sealed {
    /// `Err` holds the error as a user reads it: its `Display` and its causes.
    #[doc(hidden)]
    fn into_result(self) -> Result<(), String>;
}

mod sealed {
    /// Keeps [`MainOutput`](super::MainOutput) to the forms this crate implements.
    pub trait Sealed {}
    impl Sealed for () {}
    impl<E> Sealed for Result<(), E> {}
}

impl MainOutput for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display + 'static> MainOutput for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| describe(&e))
    }
}

/// `error`'s `Display` (alternate, which is where anyhow puts its chain), then the
/// causes of the error types that can be asked for them.
fn describe<E: fmt::Display + 'static>(error: &E) -> String {
    let any: &dyn Any = error;
    let source = if let Some(e) = any.downcast_ref::<Box<dyn Error + Send + Sync>>() {
        e.source()
    } else if let Some(e) = any.downcast_ref::<Box<dyn Error + Send>>() {
        e.source()
    } else if let Some(e) = any.downcast_ref::<Box<dyn Error>>() {
        e.source()
    } else if let Some(e) = any.downcast_ref::<std::io::Error>() {
        e.source()
    } else {
        None
    };
    with_causes(format!("{error:#}"), source)
}

/// An error and its causes on one line, as people read them: `cannot start
/// /srv/app/service: Permission denied (os error 13)`.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    with_causes(error.to_string(), error.source())
}

/// `text`, then each cause in turn; a cause whose words already end the line (a wrapper
/// that repeats its cause's message, as `io::Error`'s custom errors do) is said once.
pub(crate) fn with_causes(
    mut text: String,
    mut cause: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(e) = cause {
        let said = e.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<dyn Error + Send + Sync>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    fn error_of<E: fmt::Display + 'static>(e: E) -> String {
        Err::<(), E>(e).into_result().unwrap_err()
    }

    #[test]
    fn an_io_error_reads_as_its_message_not_its_debug_form() {
        let e = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        assert_eq!(error_of(e), "address in use");
    }

    #[test]
    fn a_boxed_error_shows_its_causes() {
        let inner = Layer("connection refused", None);
        let outer = Layer("cannot reach the broker", Some(Box::new(inner)));
        let boxed: Box<dyn Error + Send + Sync> =
            Box::new(Layer("cannot start", Some(Box::new(outer))));
        assert_eq!(
            error_of(boxed),
            "cannot start: cannot reach the broker: connection refused"
        );
        let plain: Box<dyn Error> = Box::new(Layer(
            "cannot start",
            Some(Box::new(Layer("disk full", None))),
        ));
        assert_eq!(error_of(plain), "cannot start: disk full");
    }

    #[test]
    fn an_io_error_with_a_cause_shows_it() {
        let e = std::io::Error::other(Layer("bad config", Some(Box::new(Layer("line 3", None)))));
        assert_eq!(error_of(e), "bad config: line 3");
    }

    #[test]
    fn a_string_is_shown_as_written() {
        assert_eq!(error_of("body failed".to_owned()), "body failed");
        assert_eq!(Ok::<(), String>(()).into_result(), Ok(()));
        assert_eq!(().into_result(), Ok(()));
    }
}
