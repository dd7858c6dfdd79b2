//! A queue consumer for the `consume` benchmark: graceful's runner
//! (`graceful::consume::Consumer`) or a loop written by hand on the same client crate, on
//! the queue `BENCH_QUEUE_NAME` at `BENCH_QUEUE_URL` (`sqlite:PATH`, `amqp://…`,
//! `postgres://…`, `redis://…`, `nats://…`), or `memory:`, a broker in this process
//! (`memory.rs`) that shows the runner's own cost without a broker's.
//!
//! - `BENCH_MODE`: `runner` (default), `by-hand`, or (RabbitMQ only) `by-hand-confirmed`:
//!   the loop by hand that also learns, as the runner does, that the broker has each
//!   acknowledgement before it counts it (AMQP 0-9-1 answers none: a `basic.qos` round
//!   trip after it, shared by the acknowledgements sent meanwhile).
//! - `BENCH_HANDLERS` (default 20): handlers at once; the prefetch, pull size or
//!   connections follow it.
//! - `BENCH_OPERATION_MS` (default 0): how long each handler works, on tokio's timer.
//! - `BENCH_COUNT` (default 0: no end): after that many acknowledgements, print
//!   `consumed <n> in <ns> cpu <ns>` (from the first handler's start, so that neither the
//!   runner's nor the loop's connections count; the CPU time every thread of the process
//!   used meanwhile, `cpu -` where Linux's `/proc` cannot tell) and shut down.
//! - `BENCH_TRACE=PATH`: append to PATH `took <payload> <ns>` as a handler starts,
//!   `ended <payload> <ns>` as it ends and `acked <payload> <ns>` once its
//!   acknowledgement returned, on the clock every process shares; one write a line, so
//!   that the processes of an upgrade share the file.
//!
//! It prints `ready <pid>` and starts consuming, then says `graceful::ready()`. An upgrade in
//! place (`SIGHUP`) starts a new process of the same settings, which consumes from its
//! `ready()` while this one finishes what it holds. Unix only; elsewhere it says so and
//! exits 2.

#[cfg(unix)]
mod by_hand;
#[cfg(unix)]
mod memory;

#[cfg(unix)]
use std::io::Write;
#[cfg(unix)]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(unix)]
use std::sync::{Arc, Mutex, OnceLock};
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use graceful::consume::{Consumer, Message, Source};
#[cfg(unix)]
use graceful_benches::{clock, setting};

/// What every handler does, the runner's and the hand-written loops' alike.
#[cfg(unix)]
#[derive(Clone)]
pub(crate) struct Work {
    operation: Duration,
    trace: Option<Arc<Mutex<std::fs::File>>>,
    count: usize,
    acked: Arc<AtomicUsize>,
    /// When the first handler started, and the process's CPU time then.
    began: Arc<OnceLock<(Instant, Option<u64>)>>,
}

#[cfg(unix)]
impl Work {
    /// One line of the trace, in one write.
    fn trace(&self, what: &str, payload: &[u8]) {
        if let Some(file) = &self.trace {
            let text = String::from_utf8_lossy(payload);
            let line = format!("{what} {text} {}\n", clock::now_ns());
            let written = file.lock().unwrap().write_all(line.as_bytes());
            written.expect("the trace is written");
        }
    }

    /// The handler's body: say when it starts, work, say when it ends.
    pub(crate) async fn handle(&self, payload: &[u8]) {
        self.began.get_or_init(|| (Instant::now(), cpu_ns()));
        self.trace("took", payload);
        if !self.operation.is_zero() {
            tokio::time::sleep(self.operation).await;
        }
        self.trace("ended", payload);
    }

    /// After each confirmed acknowledgement: the end of a counted run.
    pub(crate) fn acked(&self, payload: &[u8]) {
        self.trace("acked", payload);
        let n = self.acked.fetch_add(1, Ordering::AcqRel) + 1;
        if n == self.count {
            let (began, cpu_then) = self
                .began
                .get()
                .expect("a handler ran before its acknowledgement");
            let cpu = match (cpu_then, cpu_ns()) {
                (Some(then), Some(now)) => now.saturating_sub(*then).to_string(),
                _ => "-".to_owned(),
            };
            println!("consumed {n} in {} cpu {cpu}", began.elapsed().as_nanos());
            graceful::request_shutdown("consumed every message");
        }
    }
}

