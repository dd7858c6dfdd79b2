//! RabbitMQ (AMQP 0-9-1) as a [`Source`] and a [`Publish`]: feature `amqp`, Rust 1.80.
//!
//! Why it looks like this:
//!
//! - The client is [amqprs](https://docs.rs/amqprs): it runs on plain tokio with a handful of
//!   small dependencies, where lapin's recent majors bring an executor abstraction of their
//!   own that a tokio service does not need.
//! - One connection and one channel per source. The channel's prefetch (`basic.qos`) is the
//!   number of handlers, so the broker never gives this process more than it can start, and
//!   what a closing channel returns to the queue is little.
//! - Acknowledgements are manual. AMQP 0-9-1 answers no `basic.ack`, `basic.nack` or
//!   `basic.reject`, but the broker handles a channel's frames in order, so a settlement
//!   returns once something later on the channel shows it handled: a delivery the broker
//!   could send only after it (while messages wait in the queue, each settlement frees a
//!   place in the prefetch that the next delivery fills), or else, after a millisecond or two, a
//!   synchronous `basic.qos` round trip, shared by the settlements under way at once
//!   (`settled.rs` says why a delivery proves it).
//! - [`Source::stop`] sends `basic.cancel` and waits for `cancel-ok`: what the broker sent
//!   before it is returned by `stop`, and the runner hands it back.
//! - Attempts are counted in a header, `graceful-attempt`: [`Delivery::retry`] publishes a
//!   copy with the count one more, waits for the broker's publisher confirm, then acks the
//!   original. It works on every queue type, and a hand-back (`basic.nack` with requeue)
//!   counts nothing, where a quorum queue's `x-delivery-count` would count hand-backs too.
//!   A retried message goes to the tail of the queue.
//! - [`Delivery::reject`] is `basic.nack` without requeue: the queue's dead-letter exchange
//!   takes it when the queue has one (`x-dead-letter-exchange`), else RabbitMQ drops it.
//! - The queue is declared passively first, so that a queue the user declared with
//!   arguments of their own (a dead-letter exchange, a queue type) is used as it is; only a
//!   missing queue is declared, durable, with no arguments.
//! - A crashed process's unacknowledged messages are requeued by RabbitMQ as soon as its
//!   connection closes (or its heartbeat stops answering), so nothing waits for a timer.
//! - When the connection is lost, [`Source::next`] returns an error and connects again on
//!   the runner's next call; what was held on the lost connection is already back in the
//!   queue, and settling it returns an error instead of acknowledging it twice.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amqprs::callbacks::ChannelCallback;
use amqprs::channel::{
    BasicAckArguments, BasicCancelArguments, BasicConsumeArguments, BasicNackArguments,
    BasicPublishArguments, BasicQosArguments, Channel, ConfirmSelectArguments, ConsumerMessage,
    QueueDeclareArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use amqprs::{Ack, BasicProperties, Cancel, CloseChannel, FieldValue, Nack, Return};
use tokio::sync::{mpsc, oneshot};

use super::{Acked, Delivery, Error, Message, Publish, Source};
use settled::{Sent, Settled};

mod settled;

/// The header that counts a message's attempts (absent on the first).
pub const ATTEMPT_HEADER: &str = "graceful-attempt";

/// How long a connection may take to open, unless the URL says `connection_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request to the broker (a declaration, a confirm, a settlement's round trip)
/// may take before the broker is taken for gone.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A consumer of one RabbitMQ queue: see [the module's docs](self).
pub struct AmqpSource {
    endpoint: Endpoint,
    queue: Arc<str>,
    handlers: u16,
    link: Option<Consuming>,
    stopped: bool,
}

/// One connection and, from the first `next`, its consumer: what a reconnection replaces.
struct Consuming {
    link: Arc<Link>,
    consumer: Option<Consumer>,
}

struct Consumer {
    tag: String,
    deliveries: mpsc::UnboundedReceiver<ConsumerMessage>,
}

/// A connection and its channel, shared by the source and every delivery it gave out.
struct Link {
    connection: Connection,
    channel: Channel,
    confirms: Confirms,
    settled: Settled,
    prefetch: u16,
    queue: Arc<str>,
    endpoint: String,
}

/// Connects to `url` and declares `queue` when it does not exist (durable, no arguments),
/// to consume it with a prefetch of `handlers` and manual acknowledgements.
///
/// The consumer is registered (`basic.consume`) at the first [`Source::next`], which the
/// runner calls from `ready()`: a process started by an upgrade in place takes nothing
/// before it is ready, and one that is rolled back took nothing at all.
///
/// `url` is `amqp://[user[:password]@]host[:port][/vhost][?heartbeat=s&connection_timeout=ms]`,
/// percent-encoded as RabbitMQ's URI spec says (the default vhost `/` is `%2f`, or no path).
/// A wrong URL, an unreachable broker or refused credentials is an error at once (the
/// connection is bounded by `connection_timeout`, 10 s by default).
pub async fn source(url: &str, queue: &str, handlers: u16) -> Result<AmqpSource, Error> {
    let endpoint = Endpoint::parse(url)?;
    let queue: Arc<str> = Arc::from(queue);
    let handlers = handlers.max(1);
    let link = open(&endpoint, &queue, handlers).await?;
    Ok(AmqpSource {
        endpoint,
        queue,
        handlers,
        link: Some(Consuming {
            link,
            consumer: None,
        }),
        stopped: false,
    })
}

/// Connects to `url` and declares `queue` as [`source`] does, to publish to it with
/// publisher confirms.
pub async fn publisher(url: &str, queue: &str) -> Result<AmqpPublisher, Error> {
    let endpoint = Endpoint::parse(url)?;
    let queue: Arc<str> = Arc::from(queue);
    let link = open(&endpoint, &queue, 0).await?;
    Ok(AmqpPublisher { link })
}

/// Registers a consumer on the link's channel.
async fn consume(link: &Link) -> Result<Consumer, Error> {
    let tag = format!(
        "graceful-{}-{}",
        std::process::id(),
        NEXT_TAG.fetch_add(1, Ordering::Relaxed)
    );
    let args = BasicConsumeArguments::new(&link.queue, &tag)
        .manual_ack(true)
        .finish();
    let (tag, deliveries) = bounded(link.channel.basic_consume_rx(args), || {
        link.failed("cannot consume from")
    })
    .await?;
    Ok(Consumer { tag, deliveries })
}

static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// Opens a connection and a channel in confirm mode, with `prefetch` (0: none, for a
/// publisher), and makes sure the queue exists.
async fn open(endpoint: &Endpoint, queue: &Arc<str>, prefetch: u16) -> Result<Arc<Link>, Error> {
    let shown = endpoint.shown.clone();
    let connection = match tokio::time::timeout(
        endpoint.connect_timeout,
        Connection::open(&endpoint.args),
    )
    .await
    {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => {
            // RabbitMQ closes the socket on a refused login or an unknown vhost, which
            // amqprs sees as a network error: say so when the port itself answers.
            let addr = (endpoint.args.get_host(), endpoint.args.get_port());
            let answers = matches!(
                tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
                    .await,
                Ok(Ok(_))
            );
            let why = if answers && matches!(e, amqprs::error::Error::NetworkError(_)) {
                ": the broker closed the connection during the handshake (a refused user or password, or an unknown vhost?)"
            } else {
                ""
            };
            return Err(Error::new(format!("cannot connect to {shown}{why}"), e));
        }
        Err(_) => {
            return Err(Error::msg(format!(
                "cannot connect to {shown}: no answer within {:?}",
                endpoint.connect_timeout
            )))
        }
    };
    let failed = |what: &str| format!("{what} queue {queue:?} on {shown}");

    // A passive declaration fails, and closes its channel, when the queue is missing:
    // then it is declared on a fresh one.
    let probe = bounded(connection.open_channel(None), || {
        failed("cannot open a channel for")
    })
    .await?;
    let exists = bounded(
        probe.queue_declare(QueueDeclareArguments::new(queue).passive(true).finish()),
        || failed("cannot declare"),
    )
    .await
    .is_ok();
    if exists {
        let _ = bounded(probe.close(), || {
            failed("cannot close the probe channel of")
        })
        .await;
    } else {
        drop(probe);
    }

    let channel = bounded(connection.open_channel(None), || {
        failed("cannot open a channel for")
    })
    .await?;
    let confirms = Confirms::default();
    bounded(
        channel.register_callback(Callback {
            confirms: confirms.clone(),
        }),
        || failed("cannot watch the channel of"),
    )
    .await?;
    if !exists {
        bounded(
            channel.queue_declare(QueueDeclareArguments::durable_client_named(queue)),
            || failed("cannot declare"),
        )
        .await?;
    }
    bounded(
        channel.confirm_select(ConfirmSelectArguments::new(false)),
        || failed("cannot turn publisher confirms on for"),
    )
    .await?;
    if prefetch > 0 {
        bounded(
            channel.basic_qos(BasicQosArguments::new(0, prefetch, false)),
            || failed("cannot set the prefetch of"),
        )
        .await?;
    }
    let link = Arc::new(Link {
        connection,
        channel,
        confirms,
        settled: Settled::new(prefetch),
        prefetch,
        queue: queue.clone(),
        endpoint: shown,
    });
    settled::watch(&link);
    Ok(link)
}

/// Runs a request to the broker within [`REQUEST_TIMEOUT`], naming what failed.
async fn bounded<T>(
    request: impl std::future::Future<Output = Result<T, amqprs::error::Error>>,
    what: impl FnOnce() -> String,
) -> Result<T, Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::new(what(), e)),
        Err(_) => Err(Error::msg(format!(
            "{}: no answer within {REQUEST_TIMEOUT:?}",
            what()
        ))),
    }
}

