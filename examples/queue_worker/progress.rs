//! The progress line, about once a second, through the drain too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{interval, MissedTickBehavior};

use crate::queue::Census;
use crate::work::Stats;

/// Prints the counts each second until the process ends: the whole queue's where it can
/// tell them, this instance's always. Plain lines rather than one line redrawn in place:
/// they interleave cleanly with the shutdown log and read the same in a terminal and in
/// a log collector.
pub(crate) async fn show(census: Option<Arc<dyn Census>>, stats: Arc<Stats>) {
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick.tick().await;
    // When intake stops, graceful says what the drain waits for (the consumer's line).
    loop {
        tick.tick().await;
        let phase = if graceful::is_shutting_down() {
            "draining"
        } else {
            "running "
        };
        let here = stats.in_flight.load(Ordering::Relaxed);
        let Some(census) = &census else {
            outln!(
                "{phase} | in flight here {here:>3} | done here {:>6}",
                stats.done.load(Ordering::Relaxed)
            );
            continue;
        };
        match census.counts() {
            Ok(counts) => outln!(
                "{phase} | enqueued {:>6} | in flight {:>3} (here {here:>3}) | done {:>6} | pending {:>6}",
                counts.enqueued,
                counts.in_flight,
                counts.done,
                counts.pending,
            ),
            // Closed at the unplug: the process is about to exit.
            Err(_) if graceful::is_shutting_down() => return,
            Err(e) => errln!("progress: {e:#}"),
        }
    }
}
