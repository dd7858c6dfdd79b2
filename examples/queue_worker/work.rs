//! The service's work: the producer, the handler each message runs, and the journal
//! they append to. The consumer around the handler (intake, settlement, hand-back at the
//! shutdown) is `graceful::consume::Consumer`'s.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graceful::consume::{Message, Publish};
use tokio::time::{interval, sleep, MissedTickBehavior};

/// What this instance holds and has done.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) in_flight: AtomicU64,
    pub(crate) done: AtomicU64,
}

/// The journal: one line per message sent or done, appended by any number of processes.
pub(crate) struct Journal {
    file: Option<File>,
}

impl Journal {
    /// Opens `path` for appending (O_APPEND, created if missing); none writes nothing.
    pub(crate) fn open(path: Option<&Path>) -> std::io::Result<Journal> {
        let file = match path {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)?,
            ),
            None => None,
        };
        Ok(Journal { file })
    }

    /// Appends `line` in one `write`, so that lines of several processes never mix.
    pub(crate) fn append(&self, line: std::fmt::Arguments<'_>) {
        let Some(mut file) = self.file.as_ref() else {
            return;
        };
        let mut text = line.to_string();
        text.push('\n');
        match file.write(text.as_bytes()) {
            Ok(n) if n == text.len() => {}
            Ok(n) => errln!("journal: only {n} of {} bytes written", text.len()),
            Err(e) => errln!("journal: {e}"),
        }
    }
}

/// The example's own id of a message, carried in its payload: unique across processes,
/// so that the journal does not depend on the queue's ids.
pub(crate) fn message_id(msg: &Message) -> &str {
    msg.text().unwrap_or(msg.id())
}

/// Publishes `rate` messages a second until the shutdown, each with an id of its own
/// (`<pid>-<n>`), journaled once the queue has it.
pub(crate) async fn produce<P: Publish>(publisher: P, rate: u32, journal: Arc<Journal>) {
    let mut tick = interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let pid = std::process::id();
    let mut sent = 0u64;
    // Intake goes on during the drain delay and stops at the shutdown: `until_shutdown`
    // makes the shutdown win over a tick that is ready at the same time.
    while graceful::until_shutdown(tick.tick()).await.is_some() {
        sent += 1;
        let id = format!("{pid}-{sent}");
        match publisher.publish(id.as_bytes()).await {
            Ok(()) => journal.append(format_args!("sent {id}")),
            Err(e) => errln!("producer: {:#}", anyhow::Error::new(e)),
        }
    }
}

/// What the handler needs, shared by every message.
pub(crate) struct Crew {
    pub(crate) op_time: Duration,
    pub(crate) scratch: PathBuf,
    pub(crate) stats: Arc<Stats>,
}

/// The work itself: it leaves a scratch file while it runs, as real processing would.
/// Counted in flight until it ends, finished or cut.
pub(crate) async fn handle(crew: Arc<Crew>, msg: Message) -> std::io::Result<()> {
    let _in_flight = InFlight::enter(&crew.stats);
    // The id as a file name: the queue's own, which is digits or a broker's token.
    let name: String = msg
        .id()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let scratch = Scratch(crew.scratch.join(format!("message-{name}.part")));
    tokio::fs::write(&scratch.0, b"work in progress").await?;
    sleep(crew.op_time).await;
    Ok(())
}

/// One message in flight, counted while it lives.
struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    fn enter(stats: &'a Stats) -> Self {
        stats.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A scratch file, removed whatever became of the work: done, failed or cut.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