impl settled::Channel for Link {
    fn settled(&self) -> &Settled {
        &self.settled
    }

    fn round_trip(&self) -> impl std::future::Future<Output = Result<(), Error>> + Send {
        self.qos_round_trip(|| {
            self.failed("cannot learn whether the broker has the acknowledgements sent on")
        })
    }
}

impl Link {
    fn failed(&self, what: &str) -> String {
        format!("{what} queue {:?} on {}", self.queue, self.endpoint)
    }

    /// Publishes `content` to the queue and waits for the broker's confirm.
    /// `what` says what the publish is for ("cannot publish to").
    async fn publish(
        &self,
        what: &str,
        properties: BasicProperties,
        content: Vec<u8>,
    ) -> Result<(), Error> {
        let confirmed = {
            // The confirm's sequence number is the publish's rank on the channel: take the
            // number and send the publish as one step.
            let _order = self.confirms.order.lock().await;
            let (tx, rx) = oneshot::channel();
            let Some(seq) = self.confirms.expect(tx) else {
                return Err(Error::msg(format!(
                    "{}: the channel is closed (the connection was lost, or the broker closed it)",
                    self.failed(what)
                )));
            };
            if let Err(e) = self
                .channel
                .basic_publish(
                    properties,
                    content,
                    BasicPublishArguments::new("", &self.queue),
                )
                .await
            {
                self.confirms.forget(seq);
                return Err(Error::new(self.failed(what), e));
            }
            rx
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, confirmed).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(Error::msg(format!(
                "{}: the broker refused it (nack)",
                self.failed(what)
            ))),
            Ok(Err(_)) => Err(Error::msg(format!(
                "{}: the channel closed before the broker confirmed the message",
                self.failed(what)
            ))),
            Err(_) => Err(Error::msg(format!(
                "{}: no confirm within {REQUEST_TIMEOUT:?}",
                self.failed(what)
            ))),
        }
    }

    /// Sends one settlement (`verb` says which, of message `id`), then returns once the
    /// broker has handled it. The error's text is made only on an error, not for each
    /// settlement.
    async fn settle(
        &self,
        verb: &str,
        id: &str,
        send: impl std::future::Future<Output = Result<(), amqprs::error::Error>>,
    ) -> Result<(), Error> {
        let sent = self.send_settlement(verb, id, send).await?;
        self.confirmed(sent, verb, id).await
    }

    /// Sends one settlement's frame, counted among the channel's settlements.
    async fn send_settlement(
        &self,
        verb: &str,
        id: &str,
        send: impl std::future::Future<Output = Result<(), amqprs::error::Error>>,
    ) -> Result<Sent, Error> {
        let what = || self.failed(&format!("cannot {verb} message {id} of"));
        match self.settled.send(send).await {
            Ok(sent) => Ok(sent),
            Err(e) if !self.connection.is_open() || !self.channel.is_open() => Err(Error::new(
                format!(
                    "{}: the connection was lost, and the broker returns the message to the queue",
                    what()
                ),
                e,
            )),
            Err(e) => Err(Error::new(what(), e)),
        }
    }

    /// Returns once the broker has handled settlement `sent`: a later delivery proved it,
    /// or a round trip did.
    async fn confirmed(&self, sent: Sent, verb: &str, id: &str) -> Result<(), Error> {
        // qos-ok comes back after the broker handled every earlier frame of the channel.
        // Boxed: a round trip is rare while deliveries prove the settlements, and each
        // settlement's future (part of its handler's task) stays small without it.
        self.settled
            .confirm(sent, || {
                Box::pin(self.qos_round_trip(|| {
                    let what = self.failed(&format!("cannot {verb} message {id} of"));
                    format!("{what}: the broker did not confirm it")
                }))
            })
            .await
    }

    /// A `basic.qos` with the prefetch it has: its `qos-ok` comes back once the broker
    /// handled every earlier frame of the channel.
    ///
    /// One with no answer within [`REQUEST_TIMEOUT`] ends the connection: amqprs would
    /// take its late `qos-ok` for the answer to the next one, which would then prove what
    /// it does not. The broker, which does not answer, is taken for gone (it returns what
    /// was unacknowledged to the queue), and the next `next` connects again.
    async fn qos_round_trip(&self, what: impl FnOnce() -> String) -> Result<(), Error> {
        let qos = self
            .channel
            .basic_qos(BasicQosArguments::new(0, self.prefetch, false));
        match tokio::time::timeout(REQUEST_TIMEOUT, qos).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::new(what(), e)),
            Err(_) => {
                self.give_up();
                Err(Error::msg(format!(
                    "{}: no answer within {REQUEST_TIMEOUT:?}; the connection is closed",
                    what()
                )))
            }
        }
    }

    /// Ends the connection, in the background, for a broker that stopped answering: no
    /// settlement is confirmed on it from now on.
    fn give_up(&self) {
        self.settled.break_off();
        let connection = self.connection.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), connection.close()).await;
        });
    }

    async fn close(&self) -> Result<(), Error> {
        let channel = self.channel.clone();
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, channel.close()).await;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.connection.clone().close()).await {
            Ok(Ok(())) => Ok(()),
            // Already closed (by the broker, or lost): nothing is left to close.
            Ok(Err(_)) if !self.connection.is_open() => Ok(()),
            Ok(Err(e)) => Err(Error::new(
                format!("cannot close the connection to {}", self.endpoint),
                e,
            )),
            Err(_) => Err(Error::msg(format!(
                "cannot close the connection to {}: no answer within {REQUEST_TIMEOUT:?}",
                self.endpoint
            ))),
        }
    }
}

