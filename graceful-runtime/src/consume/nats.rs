//! NATS JetStream, a durable pull consumer, as a [`Source`]. Cargo feature `nats` (the
//! [`async_nats`] crate, the NATS maintainers' own client, with JetStream pull consumers
//! and acknowledgements the server confirms; it needs Rust 1.89). NATS 2.9 or later with
//! JetStream enabled.
//!
//! Why this shape: JetStream already has what a queue needs (explicit acks, negative acks
//! that redeliver at once, an ack wait after which what a dead client held is delivered
//! again, a count of deliveries). A pull consumer lets this process ask for exactly as many
//! messages as it has free handlers, and stop asking at the shutdown.
//!
//! # The objects
//!
//! For a queue named `q` ([`source`] creates both if missing, [`publisher`] the stream, so
//! either may come first: the work-queue stream keeps what was published before any
//! consumer; existing ones are used as they are, and a durable consumer that exists with
//! another ack wait is logged):
//!
//! - the stream `q`, on the subject `q`, with work-queue retention (a message is deleted
//!   once acknowledged) and file storage;
//! - the durable pull consumer `q` on it, with explicit acks, an ack wait of
//!   [`Options::ack_wait`] (30 s by default) and no delivery limit (the runner's failure
//!   policy decides). Every process consuming `q` pulls from this one consumer: the
//!   server hands each message to one of them.
//!
//! Names must be valid stream names: no `.`, `*`, `>`, spaces.
//!
//! # What each call does
//!
//! - [`Source::next`]: pull requests, each expiring after [`Options::pull_expires`]
//!   (250 ms by default) and run as a task that passes each message on as it arrives, for
//!   at most as many messages as there are handlers, and up to three times as many again
//!   ahead of them while handlers end faster than a pull's round trip, in all (with a
//!   handler, waiting for one, or asked for; a message whose settlement began no longer
//!   counts): a handler that ends finds its next message already here. When `next` is
//!   dropped, what arrived waits for the next call.
//! - [`Source::stop`]: no pull request is made again; those under way are waited for until
//!   they expire (at most `pull_expires` and 200 ms for what the server sent just before:
//!   JetStream cannot withdraw a pull request, and a
//!   subscription ended early could lose a message already on its way to the ack wait),
//!   and everything they brought and `next` did not return is given back to be handed
//!   back.
//! - [`Delivery::ack`]: `+ACK`, sent as a request the server answers (a "double ack"): it
//!   returns once the server has recorded the acknowledgement.
//! - [`Delivery::hand_back`]: `-NAK`, answered the same way: the server delivers the
//!   message again at once. JetStream counts that delivery: [`Message::attempt`] is the
//!   server's delivery count, so a message handed back (not started at a stop, cut at a
//!   deadline) comes back with an attempt one more.
//! - [`Delivery::retry`]: `-NAK` too, counting the attempt as every delivery does.
//! - [`Delivery::reject`]: `+TERM`: the server never delivers it again and, the stream
//!   being a work queue, deletes it. JetStream has no dead-letter stream: what is kept of
//!   it is the server's advisory `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.q.q`, which
//!   names its stream sequence (subscribe to it, or capture it in a stream, to keep a
//!   record); the runner logs the message's id.
//! - [`Source::close`]: the connection is flushed and closed.
//!
//! While a message is held (from its arrival, waiting for a handler or with one), its
//! process tells the server it is still working on it (`+WPI`) every third of the ack
//! wait, so a handler may run longer than the ack wait without the message being delivered
//! to another process.
//!
//! # A process that is killed
//!
//! A killed process sends no `+WPI`: once the ack wait ran out, the server delivers what it
//! held to another consumer, as attempt one more. A pull request it left at the server
//! lives at most `pull_expires`; a message delivered to it in that time waits for the ack
//! wait too. A process that never pulled leaves nothing (the consumer is the group's, not
//! the process's).
//!
//! A message therefore runs twice only after a kill or a crash (or a process frozen longer
//! than the ack wait), never after a graceful stop or an upgrade in place.
//!
//! # URLs
//!
//! `nats://[user:password@|token@]host[:port]`, several separated by commas, and
//! `tls://` ones. Errors name the URL without its password or token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, Consumer};
use async_nats::jetstream::stream::{Config as StreamConfig, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind, Context};
use async_nats::{Client, ConnectOptions, Subject};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, timeout, Instant};

