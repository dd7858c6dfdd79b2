//! The progress line, about once a second, and what the shutdown is draining.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{interval, MissedTickBehavior};

use crate::store::{Store, StoreError};
use crate::work::Stats;

/// Prints the queue's counts each second until the connection closes. Plain lines
/// rather than one line redrawn in place: they interleave cleanly with the shutdown log
/// and read the same in a terminal and in a log collector.
pub(crate) async fn show(store: Arc<Store>, stats: Arc<Stats>) {
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick.tick().await;
    let mut announced = false;
    loop {
        tokio::select! {
            biased;
            // Once, when intake stops: what the drain waits for.
            () = graceful::shutdown_requested(), if !announced => {
                announced = true;
                outln!(
                    "intake stopped: draining {} messages in flight here",
                    stats.in_flight.load(Ordering::Relaxed)
                );
                continue;
            }
            _ = tick.tick() => {}
        }
        let counts = match store.counts() {
            Ok(counts) => counts,
            Err(StoreError::Closed) => return,
            Err(e) => {
                errln!("progress: {e}");
                continue;
            }
        };
        let phase = if graceful::is_shutting_down() {
            "draining"
        } else {
            "running "
        };
        outln!(
            "{phase} | enqueued {:>6} | in flight {:>3} (here {:>3}) | done {:>6} | pending {:>6}",
            counts.enqueued,
            counts.in_flight,
            stats.in_flight.load(Ordering::Relaxed),
            counts.done,
            counts.pending,
        );
    }
}
