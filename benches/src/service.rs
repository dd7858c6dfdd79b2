//! What the shutdown benchmark's subjects share, so that the three versions of a service
//! differ only in how each library stops it: the tracked tasks' count, the queue
//! and the operation of the queue scenario, and the deadline's stuck work.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(unix)]
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock;

// ---- The hand-written tokio programs' signals ----

/// `SIGTERM` and `SIGINT`, as a hand-written tokio service catches them: installed
/// before it says `ready`, so that no signal finds the default action in place.
pub struct StopSignals {
    #[cfg(unix)]
    terminate: Signal,
    #[cfg(unix)]
    interrupt: Signal,
}

impl StopSignals {
    /// Installs the handlers. Unix only: elsewhere, the program stops with a message.
    pub fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        return Ok(StopSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        });
        #[cfg(not(unix))]
        crate::unix_only("SIGTERM and SIGINT")
    }

    /// Completes at the first of them.
    pub async fn first(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            biased;
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// The end of a hand-written tokio service: at the first signal, cancels `token` and
/// waits for every task on `tracker`.
pub async fn drain_at_signal(
    mut signals: StopSignals,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    signals.first().await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

// ---- 100,000 tracked tasks ----

/// How many tracked tasks the `tasks` subjects start.
pub const TASKS: usize = 100_000;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// `fut`, counted as running once it is first polled.
pub async fn counted<F: Future>(fut: F) -> F::Output {
    RUNNING.fetch_add(1, Ordering::Relaxed);
    fut.await
}

/// Completes once `n` [`counted`] tasks have been polled: they are all waiting.
pub async fn all_running(n: usize) {
    while RUNNING.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---- The queue scenario: 20 msg/s, 3 s operations, 20 workers ----

/// How many workers take from the queue.
pub const WORKERS: usize = 20;

/// How long one operation takes.
pub const OP: Duration = Duration::from_secs(3);

/// One message every 50 ms: 20 per second.
const PERIOD: Duration = Duration::from_millis(50);

/// Room for every message of a run (a run lasts about 10 s, 200 messages).
const CAPACITY: usize = 4096;

/// A message: its number in the order it arrived.
pub type Message = u64;

/// The in-memory queue the workers take from.
#[derive(Clone)]
pub struct Queue(Arc<Mutex<mpsc::Receiver<Message>>>);

/// The producer that feeds the queue, standing for the traffic arriving from outside: it
/// goes on whatever the service does, and ends with the process.
pub struct Feed(mpsc::Sender<Message>);

/// An empty queue, and the feed that fills it once started.
pub fn queue() -> (Queue, Feed) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    (Queue(Arc::new(Mutex::new(rx))), Feed(tx))
}

/// Says `ready`, then starts the traffic on the current runtime: no operation starts
/// before the benchmark has read `ready`, so it sees every operation's start.
pub fn ready_then_feed(feed: Feed) {
    println!("ready");
    tokio::spawn(produce(feed.0));
}

impl Queue {
    /// The next message, or `None` once the producer is gone. Cancel-safe: dropped before
    /// it completes, it has taken nothing.
    pub async fn take(&self) -> Option<Message> {
        self.0.lock().await.recv().await
    }
}

async fn produce(tx: mpsc::Sender<Message>) {
    let mut tick = tokio::time::interval(PERIOD);
    for id in 0.. {
        tick.tick().await;
        if tx.send(id).await.is_err() {
            return;
        }
    }
}

/// Processes one message, saying on stdout when it started and when it ended, on the
/// clock the benchmark reads: `start <id> <ns>`, `end <id> <ns>`.
pub async fn process(msg: Message) {
    println!("start {msg} {}", clock::now_ns());
    tokio::time::sleep(OP).await;
    println!("end {msg} {}", clock::now_ns());
}

// ---- The deadline: work that never ends ----

/// The shutdown's budget, in milliseconds, from the first argument.
pub fn deadline_arg() -> Duration {
    let arg = std::env::args().nth(1).unwrap_or_default();
    match arg.parse() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => {
            eprintln!("expected the deadline in milliseconds as the first argument, got {arg:?}");
            std::process::exit(2)
        }
    }
}

/// Starts a blocking thread that never returns (a synchronous client stuck on a peer
/// that went away). A tokio runtime that is dropped waits for it.
pub fn block_a_thread_forever() {
    tokio::task::spawn_blocking(|| loop {
        std::thread::park();
    });
}

/// Cleanup that never finishes: a flush to a peer that never answers.
pub async fn flush_that_never_returns() {
    std::future::pending::<()>().await
}