use super::place::Place;
use super::source::{Delivery, Error, Message, Publish, Source};

/// How long connecting may take before `source` or `publisher` fails.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// How many messages a source pulls ahead of its handlers at most, as a multiple of their
/// number: while handlers end faster than a pull's round trip, a handler that ends finds
/// its next message already here.
const MOST_AHEAD: usize = 3;

/// How long after a pull request expired a message the server sent it just before can
/// still be on its way.
const IN_FLIGHT: Duration = Duration::from_millis(200);

/// A free handler that waited less than this for its message waited for a pull's round
/// trip, not for the queue: more are pulled ahead.
const STARVED_WITHIN: Duration = Duration::from_millis(10);

/// A message that waited this long for a handler was pulled ahead for nothing: the
/// handlers are slow, and what is pulled ahead would only wait here while another
/// process could run it, so fewer are.
const WAITED_TOO_LONG: Duration = Duration::from_millis(20);

/// The settings of a NATS source; [`source`] uses the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    ack_wait: Duration,
    pull_expires: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ack_wait: Duration::from_secs(30),
            pull_expires: Duration::from_millis(250),
        }
    }
}

impl Options {
    /// The defaults: an ack wait of 30 s, pull requests expiring after 250 ms.
    pub fn new() -> Options {
        Options::default()
    }

    /// The durable consumer's ack wait, when this process creates it: how long what a
    /// killed process held waits before it is delivered again. Held messages are kept
    /// with `+WPI` every third of it, so it need not exceed the longest handler. Default
    /// 30 s; at least 300 ms.
    pub fn ack_wait(mut self, wait: Duration) -> Options {
        self.ack_wait = wait.max(Duration::from_millis(300));
        self
    }

    /// How long a pull request waits at the server for messages: the longest a stop waits
    /// for the pulls under way, and so the longest a message the server sent to this
    /// process in that time waits before it is handed back to another one (through an
    /// upgrade in place, the new process). An idle process asks again this often.
    /// Default 250 ms; between 100 ms and half the ack wait.
    pub fn pull_expires(mut self, expires: Duration) -> Options {
        self.pull_expires = expires.max(Duration::from_millis(100));
        self
    }

    /// A source on `queue` at `url`, for `handlers` handlers: see [`source`].
    pub async fn source(self, url: &str, queue: &str, handlers: u16) -> Result<NatsSource, Error> {
        let target = Target::new(url, queue);
        let client = target.connect(url).await?;
        let context = jetstream::new(client.clone());
        let consumer = target.create(&context, self.ack_wait).await?;
        let ack_wait = consumer.cached_info().config.ack_wait;
        let shared = Arc::new(Shared {
            target,
            held: Mutex::new(HashMap::new()),
            outstanding: Arc::new(AtomicUsize::new(0)),
        });
        let renewer = tokio::spawn(renew(
            Arc::clone(&shared),
            client.clone(),
            (ack_wait / 3).max(Duration::from_millis(100)),
        ));
        let (sender, receiver) = mpsc::unbounded_channel();
        let handlers = usize::from(handlers.max(1));
        Ok(NatsSource {
            shared,
            client,
            consumer,
            handlers,
            ahead: 0,
            expires: self.pull_expires.min(ack_wait / 2),
            sender,
            receiver,
            pulls: JoinSet::new(),
            stopped: false,
            renewer,
        })
    }
}

/// A source on the JetStream queue `queue` at `url` (see [the module's docs](self)), pulling
/// at most `handlers` messages ahead of its handlers, with the default [`Options`]. Creates the stream and
/// the durable consumer if missing. Fails at once, or within 10 s, on a bad URL, an
/// unreachable server, a refused login or a server without JetStream.
pub async fn source(url: &str, queue: &str, handlers: u16) -> Result<NatsSource, Error> {
    Options::new().source(url, queue, handlers).await
}

