//! The interface between the consumer runner and a broker: a [`Source`] of
//! [`Delivery`]s, each settled exactly once.
//!
//! Every built-in source implements it, and so does a user's own broker. The runner calls
//! the methods in one order only, so an implementation never has to guess:
//!
//! 1. [`Source::next`] again and again, never twice at once, only when a handler is free
//!    (so a source that prefetches holds at most what it was told to). A handler is free
//!    once its work ended and its delivery's settlement began (its future was polled
//!    once), before the settlement returns: a source that sizes what it asks for by the
//!    handlers stops counting a delivery as its settlement begins, and one whose delivery
//!    keeps a resource until its settlement ends (a connection) waits in `next` for one
//!    to be free. Its future may be dropped at any await point (the shutdown wins over
//!    it): it must not lose a delivery it had already taken off the broker; keep such a
//!    delivery for the next call or for [`Source::stop`].
//! 2. [`Source::stop`] once, when intake ends (the drain delay's end, or an upgrade's
//!    handover): no new delivery may arrive from the broker after it returns (AMQP
//!    `basic.cancel`; pull sources stop fetching), and it returns every delivery taken
//!    off the broker that `next` has not returned yet, which the runner hands back at once.
//! 3. Exactly one of [`Delivery::ack_then`] (the runner's way to [`Delivery::ack`]),
//!    [`Delivery::retry`], [`Delivery::reject`] or [`Delivery::hand_back`] for each
//!    delivery, from any task, possibly after `stop`.
//! 4. [`Source::close`] once, after every delivery was settled, every settlement returned
//!    and every [`Acked`] was reported: the connection is closed only then, so no acknowledgement is ever sent
//!    after the close (and thrown away by the broker).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// What a handler receives: the message's id, its body and which attempt this is.
///
/// Cheap to clone: the payload is shared.
#[derive(Clone)]
pub struct Message {
    id: Arc<str>,
    payload: Arc<[u8]>,
    attempt: u32,
}

impl Message {
    /// A message as a source delivers it. `id` names it in logs, spans and the report (the
    /// broker's delivery tag, stream entry id, row id, sequence number, ...); `attempt`
    /// counts its deliveries, 1 for the first (a source that cannot count passes 1, or 2
    /// when the broker says it is a redelivery).
    pub fn new(id: impl Into<Arc<str>>, payload: impl Into<Arc<[u8]>>, attempt: u32) -> Message {
        Message {
            id: id.into(),
            payload: payload.into(),
            attempt: attempt.max(1),
        }
    }

    /// Its id, as the source names it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its body, as sent.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Its body as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// Which delivery of this message this is: 1 for the first, 2 for the first retry...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("payload", &format_args!("{} bytes", self.payload.len()))
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// Why a source or a settlement failed: what was being done, and the client's error as
/// its [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct Error {
    context: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// `context` says what failed ("cannot connect to amqp://127.0.0.1:5672"); `cause` is
    /// the client's error, kept as the source.
    pub fn new(
        context: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        Error {
            context: context.into(),
            cause: Some(cause.into()),
        }
    }

