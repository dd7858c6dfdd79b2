//! Where the queue is (`--queue URL`), and opening it: one match arm per kind of queue,
//! each handing the same generic service (`crate::run`) its publisher and its source.
//!
//! A kind of queue is added in four places here: a variant of [`QueueUrl`], its scheme
//! in [`parse`] (and in [`SCHEMES`] and [`HELP`]), and an arm of [`open_and_run`] that
//! builds an [`Opened`] (`census: None` where the broker cannot count its queue).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use graceful::consume::sqlite::SqliteQueue;

use crate::cli::Cli;

/// What `--help` says of `--queue`, at its end.
pub(crate) const HELP: &str = "\
Queues (--queue): a SQLite file, as a path or sqlite://PATH (the default, in the system's \
temporary directory); RabbitMQ, amqp://user:password@host:port/vhost (the default vhost is \
%2f); a PostgreSQL table, postgres://user:password@host:port/database; a Redis stream, \
redis://[:PASSWORD@]HOST[:PORT][/DB]; a NATS JetStream stream, \
nats://[USER:PASSWORD@]HOST[:PORT]. --queue-name names the queue, the table, the stream or \
the subject; --lease is Redis's claim time or JetStream's ack wait. A URL of another scheme is refused with exit code 2, naming the \
schemes accepted; a broker that cannot be reached or refuses the login ends the program \
at once with exit code 1.";

/// The schemes `--queue` accepts, as the refusal of another one names them.
const SCHEMES: &str =
    "sqlite:// (or a plain path), amqp://, postgres:// (or postgresql://), redis://, nats://";

/// Where the queue is.
#[derive(Clone, Debug)]
pub(crate) enum QueueUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A RabbitMQ broker.
    Amqp(String),
    /// A PostgreSQL database.
    Postgres(String),
    /// A Redis stream: the URL as given.
    Redis(String),
    /// A NATS JetStream stream: the URL as given.
    Nats(String),
}

/// Reads `--queue`: a path, or `scheme://...`.
pub(crate) fn parse(text: &str) -> Result<QueueUrl, String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        if text.trim().is_empty() {
            return Err("an empty queue: give a path or a URL".into());
        }
        return Ok(QueueUrl::Sqlite(PathBuf::from(text)));
    };
    match scheme {
        "sqlite" if !rest.is_empty() => Ok(QueueUrl::Sqlite(PathBuf::from(rest))),
        "sqlite" => Err("sqlite:// needs a path: sqlite:///var/lib/queue.sqlite3".into()),
        "amqp" => Ok(QueueUrl::Amqp(text.to_string())),
        "postgres" | "postgresql" => Ok(QueueUrl::Postgres(text.to_string())),
        "redis" | "redis+unix" => Ok(QueueUrl::Redis(text.to_owned())),
        "nats" => Ok(QueueUrl::Nats(text.to_owned())),
        other => Err(format!(
            "the scheme {other:?} is not one this program knows; accepted: {SCHEMES}"
        )),
    }
}

/// The queue's own counts, where it can tell them (a SQLite file can).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) enqueued: u64,
    pub(crate) pending: u64,
    pub(crate) in_flight: u64,
    pub(crate) done: u64,
}

/// Counts the whole queue.
pub(crate) trait Census: Send + Sync {
    fn counts(&self) -> anyhow::Result<Counts>;
}

/// A queue opened: what the generic service needs of it.
pub(crate) struct Opened<P, S> {
    /// Sends the producer's messages.
    pub(crate) publisher: P,
    /// What the consumer takes messages from.
    pub(crate) source: S,
    /// The whole queue's counts, where it can tell them.
    pub(crate) census: Option<Arc<dyn Census>>,
    /// The queue as the lines name it.
    pub(crate) shown: String,
    /// Closes what the publisher and the census hold, last.
    pub(crate) unplug: Unplugger,
}

/// Closes what a queue's publisher and census hold: once, from the unplug hook.
pub(crate) struct Unplugger(Mutex<Option<CloseFn>>);