/// Publisher confirms: the channel's publishes in order, each waiting for its confirm.
#[derive(Clone, Default)]
struct Confirms {
    order: Arc<tokio::sync::Mutex<()>>,
    state: Arc<Mutex<ConfirmState>>,
}

#[derive(Default)]
struct ConfirmState {
    last: u64,
    waiting: BTreeMap<u64, oneshot::Sender<bool>>,
    closed: bool,
}

impl Confirms {
    /// The sequence number of the publish about to be sent, whose confirm goes to `tx`;
    /// `None` once the channel is closed.
    fn expect(&self, tx: oneshot::Sender<bool>) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closed {
            return None;
        }
        state.last += 1;
        let seq = state.last;
        state.waiting.insert(seq, tx);
        Some(seq)
    }

    fn forget(&self, seq: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.remove(&seq);
    }

    fn resolve(&self, tag: u64, multiple: bool, ok: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let done: Vec<u64> = if multiple {
            state.waiting.range(..=tag).map(|(k, _)| *k).collect()
        } else {
            vec![tag]
        };
        for seq in done {
            if let Some(tx) = state.waiting.remove(&seq) {
                let _ = tx.send(ok);
            }
        }
    }

    /// The channel is gone: no confirm will come.
    fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.closed = true;
        state.waiting.clear();
    }
}