/// A publisher to the JetStream queue `queue` at `url`, returning once the server
/// confirmed each message stored. Creates the stream if missing (the durable consumer is
/// the source's to create, with its ack wait: the work-queue stream keeps what is published
/// before it).
pub async fn publisher(url: &str, queue: &str) -> Result<NatsPublisher, Error> {
    let target = Target::new(url, queue);
    let client = target.connect(url).await?;
    let context = jetstream::new(client.clone());
    target.stream(&context).await?;
    Ok(NatsPublisher {
        target,
        client,
        context,
    })
}

/// Where a source or publisher is: the URL without its secrets, and the queue.
#[derive(Clone, Debug)]
struct Target {
    url: String,
    queue: String,
}

impl Target {
    fn new(url: &str, queue: &str) -> Target {
        Target {
            url: url
                .split(',')
                .map(without_secret)
                .collect::<Vec<_>>()
                .join(","),
            queue: queue.to_owned(),
        }
    }

    fn error(
        &self,
        what: &str,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        Error::new(
            format!("nats {} queue {}: {what}", self.url, self.queue),
            cause,
        )
    }

    fn msg(&self, what: &str) -> Error {
        Error::msg(format!("nats {} queue {}: {what}", self.url, self.queue))
    }

    async fn connect(&self, url: &str) -> Result<Client, Error> {
        let options = ConnectOptions::new()
            .name("graceful")
            .connection_timeout(Duration::from_secs(5));
        timeout(CONNECT_WITHIN, options.connect(url))
            .await
            .map_err(|_| self.msg("cannot connect within 10 s"))?
            .map_err(|e| self.error("cannot connect", e))
    }

    /// The stream, created if missing.
    async fn stream(&self, context: &Context) -> Result<jetstream::stream::Stream, Error> {
        context
            .get_or_create_stream(StreamConfig {
                name: self.queue.clone(),
                subjects: vec![self.queue.clone()],
                retention: RetentionPolicy::WorkQueue,
                storage: StorageType::File,
                ..StreamConfig::default()
            })
            .await
            .map_err(|e| self.error("cannot create the JetStream stream", e))
    }