/// What closes a queue's connections.
type CloseFn = Box<dyn FnOnce() -> anyhow::Result<()> + Send>;

impl Unplugger {
    pub(crate) fn new(f: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> Self {
        Unplugger(Mutex::new(Some(Box::new(f))))
    }

    pub(crate) fn run(&self) -> anyhow::Result<()> {
        let f = self.0.lock().unwrap().take();
        f.map_or(Ok(()), |f| f())
    }
}

/// Opens the queue the command line names and runs the service on it.
pub(crate) async fn open_and_run(cli: Cli) -> anyhow::Result<()> {
    let consumer = cli.consumer();
    match cli.queue() {
        QueueUrl::Sqlite(path) => {
            let shown = path.display().to_string();
            let context = || format!("cannot open the queue at {shown}");
            // One connection for the producer and the counts, one for the consumer: the
            // consumer's closes when it has settled its last message, the other in the
            // unplug hook, after the final counts.
            let queue = SqliteQueue::open(&path, &cli.queue_name).with_context(context)?;
            let source = SqliteQueue::open(&path, &cli.queue_name)
                .with_context(context)?
                .source(&consumer, cli.lease, graceful::upgraded_from());
            let closing = queue.clone();
            let opened = Opened {
                publisher: queue.clone(),
                source,
                census: Some(Arc::new(SqliteCensus(queue))),
                shown: shown.clone(),
                unplug: Unplugger::new(move || Ok(closing.close()?)),
            };
            crate::run(cli, opened).await
        }
        // A broker's errors name the URL (without its password) and the queue.
        QueueUrl::Amqp(url) => {
            use graceful::consume::amqp;
            let publisher = amqp::publisher(&url, &cli.queue_name).await?;
            let source = amqp::source(&url, &cli.queue_name, cli.workers).await?;
            let opened = Opened {
                shown: publisher.to_string(),
                publisher,
                source,
                census: None,
                // The publisher's connection closes when the service drops it.
                unplug: Unplugger::new(|| Ok(())),
            };
            crate::run(cli, opened).await
        }
        QueueUrl::Postgres(url) => {
            use graceful::consume::postgres;
            let publisher = postgres::publisher(&url, &cli.queue_name).await?;
            let source = postgres::source(&url, &cli.queue_name, cli.workers).await?;
            let opened = Opened {
                shown: publisher.to_string(),
                publisher,
                source,
                census: None,
                unplug: Unplugger::new(|| Ok(())),
            };
            crate::run(cli, opened).await
        }
        QueueUrl::Redis(url) => {
            use graceful::consume::redis;
            let publisher = redis::publisher(&url, &cli.queue_name).await?;
            let source = redis::Options::new()
                .consumer(consumer)
                .claim_after(cli.lease)
                .source(&url, &cli.queue_name, cli.workers)
                .await?;
            let opened = Opened {
                publisher,
                source,
                census: None,
                shown: format!("Redis stream {}", cli.queue_name),
                // The publisher's connection closes when the producer ends.
                unplug: Unplugger::new(|| Ok(())),
            };
            crate::run(cli, opened).await
        }
        QueueUrl::Nats(url) => {
            use graceful::consume::nats;
            let publisher = nats::publisher(&url, &cli.queue_name).await?;
            let source = nats::Options::new()
                .ack_wait(cli.lease)
                .source(&url, &cli.queue_name, cli.workers)
                .await?;
            let opened = Opened {
                publisher,
                source,
                census: None,
                shown: format!("NATS JetStream stream {}", cli.queue_name),
                unplug: Unplugger::new(|| Ok(())),
            };
            crate::run(cli, opened).await
        }
    }
}

struct SqliteCensus(SqliteQueue);

impl Census for SqliteCensus {
    fn counts(&self) -> anyhow::Result<Counts> {
        let c = self.0.counts()?;
        Ok(Counts {
            enqueued: c.total(),
            pending: c.pending,
            in_flight: c.in_progress,
            done: c.done,
        })
    }
}