/// The channel's events: confirms, and the broker closing the channel or cancelling the
/// consumer (the queue was deleted), after which the consumer's deliveries end.
struct Callback {
    confirms: Confirms,
}

impl Drop for Callback {
    fn drop(&mut self) {
        // The channel's dispatcher ended (the channel or the connection is gone).
        self.confirms.close();
    }
}

#[async_trait::async_trait]
impl ChannelCallback for Callback {
    async fn close(
        &mut self,
        _: &Channel,
        close: CloseChannel,
    ) -> Result<(), amqprs::error::Error> {
        tracing::warn!(reason = %close, "the broker closed the channel");
        self.confirms.close();
        Ok(())
    }

    async fn cancel(&mut self, _: &Channel, _: Cancel) -> Result<(), amqprs::error::Error> {
        tracing::warn!("the broker cancelled the consumer (was the queue deleted?)");
        Ok(())
    }

    async fn flow(&mut self, _: &Channel, active: bool) -> Result<bool, amqprs::error::Error> {
        Ok(active)
    }

    async fn publish_ack(&mut self, _: &Channel, ack: Ack) {
        self.confirms
            .resolve(ack.delivery_tag(), ack.mutiple(), true);
    }

    async fn publish_nack(&mut self, _: &Channel, nack: Nack) {
        self.confirms
            .resolve(nack.delivery_tag(), nack.multiple(), false);
    }