    /// The stream and the durable consumer, created if missing.
    async fn create(
        &self,
        context: &Context,
        ack_wait: Duration,
    ) -> Result<Consumer<PullConfig>, Error> {
        let stream = self.stream(context).await?;
        let consumer = stream
            .get_or_create_consumer(
                &self.queue,
                PullConfig {
                    durable_name: Some(self.queue.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait,
                    max_deliver: -1,
                    ..PullConfig::default()
                },
            )
            .await
            .map_err(|e| self.error("cannot create the durable consumer", e))?;
        let existing = consumer.cached_info().config.ack_wait;
        if existing != ack_wait {
            tracing::warn!(
                queue = %self.queue,
                "nats: the durable consumer exists with an ack wait of {existing:?}, not {ack_wait:?}: it is used as it is"
            );
        }
        Ok(consumer)
    }
}

/// `nats://user:secret@host` as `nats://user:***@host`, `nats://token@host` as
/// `nats://***@host`.
fn without_secret(url: &str) -> String {
    let url = url.trim();
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    // The user part ends at the last `@`: a secret may hold a `/`.
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let shown = match rest[..at].split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{shown}{}", &url[..scheme_end], &rest[at..])
}

/// What a source and its deliveries share.
struct Shared {
    target: Target,
    /// The reply subjects of the messages this process holds, by stream sequence: where
    /// `+WPI` goes.
    held: Mutex<HashMap<u64, Subject>>,
    /// Messages asked for or pulled, and not yet being settled (buffered or with a
    /// handler): what the next pull leaves room for. A settlement under way holds no
    /// handler.
    outstanding: Arc<AtomicUsize>,
}

impl Shared {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subject>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A message as it arrives: renewed from now on, until it is settled.
    fn hold(&self, message: jetstream::Message) -> Result<Pulled, Error> {
        let info = message
            .info()
            .map_err(|e| self.target.error("a message without its JetStream info", e))?;
        let (sequence, delivered) = (info.stream_sequence, info.delivered);
        if let Some(reply) = message.reply.clone() {
            self.held().insert(sequence, reply);
        }
        Ok(Pulled {
            message,
            sequence,
            delivered,
            arrived: Instant::now(),
        })
    }
}

/// Tells the server, every `every`, that the held messages are still being worked on.
async fn renew(shared: Arc<Shared>, client: Client, every: Duration) {
    loop {
        sleep(every).await;
        let replies: Vec<Subject> = shared.held().values().cloned().collect();
        for reply in replies {
            if let Err(e) = client.publish(reply, "+WPI".into()).await {
                tracing::warn!(
                    queue = %shared.target.queue,
                    error = %e,
                    "nats: cannot renew a held message; it is delivered again after the ack wait if this lasts"
                );
            }
        }
    }
}

/// A JetStream pull consumer on the queue's durable consumer: see [the module's
/// docs](self).
pub struct NatsSource {
    shared: Arc<Shared>,
    client: Client,
    consumer: Consumer<PullConfig>,
    handlers: usize,
    /// How many messages are pulled ahead of the handlers now: doubled (up to
    /// `MOST_AHEAD` times the handlers) when a free handler waited a round trip for its
    /// message, none after it waited longer, halved when a message waited longer than
    /// `WAITED_TOO_LONG` for a handler.
    ahead: usize,
    expires: Duration,
    sender: mpsc::UnboundedSender<Result<Pulled, Error>>,
    receiver: mpsc::UnboundedReceiver<Result<Pulled, Error>>,
    /// The pull requests under way, each passing what it brings to `sender` and telling
    /// at its end whether it brought fewer than it asked for.
    pulls: JoinSet<bool>,
    stopped: bool,
    renewer: JoinHandle<()>,
}

/// A message as a pull brought it, already held (renewed with `+WPI`).
struct Pulled {
    message: jetstream::Message,
    sequence: u64,
    delivered: i64,
    arrived: Instant,
}

impl NatsSource {
    /// The most messages asked for, or pulled and not yet in their settlement, at once (a
    /// message in its settlement is still kept with `+WPI` until it returns).
    fn limit(&self) -> usize {
        self.handlers + self.ahead
    }

    /// How many more messages may be asked for.
    fn free(&self) -> usize {
        self.limit()
            .saturating_sub(self.shared.outstanding.load(Ordering::SeqCst))
    }

