//! The command line. Every flag can also come from the environment, as a container
//! platform would set it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// A queue worker that stops without losing a message, on a durable SQLite queue.
///
/// A producer enqueues messages, workers take one each, work on it and acknowledge it.
/// --rate 0 only consumes; --workers 0 only produces.
/// Press Ctrl-C (or send SIGTERM) to watch the shutdown: /healthz answers 503, intake
/// stops after a one-second drain delay, the messages in flight are finished, any that
/// cannot finish before the deadline go back to pending, the consumer unplugs from the
/// queue, and the scratch files are removed. A second Ctrl-C exits at once. SIGHUP
/// upgrades in place: the binary now on disk takes over with no pause in consumption,
/// while this process finishes what it holds.
///
/// Instances that share one database file share the queue, like replicas of a service
/// share a broker. A killed instance loses nothing either: what it held returns to
/// pending when its lease runs out, or at once when it starts again under the same
/// --consumer name.
///
/// Exit codes: 0 clean; 1 the queue or the health address could not be used at start;
/// 2 a bad flag (a --queue URL of a scheme not accepted among them); 124 work was cut
/// at the deadline and handed back; 130/143 a second Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "queue_worker", version, after_help = crate::queue::HELP)]
pub(crate) struct Cli {
    /// Messages the producer enqueues per second, at most 1000000; 0 only consumes.
    #[arg(long, env = "QUEUE_WORKER_RATE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(..=i64::from(MAX_RATE)))]
    pub(crate) rate: u32,

    /// How long one message takes to process (e.g. 3s, 250ms).
    #[arg(long, env = "QUEUE_WORKER_OP_TIME", default_value = "3s", value_parser = duration)]
    pub(crate) op_time: Duration,

    /// Parallel workers, each processing one message at a time; 0 only produces.
    #[arg(long, env = "QUEUE_WORKER_WORKERS", default_value_t = 20)]
    pub(crate) workers: u16,

    /// Where the queue is: a SQLite file (a path, or sqlite://PATH), created if missing,
    /// by default in the system's temporary directory. Instances that share it share
    /// the queue. Accepted schemes: see --help's end.
    #[arg(long, env = "QUEUE_WORKER_QUEUE", value_parser = crate::queue::parse,
          conflicts_with = "db")]
    pub(crate) queue: Option<crate::queue::QueueUrl>,

    /// The queue's SQLite file: the same as --queue PATH.
    #[arg(long, env = "QUEUE_WORKER_DB")]
    pub(crate) db: Option<PathBuf>,

    /// The queue's name (a table's rows, a broker's queue, stream or subject), so that
    /// several runs can share one file or broker.
    #[arg(long, env = "QUEUE_WORKER_QUEUE_NAME", default_value = "queue_worker")]
    pub(crate) queue_name: String,

    /// A file to which the producer appends `sent <id>` for each message it sent and the
    /// workers `done <id> <pid>` for each message acknowledged, one line each, so that
    /// anyone can check that nothing was lost or done twice. Several processes may share
    /// it.
    #[arg(long, env = "QUEUE_WORKER_JOURNAL")]
    pub(crate) journal: Option<PathBuf>,

    /// The shutdown budget, from the signal to the exit (e.g. 25s, 1500ms): match it to
    /// the orchestrator's grace period. GRACEFUL_DEADLINE, when set, wins over it, as it
    /// wins over any deadline a program sets.
    #[arg(long, default_value = "10s", value_parser = deadline)]
    pub(crate) deadline: Duration,

    /// How long a taken message stays reserved for this instance without a heartbeat
    /// (at least 1s); a killed instance's messages return to pending after it.
    #[arg(long, env = "QUEUE_WORKER_LEASE", default_value = "30s", value_parser = lease)]
    pub(crate) lease: Duration,

    /// This instance's name in the queue (default: queue-worker-<host>-<pid>, the host
    /// from $HOSTNAME, as containers and pods set it). Give a restarted instance the same
    /// name to reclaim at once what a killed one held; never run two instances under one
    /// name at the same time.
    #[arg(long, env = "QUEUE_WORKER_CONSUMER")]
    pub(crate) consumer: Option<String>,

    /// Where /healthz and /metrics listen; port 0 picks a free port.
    #[arg(long, env = "QUEUE_WORKER_HEALTH", default_value = "127.0.0.1:0")]
    pub(crate) health: SocketAddr,
}

impl Cli {
    pub(crate) fn consumer(&self) -> String {
        self.consumer.clone().unwrap_or_else(default_consumer)
    }

    /// Where the queue is: --queue, or --db, or the default file.
    pub(crate) fn queue(&self) -> crate::queue::QueueUrl {
        match (&self.queue, &self.db) {
            (Some(url), _) => url.clone(),
            (None, Some(db)) => crate::queue::QueueUrl::Sqlite(db.clone()),
            (None, None) => crate::queue::QueueUrl::Sqlite(default_db()),
        }
    }
}

/// Unique among live instances: in a container every instance may be pid 1, but each
/// pod or container has a host name of its own. A container restarted in place keeps
/// both, and so reclaims at once what it held when it was killed.
fn default_consumer() -> String {
    let pid = std::process::id();
    match std::env::var("HOSTNAME") {
        Ok(host) if !host.trim().is_empty() => format!("queue-worker-{}-{pid}", host.trim()),
        _ => format!("queue-worker-{pid}"),
    }
}

/// Next to the system's temporary files, so that a first run needs no setup and the
/// next run finds what the last one left pending.
fn default_db() -> PathBuf {
    std::env::temp_dir().join("graceful-queue-worker.sqlite3")
}

/// Far more than one SQLite writer takes; a rate above a billion would make the
/// producer's tick zero.
const MAX_RATE: u32 = 1_000_000;

/// The shortest lease. The heartbeat renews a lease three times over its length; a
/// shorter one would run out on a live instance between two renewals, and another
/// instance would take the message again while this one still works on it.
const MIN_LEASE: Duration = Duration::from_secs(1);

fn lease(text: &str) -> Result<Duration, String> {
    let lease = duration(text)?;
    if lease < MIN_LEASE {
        return Err(format!(
            "a lease shorter than {} would run out while the message is still being worked on",
            humantime::format_duration(MIN_LEASE)
        ));
    }
    Ok(lease)
}

/// Longer than the drain delay, which it holds, and than a year no orchestrator waits.
fn deadline(text: &str) -> Result<Duration, String> {
    let deadline = duration(text)?;
    if deadline <= crate::DRAIN_DELAY {
        return Err(format!(
            "the deadline must be longer than the {} drain delay it holds",
            humantime::format_duration(crate::DRAIN_DELAY)
        ));
    }
    if deadline > Duration::from_secs(365 * 24 * 3600) {
        return Err("a deadline longer than a year: no orchestrator waits that long".into());
    }
    Ok(deadline)
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration like 3s or 250ms)"))
}