    async fn publish_return(&mut self, _: &Channel, _: Return, _: BasicProperties, _: Vec<u8>) {}
}

impl AmqpSource {
    fn deliver(link: &Arc<Link>, message: ConsumerMessage) -> Option<AmqpDelivery> {
        let deliver = message.deliver?;
        let properties = message.basic_properties.unwrap_or_default();
        let content = message.content.unwrap_or_default();
        let tag = deliver.delivery_tag();
        if !link.settled.delivered(tag) {
            tracing::warn!(
                queue = %link.queue,
                broker = %link.endpoint,
                prefetch = link.prefetch,
                "the broker sent more unacknowledged messages than the prefetch: from now on each acknowledgement is confirmed by a round trip"
            );
        }
        let attempt = properties
            .headers()
            .and_then(|h| h.get(&ATTEMPT_HEADER.try_into().ok()?).and_then(attempt_of))
            .unwrap_or(1);
        let id: Arc<str> = match properties.message_id() {
            Some(id) => Arc::from(id.as_str()),
            None => Arc::from(tag.to_string()),
        };
        Some(AmqpDelivery {
            message: Message::new(id, content, attempt),
            tag,
            properties: Box::new(properties),
            link: link.clone(),
        })
    }
}

fn attempt_of(value: &FieldValue) -> Option<u32> {
    let n: i64 = match *value {
        FieldValue::b(v) => v.into(),
        FieldValue::B(v) => v.into(),
        FieldValue::s(v) => v.into(),
        FieldValue::u(v) => v.into(),
        FieldValue::I(v) => v.into(),
        FieldValue::i(v) => v.into(),
        FieldValue::l(v) => v,
        _ => return None,
    };
    u32::try_from(n).ok().filter(|n| *n >= 1)
}