    /// A pull request for `count` messages, as a task of its own. Several may be under
    /// way: each is counted at once in `outstanding`, so that together they never ask for
    /// more than the limit; one that brings fewer gives the rest back when it ends.
    fn start_pull(&mut self, count: usize) {
        self.shared.outstanding.fetch_add(count, Ordering::SeqCst);
        let consumer = self.consumer.clone();
        let sender = self.sender.clone();
        let shared = Arc::clone(&self.shared);
        let expires = self.expires;
        self.pulls.spawn(async move {
            let mut brought = 0;
            // The server sends nothing when it drops an expired request as a message
            // comes (NATS 2.9), and the client would wait five seconds more for word of
            // it: the pull ends here once the server cannot send to it any more.
            let over = Instant::now() + expires + IN_FLIGHT;
            let batch = consumer
                .batch()
                .max_messages(count)
                .expires(expires)
                .messages()
                .await;
            match batch {
                Ok(mut batch) => {
                    use futures_util::StreamExt;
                    while let Ok(Some(message)) = tokio::time::timeout_at(over, batch.next()).await
                    {
                        let pulled = message
                            .map_err(|e| shared.target.error("cannot pull", e))
                            .and_then(|message| shared.hold(message));
                        if pulled.is_ok() {
                            brought += 1;
                        }
                        if sender.send(pulled).is_err() {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = sender.send(Err(shared.target.error("cannot pull", e)));
                }
            }
            shared
                .outstanding
                .fetch_sub(count.saturating_sub(brought), Ordering::SeqCst);
            brought < count
        });
    }

    /// A message for a handler, and what its wait says about pulling ahead.
    fn take(&mut self, pulled: Pulled) -> NatsDelivery {
        if pulled.arrived.elapsed() > WAITED_TOO_LONG {
            self.ahead /= 2;
        }
        self.delivery(pulled)
    }

    fn delivery(&self, pulled: Pulled) -> NatsDelivery {
        let Pulled {
            message,
            sequence,
            delivered,
            ..
        } = pulled;
        NatsDelivery {
            shared: Arc::clone(&self.shared),
            message: Message::new(
                sequence.to_string(),
                message.payload.to_vec(),
                u32::try_from(delivered).unwrap_or(u32::MAX),
            ),
            sequence,
            inner: Some(message),
            // Counted as it was asked for.
            place: Place::counted(&self.shared.outstanding),
        }
    }
}

impl Source for NatsSource {
    type Delivery = NatsDelivery;

    async fn next(&mut self) -> Result<NatsDelivery, Error> {
        loop {
            if let Ok(pulled) = self.receiver.try_recv() {
                return Ok(self.take(pulled?));
            }
            if self.stopped {
                return Err(self.shared.target.msg("intake was stopped"));
            }
            // Another request while some are under way only for a batch worth its round
            // trip; none under way, one for whatever is free.
            let free = self.free();
            if self.pulls.is_empty() || free >= (self.limit() / 2).max(1) {
                // A pull request sent while disconnected would wait in the client's buffer
                // and end with nothing: say so instead, while the client reconnects.
                let state = self.client.connection_state();
                if state == async_nats::connection::State::Connected {
                    self.start_pull(free.max(1));
                } else if self.pulls.is_empty() {
                    return Err(self
                        .shared
                        .target
                        .msg(&format!("not connected ({state}); the client reconnects")));
                }
            }
            // Dropped here, the pulls go on and what they bring waits in the channel.
            let waiting = Instant::now();
            tokio::select! {
                biased;
                pulled = self.receiver.recv() => {
                    let Some(pulled) = pulled else { continue };
                    // A free handler waited for a message that was there to take: pull
                    // further ahead. One that waited longer waited for the queue more
                    // than for a round trip: fewer ahead.
                    self.ahead = if waiting.elapsed() < STARVED_WITHIN {
                        (self.ahead * 2).clamp(1, self.handlers * MOST_AHEAD)
                    } else {
                        self.ahead / 2
                    };
                    return Ok(self.take(pulled?));
                }
                Some(ended) = self.pulls.join_next() => {
                    // A pull that expired short found the queue empty: none ahead, so
                    // that a burst after a quiet time is not all pulled here while the
                    // handlers are busy.
                    if ended.unwrap_or(true) {
                        self.ahead = 0;
                    }
                }
            }
        }
    }

    async fn stop(&mut self) -> Result<Vec<NatsDelivery>, Error> {
        self.stopped = true;
        // A pull request cannot be withdrawn: wait until each has expired (at most
        // `pull_expires`), keeping what they brought.
        while self.pulls.join_next().await.is_some() {}
        let mut returned = Vec::new();
        let mut failure = None;
        while let Ok(pulled) = self.receiver.try_recv() {
            match pulled {
                Ok(pulled) => returned.push(self.delivery(pulled)),
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            tracing::warn!(queue = %self.shared.target.queue, error = %e, "nats: the last pull failed at the stop");
        }
        Ok(returned)
    }

    async fn close(mut self) -> Result<(), Error> {
        self.renewer.abort();
        self.pulls.abort_all();
        // Every settlement was confirmed (or failed) already: a flush only sends what is
        // left, and waits for a reconnection that may never come; so not while
        // disconnected, and not for long.
        let state = self.client.connection_state();
        if state != async_nats::connection::State::Connected {
            return Err(self
                .shared
                .target
                .msg(&format!("cannot close cleanly: {state}")));
        }
        timeout(Duration::from_secs(5), self.client.flush())
            .await
            .map_err(|_| {
                self.shared
                    .target
                    .msg("cannot flush at the close within 5 s")
            })?
            .map_err(|e| self.shared.target.error("cannot flush at the close", e))?;
        self.client
            .drain()
            .await
            .map_err(|e| self.shared.target.error("cannot close the connection", e))
    }
}

impl Drop for NatsSource {
    fn drop(&mut self) {
        // Dropped without a close: renew nothing more, so what is held comes back after
        // the ack wait (the pulls under way end with the set).
        self.renewer.abort();
    }
}

/// One message pulled from the durable consumer, held until settled.
pub struct NatsDelivery {
    shared: Arc<Shared>,
    message: Message,
    sequence: u64,
    inner: Option<jetstream::Message>,
    /// Counted in [`Shared::outstanding`] until its settlement begins.
    place: Place,
}

impl NatsDelivery {
    /// Its sequence number in the stream (also [`Message::id`]).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    async fn settle(mut self, kind: AckKind, what: &str) -> Result<(), Error> {
        // Its handler is free: the next pull counts it no more.
        self.place.give_up();
        let Some(inner) = self.inner.as_ref() else {
            return Err(self.shared.target.msg("settled twice"));
        };
        let sent = inner.double_ack_with(kind).await;
        self.release();
        sent.map_err(|e| {
            self.shared
                .target
                .error(&format!("cannot {what} message {}", self.sequence), e)
        })
    }

    fn release(&mut self) {
        if self.inner.take().is_some() {
            self.shared.held().remove(&self.sequence);
        }
        self.place.give_up();
    }
}

impl Drop for NatsDelivery {
    fn drop(&mut self) {
        // Never settled: no more `+WPI` for it, so it comes back after the ack wait.
        self.release();
    }
}

impl Delivery for NatsDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn ack(self) -> Result<(), Error> {
        self.settle(AckKind::Ack, "acknowledge").await
    }

    async fn retry(self) -> Result<(), Error> {
        self.settle(AckKind::Nak(None), "retry").await
    }

    async fn reject(self) -> Result<(), Error> {
        self.settle(AckKind::Term, "reject").await
    }

    async fn hand_back(self) -> Result<(), Error> {
        self.settle(AckKind::Nak(None), "hand back").await
    }
}

/// Publishes to a JetStream queue: see [`publisher`].
pub struct NatsPublisher {
    target: Target,
    client: Client,
    context: Context,
}

impl NatsPublisher {
    /// Flushes and closes the connection.
    pub async fn close(self) -> Result<(), Error> {
        self.client
            .drain()
            .await
            .map_err(|e| self.target.error("cannot close the connection", e))
    }
}

impl Publish for NatsPublisher {
    async fn publish(&self, payload: &[u8]) -> Result<(), Error> {
        let ack = self
            .context
            .publish(self.target.queue.clone(), payload.to_vec().into())
            .await
            .map_err(|e| self.target.error("cannot publish", e))?;
        ack.await
            .map(drop)
            .map_err(|e| self.target.error("the server did not confirm a message", e))
    }
}

impl std::fmt::Debug for NatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSource")
            .field("url", &self.shared.target.url)
            .field("queue", &self.shared.target.queue)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NatsDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsDelivery")
            .field("queue", &self.shared.target.queue)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NatsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsPublisher")
            .field("url", &self.target.url)
            .field("queue", &self.target.queue)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::without_secret;

    #[test]
    fn a_password_or_token_is_never_shown() {
        assert_eq!(
            without_secret("nats://user:secret@host:4222"),
            "nats://user:***@host:4222"
        );
        assert_eq!(without_secret("nats://s3cr3t@host"), "nats://***@host");
        assert_eq!(without_secret("nats://host:4222"), "nats://host:4222");
        assert_eq!(without_secret("user:pw@host"), "user:***@host");
    }
}
