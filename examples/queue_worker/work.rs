//! The service's work: the producer, the workers, and the heartbeat that keeps their
//! leases alive.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{interval, sleep, MissedTickBehavior};

use crate::store::{Message, Store, StoreError};

/// How often an idle worker looks for messages that other instances enqueued or that
/// came back to pending. Local enqueues wake it at once.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// What this instance holds and has done.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) in_flight: AtomicU64,
    pub(crate) done: AtomicU64,
    pub(crate) handed_back: AtomicU64,
}

/// Everything a worker needs, shared by all of them.
pub(crate) struct Crew {
    pub(crate) store: Arc<Store>,
    pub(crate) consumer: String,
    pub(crate) op_time: Duration,
    pub(crate) scratch: PathBuf,
    pub(crate) stats: Arc<Stats>,
    /// Rung by the producer of this instance for each message it enqueues.
    pub(crate) enqueued: Notify,
}

/// Enqueues `rate` messages a second until the shutdown.
pub(crate) async fn produce(crew: Arc<Crew>, rate: u32) {
    let mut tick = interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sent = 0u64;
    // Intake goes on during the drain delay and stops at the shutdown: `until_shutdown`
    // makes the shutdown win over a tick that is ready at the same time.
    while graceful::until_shutdown(tick.tick()).await.is_some() {
        sent += 1;
        match crew
            .store
            .enqueue(&format!("message {sent} from {}", crew.consumer))
        {
            Ok(_) => crew.enqueued.notify_one(),
            Err(e) => errln!("producer: cannot enqueue: {e}"),
        }
    }
}

/// Takes one message at a time until the shutdown; finishes what it took, or hands it
/// back if the deadline comes first.
pub(crate) async fn work(crew: Arc<Crew>, worker: u16) {
    while let Some(msg) = graceful::until_shutdown(next_message(&crew, worker)).await {
        crew.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        let scratch = crew.scratch.join(format!("message-{}.part", msg.id));
        let finished = match graceful::until_hard_stop(process(&scratch, crew.op_time)).await {
            Some(Ok(())) => acknowledge(&crew, &msg),
            Some(Err(e)) => {
                errln!(
                    "worker {worker}: message {} failed: {e}; handing it back",
                    msg.id
                );
                false
            }
            // Out of time: the message goes back to pending for the next instance rather
            // than dying half-done with this one.
            None => false,
        };
        if !finished {
            match crew.store.hand_back(&crew.consumer, msg.id) {
                Ok(()) => {
                    crew.stats.handed_back.fetch_add(1, Ordering::Relaxed);
                }
                // Still held under this consumer's name: the unplug step or the lease
                // returns it.
                Err(e) => errln!("worker {worker}: cannot hand message {} back: {e}", msg.id),
            }
        }
        // Whatever happened to the work, its scratch file is no longer needed.
        let _ = tokio::fs::remove_file(&scratch).await;
        crew.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits for a message and takes it. Cancel-safe: the take happens within one poll, so
/// dropping this future at the shutdown never loses a taken message.
async fn next_message(crew: &Crew, worker: u16) -> Message {
    loop {
        match crew.store.take(&crew.consumer) {
            Ok(Some(msg)) => return msg,
            Ok(None) => {}
            Err(e) => errln!("worker {worker}: cannot take a message: {e}"),
        }
        tokio::select! {
            () = crew.enqueued.notified() => {}
            () = sleep(IDLE_POLL) => {}
        }
    }
}

/// The work itself: it leaves a scratch file while it runs, as real processing would.
async fn process(scratch: &Path, op_time: Duration) -> std::io::Result<()> {
    tokio::fs::write(scratch, b"work in progress").await?;
    sleep(op_time).await;
    Ok(())
}

fn acknowledge(crew: &Crew, msg: &Message) -> bool {
    match crew.store.ack(&crew.consumer, msg.id) {
        Ok(held) => {
            if !held {
                errln!(
                    "message {} was processed after its lease ran out: another consumer may process it again",
                    msg.id
                );
            }
            crew.stats.done.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(e) => {
            errln!("cannot acknowledge message {}: {e}", msg.id);
            false
        }
    }
}

/// Renews this consumer's leases a few times per lease, and returns to pending what
/// dead consumers let expire. Ends when the connection is closed.
pub(crate) async fn heartbeat(store: Arc<Store>, consumer: String, lease: Duration) {
    let mut tick = interval((lease / 3).max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.renew(&consumer) {
            Ok(0) => {}
            Ok(n) => outln!("reclaimed {n} messages whose lease ran out"),
            Err(StoreError::Closed) => return,
            Err(e) => errln!("heartbeat: {e}"),
        }
    }
}
