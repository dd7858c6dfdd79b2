//! The queue service of the story: a producer enqueues 20 messages a second, 20 workers
//! each take one, work on it for 3 s, and acknowledge it.
//!
//! ```text
//! cargo run --example queue_worker
//! ```
//!
//! Press Ctrl-C (or send `SIGTERM`). `graceful::is_shutting_down()` turns true at once;
//! after a one-second drain delay the producer and the workers stop taking messages, the
//! messages in flight are finished, any that could not finish before the deadline go back
//! to the queue, the hooks print the final count and remove the scratch directory, and
//! the report says what happened. Nothing is lost: every message is done or pending.
//! A second Ctrl-C exits at once with code 130.
//!
//! The queue lives in memory, so the pending messages are printed at exit; a durable
//! queue would keep them for the next instance.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{interval, sleep, MissedTickBehavior};

const RATE_PER_SEC: u64 = 20;
const OP_TIME: Duration = Duration::from_secs(3);
const WORKERS: usize = 20;

#[derive(Default)]
struct Counts {
    pending: VecDeque<u64>,
    in_flight: HashSet<u64>,
    enqueued: u64,
    done: u64,
    handed_back: u64,
}

/// An in-memory queue with explicit acknowledgement: a message taken is in flight until
/// it is acknowledged or handed back.
#[derive(Default)]
struct Queue {
    state: Mutex<Counts>,
    ready: Notify,
}

impl Queue {
    fn enqueue(&self) {
        let mut s = self.state.lock().unwrap();
        s.enqueued += 1;
        let id = s.enqueued;
        s.pending.push_back(id);
        drop(s);
        self.ready.notify_one();
    }

    /// Takes the next message. Cancel-safe: a message is taken only when this returns.
    async fn take(&self) -> u64 {
        loop {
            let notified = self.ready.notified();
            if let Some(id) = {
                let mut s = self.state.lock().unwrap();
                let id = s.pending.pop_front();
                if let Some(id) = id {
                    s.in_flight.insert(id);
                }
                id
            } {
                return id;
            }
            notified.await;
        }
    }

    fn ack(&self, id: u64) {
        let mut s = self.state.lock().unwrap();
        s.in_flight.remove(&id);
        s.done += 1;
    }

    fn hand_back(&self, id: u64) {
        let mut s = self.state.lock().unwrap();
        s.in_flight.remove(&id);
        s.pending.push_front(id);
        s.handed_back += 1;
    }

    fn line(&self) -> String {
        let s = self.state.lock().unwrap();
        format!(
            "enqueued {:>5} | in flight {:>2} | done {:>5} | pending {:>5}",
            s.enqueued,
            s.in_flight.len(),
            s.done,
            s.pending.len()
        )
    }
}

async fn producer(queue: Arc<Queue>) {
    let mut tick = interval(Duration::from_secs(1) / RATE_PER_SEC as u32);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Stops at the shutdown: `until_shutdown` makes the shutdown win over a ready tick.
    while graceful::until_shutdown(tick.tick()).await.is_some() {
        queue.enqueue();
    }
}

async fn worker(queue: Arc<Queue>) {
    // Takes a message only while the service is not shutting down.
    while let Some(id) = graceful::until_shutdown(queue.take()).await {
        // Finishes what it took, unless the deadline comes first: then hands it back.
        match graceful::until_deadline(sleep(OP_TIME)).await {
            Some(()) => queue.ack(id),
            None => queue.hand_back(id),
        }
    }
}

/// Prints a progress line about once a second until the process exits.
async fn progress(queue: Arc<Queue>) {
    loop {
        sleep(Duration::from_secs(1)).await;
        let state = if graceful::is_shutting_down() {
            "draining"
        } else {
            "running "
        };
        println!("{state} | {}", queue.line());
    }
}

struct Scratch(PathBuf);

#[graceful::teardown(order = 10, name = "final count")]
async fn final_count(queue: graceful::State<Arc<Queue>>) -> Result<(), String> {
    let s = queue.state.lock().unwrap();
    println!(
        "final: enqueued {}, done {}, pending {} ({} handed back), in flight {}",
        s.enqueued,
        s.done,
        s.pending.len(),
        s.handed_back,
        s.in_flight.len()
    );
    if s.enqueued != s.done + s.pending.len() as u64 {
        return Err(format!("lost {} messages", s.in_flight.len()));
    }
    Ok(())
}

#[graceful::teardown(order = 20, name = "remove scratch", always)]
fn remove_scratch(dir: graceful::State<Scratch>) -> std::io::Result<()> {
    std::fs::remove_dir_all(&dir.0)?;
    println!("removed {}", dir.0.display());
    Ok(())
}

#[graceful::main(deadline = "10s", drain_delay = "1s")]
async fn main() -> std::io::Result<()> {
    let scratch = std::env::temp_dir().join(format!("queue-worker-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    graceful::provide(Scratch(scratch));

    let queue = Arc::new(Queue::default());
    graceful::provide(queue.clone());
    println!(
        "queue worker: {RATE_PER_SEC} messages/s, {WORKERS} workers, {OP_TIME:?} each; Ctrl-C to stop"
    );
    graceful::spawn_named("producer", producer(queue.clone()));
    for i in 0..WORKERS {
        graceful::spawn_named(format!("worker-{i}"), worker(queue.clone()));
    }
    // Not tracked: the display must not hold the drain.
    tokio::spawn(progress(queue));
    graceful::shutdown_requested().await;
    Ok(())
}