/// The CPU time, in nanoseconds, that the threads of this process now running have used:
/// the sum of each one's time on a CPU in `/proc/self/task/*/schedstat` (Linux). A thread
/// that ended meanwhile is not counted (the runtime's threads live as long as the process).
#[cfg(unix)]
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for thread in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(thread) = thread else { continue };
        // A thread that ended since the listing has no file left: skipped.
        if let Ok(stat) = std::fs::read_to_string(thread.path().join("schedstat")) {
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

#[cfg(unix)]
#[graceful::main(upgrade, deadline = "30s")]
async fn main() -> Result<(), graceful::consume::Error> {
    let url: String = setting("BENCH_QUEUE_URL", None);
    let queue: String = setting("BENCH_QUEUE_NAME", Some("bench_consume"));
    let mode: String = setting("BENCH_MODE", Some("runner"));
    let handlers: u16 = setting("BENCH_HANDLERS", Some("20"));
    let work = Work {
        operation: Duration::from_millis(setting("BENCH_OPERATION_MS", Some("0"))),
        trace: std::env::var_os("BENCH_TRACE").map(|path| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("the trace file opens");
            Arc::new(Mutex::new(file))
        }),
        count: setting("BENCH_COUNT", Some("0")),
        acked: Arc::default(),
        began: Arc::default(),
    };
    match mode.as_str() {
        "runner" => runner(&url, &queue, handlers, work).await,
        "by-hand" => by_hand::run(&url, &queue, handlers, work, false).await,
        "by-hand-confirmed" => by_hand::run(&url, &queue, handlers, work, true).await,
        other => {
            eprintln!("bench-consume: BENCH_MODE={other:?}: runner, by-hand or by-hand-confirmed");
            std::process::exit(2)
        }
    }
}

/// graceful's runner over the source of `url`, with the default options.
#[cfg(unix)]
async fn runner(
    url: &str,
    queue: &str,
    handlers: u16,
    work: Work,
) -> Result<(), graceful::consume::Error> {
    use graceful::consume::{amqp, nats, postgres, redis, sqlite::SqliteQueue};
    if url == "memory:" {
        let broker = memory::start(work.count, usize::from(handlers));
        consume(memory::MemorySource(broker), handlers, work).await
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let consumer = format!("bench-{}", std::process::id());
        let source = SqliteQueue::open(path, queue)?.source(
            consumer,
            Duration::from_secs(30),
            graceful::upgraded_from(),
        );
        consume(source, handlers, work).await
    } else if url.starts_with("amqp") {
        consume(amqp::source(url, queue, handlers).await?, handlers, work).await
    } else if url.starts_with("postgres") {
        consume(
            postgres::source(url, queue, handlers).await?,
            handlers,
            work,
        )
        .await
    } else if url.starts_with("redis") {
        consume(redis::source(url, queue, handlers).await?, handlers, work).await
    } else if url.starts_with("nats") {
        consume(nats::source(url, queue, handlers).await?, handlers, work).await
    } else {
        eprintln!("bench-consume: BENCH_QUEUE_URL={url:?}: no such source");
        std::process::exit(2)
    }
}

#[cfg(unix)]
async fn consume<S: Source>(
    source: S,
    handlers: u16,
    work: Work,
) -> Result<(), graceful::consume::Error> {
    let acked = work.clone();
    let handle = Consumer::new("bench", source)
        .handlers(usize::from(handlers))
        .on_acked(move |message| acked.acked(message.payload()));
    println!("ready {}", std::process::id());
    let handle = handle.start(move |message: Message| {
        let work = work.clone();
        async move {
            work.handle(message.payload()).await;
            Ok::<(), std::convert::Infallible>(())
        }
    });
    graceful::ready();
    handle.finished().await.map(drop)
}

#[cfg(not(unix))]
fn main() {
    graceful_benches::unix_only("SIGHUP, to upgrade in place");
}