impl Source for AmqpSource {
    type Delivery = AmqpDelivery;

    async fn next(&mut self) -> Result<AmqpDelivery, Error> {
        loop {
            if self.stopped {
                // After stop nothing arrives: wait for the shutdown to drop this future.
                std::future::pending::<()>().await;
            }
            let consuming = match &mut self.link {
                Some(consuming) => consuming,
                None => {
                    // The connection was lost: connect again (an error is returned to the
                    // runner, which calls again after a pause).
                    let link = Box::pin(open(&self.endpoint, &self.queue, self.handlers)).await?;
                    tracing::info!(queue = %self.queue, broker = %self.endpoint.shown, "connected again");
                    self.link.insert(Consuming {
                        link,
                        consumer: None,
                    })
                }
            };
            let consumer = match &mut consuming.consumer {
                Some(consumer) => consumer,
                None => {
                    let consumer = match Box::pin(consume(&consuming.link)).await {
                        Ok(consumer) => consumer,
                        Err(e) => {
                            // The channel may hold a consumer the broker registered all the
                            // same (a request that timed out): its deliveries would count
                            // among the channel's tags. The next call starts afresh.
                            if let Some(lost) = self.link.take() {
                                lost.link.give_up();
                            }
                            return Err(e);
                        }
                    };
                    consuming.consumer.insert(consumer)
                }
            };
            // A message buffered before the connection was lost is back in the queue and
            // can no longer be settled: it is not started here.
            let lost = !consuming.link.connection.is_open() || !consuming.link.channel.is_open();
            // Cancel-safe: a message is either still in the channel or returned here.
            let received = if lost {
                None
            } else {
                consumer.deliveries.recv().await
            };
            match received {
                Some(message) => {
                    if let Some(delivery) = Self::deliver(&consuming.link, message) {
                        return Ok(delivery);
                    }
                }
                None => {
                    let lost = self.link.take().map(|c| c.link);
                    if let Some(link) = lost {
                        link.settled.no_more_deliveries();
                        let close = Box::pin(link.close());
                        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
                    }
                    return Err(Error::msg(format!(
                        "lost the consumer of queue {:?} on {}: the connection or channel closed; what it held is back in the queue",
                        self.queue, self.endpoint.shown
                    )));
                }
            }
        }
    }

    async fn stop(&mut self) -> Result<Vec<AmqpDelivery>, Error> {
        self.stopped = true;
        let Some(Consuming {
            link,
            consumer: Some(consumer),
        }) = &mut self.link
        else {
            // Never consumed, or lost: nothing can arrive.
            return Ok(Vec::new());
        };
        let link = link.clone();
        // Settlements from now on are proved by round trips: no delivery will follow them.
        link.settled.no_more_deliveries();
        let cancelled = bounded(
            link.channel
                .basic_cancel(BasicCancelArguments::new(&consumer.tag)),
            || link.failed("cannot cancel the consumer of"),
        )
        .await;
        let mut held = Vec::new();
        match cancelled {
            Ok(_) => {
                // Everything sent before cancel-ok is in the channel; it ends when the
                // consumer is deregistered.
                while let Ok(Some(message)) =
                    tokio::time::timeout(Duration::from_secs(5), consumer.deliveries.recv()).await
                {
                    held.extend(Self::deliver(&link, message));
                }
            }
            Err(e) => {
                // The channel is unusable: nothing more can arrive on it, and the broker
                // requeues what it held when it closes.
                tracing::warn!(error = %e, "the consumer could not be cancelled");
                while let Ok(message) = consumer.deliveries.try_recv() {
                    held.extend(Self::deliver(&link, message));
                }
            }
        }
        Ok(held)
    }