    /// An error with no underlying cause.
    pub fn msg(context: impl Into<String>) -> Error {
        Error {
            context: context.into(),
            cause: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cause is the source, not part of this message: a reporter that walks the
        // chain shows it once.
        f.write_str(&self.context)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A queue the runner consumes from. The runner calls [`next`](Source::next) again and
/// again (never twice at once, only when a handler is free), [`stop`](Source::stop) once
/// when intake ends, exactly one settlement per delivery, and [`close`](Source::close)
/// once, after every settlement returned.
pub trait Source: Send + 'static {
    /// One delivery, settled by the runner.
    type Delivery: Delivery;

    /// The next delivery, waiting as long as it takes. Cancel-safe: when the future is
    /// dropped, a delivery already taken off the broker is kept for the next call or for
    /// [`stop`](Source::stop). An `Err` is logged and the call made again after a pause;
    /// a source that reconnects does so here.
    fn next(&mut self) -> impl Future<Output = Result<Self::Delivery, Error>> + Send;

    /// Ends intake: nothing more arrives from the broker once this returns. Returns what
    /// was taken off the broker (prefetched, buffered) and not yet returned by `next`:
    /// the runner hands each back at once.
    fn stop(&mut self) -> impl Future<Output = Result<Vec<Self::Delivery>, Error>> + Send;

    /// Closes the connection, after every delivery was settled.
    fn close(self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// One delivery of a message, held until it is settled by exactly one of its four
/// methods. Each returns once the broker has it as far as its protocol can tell (a
/// confirmed write, a committed transaction, an acknowledged request).
pub trait Delivery: Send + 'static {
    /// The message, as its handler receives it.
    fn message(&self) -> &Message;

    /// Done: the broker forgets the message.
    fn ack(self) -> impl Future<Output = Result<(), Error>> + Send;

    /// [`ack`](Delivery::ack), its outcome given to `acked` rather than returned: the
    /// runner acknowledges through this. The default awaits `ack` and reports what it
    /// returned, and a source need not override it.
    ///
    /// A source that learns of many acknowledgements at once (one reply of the broker
    /// covering every one sent before it) overrides it to return as soon as the
    /// acknowledgement is on its way, and to report each outcome where that reply arrives,
    /// so that no task waits for each message. Every `acked` must be reported, or dropped
    /// (which reports an error), within the time the source allows a request: the runner
    /// closes the source only after the last one was.
    fn ack_then(self, acked: Acked) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async move { acked.report(self.ack().await) }
    }

    /// Failed, to be tried again: the message returns to the queue counting this attempt
    /// (the next delivery's [`Message::attempt`] is one more).
    fn retry(self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Failed for good: the message goes to the dead letters where the broker has them,
    /// and is dropped where it has none (the docs of each source say which).
    fn reject(self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Not done, through no fault of the message (never started, or cut at the hard
    /// stop): it returns to the queue at once for another consumer, and, where the
    /// source can tell, without counting an attempt.
    fn hand_back(self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// What is left to do once a delivery's acknowledgement is known, given to
/// [`Delivery::ack_then`] and [reported](Acked::report) exactly once: the runner's count,
/// [`on_acked`](super::Consumer::on_acked), the freeing of the settlement's place.
///
/// Dropped without a report, it reports an error (the broker will deliver the message
/// again), so that the runner never waits for an outcome that cannot come.
pub struct Acked {
    then: Option<Then>,
}

/// The runner's work, given the acknowledgement's outcome.
type Then = Box<dyn FnOnce(Result<(), Error>) + Send>;

impl Acked {
    /// `then` receives the outcome: `Ok` once the broker has the acknowledgement, or why
    /// it may not. Made by the runner; a test of a source makes its own.
    pub fn new(then: impl FnOnce(Result<(), Error>) + Send + 'static) -> Acked {
        Acked {
            then: Some(Box::new(then)),
        }
    }

    /// Gives the acknowledgement's outcome. Cheap and synchronous: it may be called where
    /// the broker's reply is read.
    pub fn report(mut self, outcome: Result<(), Error>) {
        if let Some(then) = self.then.take() {
            then(outcome);
        }
    }
}

impl Drop for Acked {
    fn drop(&mut self) {
        if let Some(then) = self.then.take() {
            then(Err(Error::msg(
                "the source dropped the acknowledgement before it knew whether the broker has it",
            )));
        }
    }
}

impl fmt::Debug for Acked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acked")
            .field("reported", &self.then.is_none())
            .finish()
    }
}

/// The sending side of a queue, as each built-in source offers it: for producers, tests and
/// tools that put messages where a [`Source`] takes them.
pub trait Publish: Send + Sync + 'static {
    /// Puts one message on the queue, returning once the broker has it (a publisher
    /// confirm, a committed insert, an acknowledged `XADD` or JetStream publish).
    fn publish(&self, payload: &[u8]) -> impl Future<Output = Result<(), Error>> + Send;
}