    async fn close(self) -> Result<(), Error> {
        match self.link {
            Some(consuming) => consuming.link.close().await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for AmqpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSource")
            .field("broker", &self.endpoint.shown)
            .field("queue", &self.queue)
            .field("prefetch", &self.handlers)
            .finish()
    }
}

/// One message taken from a RabbitMQ queue, unacknowledged until settled.
pub struct AmqpDelivery {
    message: Message,
    tag: u64,
    /// Boxed: read only by a retry, and a delivery is moved with its handler's task.
    properties: Box<BasicProperties>,
    link: Arc<Link>,
}

impl fmt::Debug for AmqpDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpDelivery")
            .field("message", &self.message)
            .field("delivery_tag", &self.tag)
            .finish()
    }
}

impl AmqpDelivery {
    async fn nack(self, requeue: bool, verb: &str) -> Result<(), Error> {
        let args = BasicNackArguments::new(self.tag, false, requeue);
        self.link
            .settle(verb, self.message.id(), self.link.channel.basic_nack(args))
            .await
    }
}

impl Delivery for AmqpDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    /// `basic.ack`, then a later delivery or a round trip that shows the broker handled it.
    async fn ack(self) -> Result<(), Error> {
        self.link
            .settle(
                "acknowledge",
                self.message.id(),
                self.link
                    .channel
                    .basic_ack(BasicAckArguments::new(self.tag, false)),
            )
            .await
    }

    /// `basic.ack`, its outcome reported where a later delivery shows the broker handled
    /// it (no task waits for it), or else after a round trip.
    async fn ack_then(self, acked: Acked) {
        let AmqpDelivery {
            message, tag, link, ..
        } = self;
        let send = link.channel.basic_ack(BasicAckArguments::new(tag, false));
        match link
            .send_settlement("acknowledge", message.id(), send)
            .await
        {
            Err(e) => acked.report(Err(e)),
            Ok(sent) => {
                if let Some(acked) = link.settled.confirm_then(sent, acked) {
                    acked.report(link.confirmed(sent, "acknowledge", message.id()).await);
                }
            }
        }
    }

    /// A copy with `graceful-attempt` one more is published and confirmed, then the
    /// original is acknowledged. A crash between the two leaves both in the queue: the
    /// message runs once more, as after any crash.
    async fn retry(self) -> Result<(), Error> {
        let mut properties = *self.properties.clone();
        let mut headers = properties.headers().cloned().unwrap_or_default();
        let next = i64::from(self.message.attempt()) + 1;
        let name: amqprs::FieldName = ATTEMPT_HEADER.try_into().expect("a short header name");
        // Removed first: amqprs's table counts an overwritten entry's size twice, and the
        // broker refuses the frame.
        headers.remove(&name);
        headers.insert(name, FieldValue::l(next));
        properties.with_headers(headers);
        if properties.delivery_mode().is_none() {
            properties.with_persistence(true);
        }
        let what = format!(
            "cannot retry message {}: cannot publish its next attempt to",
            self.message.id()
        );
        Box::pin(
            self.link
                .publish(&what, properties, self.message.payload().to_vec()),
        )
        .await?;
        self.ack().await
    }

    /// `basic.nack` without requeue: to the queue's dead-letter exchange if it has one,
    /// else dropped by RabbitMQ.
    async fn reject(self) -> Result<(), Error> {
        self.nack(false, "reject").await
    }

    /// `basic.nack` with requeue: back at its place in the queue at once, counting no
    /// attempt.
    async fn hand_back(self) -> Result<(), Error> {
        self.nack(true, "hand back").await
    }
}

/// Publishes to one RabbitMQ queue through the default exchange, persistent, each
/// [`publish`](Publish::publish) returning once the broker confirmed it.
pub struct AmqpPublisher {
    link: Arc<Link>,
}

impl AmqpPublisher {
    /// Closes the channel and the connection.
    pub async fn close(self) -> Result<(), Error> {
        self.link.close().await
    }
}

impl fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpPublisher")
            .field("broker", &self.link.endpoint)
            .field("queue", &self.link.queue)
            .finish()
    }
}

/// The queue and the broker, without the password: `queue "orders" on amqp://app@host:5672/%2f`.
impl fmt::Display for AmqpPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue {:?} on {}", self.link.queue, self.link.endpoint)
    }
}

impl Publish for AmqpPublisher {
    async fn publish(&self, payload: &[u8]) -> Result<(), Error> {
        let properties = BasicProperties::default().with_persistence(true).finish();
        self.link
            .publish("cannot publish to", properties, payload.to_vec())
            .await
    }
}

/// Where to connect, and the URL as it may be shown (no password).
struct Endpoint {
    args: OpenConnectionArguments,
    shown: String,
    connect_timeout: Duration,
}

impl Endpoint {
    /// `amqp://[user[:password]@]host[:port][/vhost][?query]`, percent-decoded.
    fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |why: &str| {
            Error::msg(format!(
                "bad AMQP URL {}: {why} (expected amqp://user:password@host:port/vhost)",
                redact(url)
            ))
        };
        let rest = url
            .strip_prefix("amqp://")
            .ok_or_else(|| bad("the scheme must be amqp://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, path),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (decode(user), decode(password)),
                None => (decode(info), String::from("guest")),
            },
            None => (String::from("guest"), String::from("guest")),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            _ => (hostport, 5672),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let vhost = if path.is_empty() {
            String::from("/")
        } else {
            decode(path)
        };
        let mut args = OpenConnectionArguments::new(host, port, &user, &password);
        args.virtual_host(&vhost);
        let mut connect_timeout = CONNECT_TIMEOUT;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "heartbeat" => {
                    let s = value
                        .parse::<u16>()
                        .map_err(|_| bad("heartbeat is not a number of seconds"))?;
                    args.heartbeat(s);
                }
                "connection_timeout" => {
                    let ms = value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms > 0)
                        .ok_or_else(|| {
                            bad("connection_timeout is not a positive number of milliseconds")
                        })?;
                    connect_timeout = Duration::from_millis(ms);
                }
                _ => {}
            }
        }
        args.connection_name(&format!("graceful {}", std::process::id()));
        Ok(Endpoint {
            args: args.finish(),
            shown: redact(url),
            connect_timeout,
        })
    }
}

/// The URL without its password.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// Percent-decoding, as AMQP URIs are written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_decoded_and_shown_without_password() {
        let e = Endpoint::parse("amqp://us%40r:p%3Ass@rabbit.local:5673/%2f?heartbeat=5").unwrap();
        assert_eq!(e.args.get_host(), "rabbit.local");
        assert_eq!(e.args.get_port(), 5673);
        assert_eq!(e.args.get_virtual_host(), "/");
        assert_eq!(e.args.get_heartbeat(), 5);
        assert_eq!(e.shown, "amqp://us%40r@rabbit.local:5673/%2f?heartbeat=5");
        let e = Endpoint::parse("amqp://localhost/prod").unwrap();
        assert_eq!(e.args.get_port(), 5672);
        assert_eq!(e.args.get_virtual_host(), "prod");
        let e = Endpoint::parse("amqp://localhost").unwrap();
        assert_eq!(e.args.get_virtual_host(), "/");
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason_and_no_password() {
        for (url, why) in [
            ("http://u:secret@h/", "the scheme must be amqp://"),
            ("amqp://u:secret@h:port/", "the port is not a number"),
            ("amqp://u:secret@/", "no host"),
            ("amqp://u:secret@h/?heartbeat=x", "heartbeat"),
            (
                "amqp://u:secret@h/?connection_timeout=0",
                "connection_timeout",
            ),
        ] {
            let e = Endpoint::parse(url).err().expect(url).to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("secret"), "{url}: {e}");
        }
    }

    #[test]
    fn attempts_are_read_from_any_integer_header() {
        assert_eq!(attempt_of(&FieldValue::l(3)), Some(3));
        assert_eq!(attempt_of(&FieldValue::I(2)), Some(2));
        assert_eq!(attempt_of(&FieldValue::l(0)), None);
        assert_eq!(attempt_of(&FieldValue::t(true)), None);
    }
}
