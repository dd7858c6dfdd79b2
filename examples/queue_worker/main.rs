//! A queue worker that a deploy stops without losing a message: a producer enqueues 20
//! messages a second into a durable SQLite queue, 20 handlers each take one, work on it
//! for 3 s and acknowledge it. The consuming is `graceful::consume::Consumer`'s: this file
//! gives it a handler and a source, nothing more.
//!
//! ```text
//! cargo run --example queue_worker                # Ctrl-C to watch it drain
//! cargo run --example queue_worker -- --help      # rate, op time, workers, database, deadline
//! ```
//!
//! On Ctrl-C or `SIGTERM` the shutdown goes in this order:
//!
//! 1. `/healthz` answers 503 at once; intake and work go on for the one-second drain
//!    delay while a load balancer moves traffic away.
//! 2. order -10, `health endpoint`: the endpoint stops accepting and closes.
//! 3. order 0, `graceful::tasks`: the consumer has stopped taking messages, and each
//!    handler finishes the message it holds and acknowledges it. A message that cannot
//!    finish before the deadline is handed back: it is pending again for the next
//!    instance. The consumer's connection closes once the last settlement returned.
//! 4. order 10, `unplug from queue`: the final counts are printed and the producer's
//!    connection closed.
//! 5. order 20, `scratch files` (`always`, so even past the deadline): the work's scratch
//!    files are removed.
//!
//! On `SIGHUP` (Unix) it upgrades in place instead: the binary now at its path starts
//! with the same arguments and takes the health endpoint's socket; its consumer starts
//! taking messages at its `graceful::ready()`, under the same consumer name, without
//! taking back what this process holds. Then this process stops taking messages (trigger
//! `upgrade`, no drain delay), finishes what it holds, unplugs and exits 0. Consumption
//! never stops: for a moment both processes take messages.
//!
//! Its output cannot fail the shutdown: with stdout closed (`| tee log` ended by the same
//! Ctrl-C), the lines are lost and the consumer still unplugs.
//!
//! The modules beside this file: `cli` (the flags), `queue` (`--queue`: opening the queue
//! of each kind), `work` (producer, handler, journal), `health` (the HTTP endpoint, served
//! through the shutdown by `graceful::http::serve`) and `progress` (the line printed each
//! second); `out`, shared with the HTTP and gRPC examples, prints without failing.

#[macro_use]
#[path = "../common/out.rs"]
mod out;

mod cli;
mod health;
mod progress;
mod queue;
mod work;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use graceful::consume::{Consumer, ConsumerHandle, Message, Publish, Source};

use cli::Cli;
use health::Health;
use queue::{Census, Opened, Unplugger};
use work::{Crew, Journal, Stats};

/// The time between the signal and the end of intake, for a load balancer to move
/// traffic away: the health endpoint answers 503 meanwhile.
const DRAIN_DELAY: Duration = Duration::from_secs(1);

/// The command line first, then graceful, configured from it: `--deadline` is the
/// shutdown's deadline (`GRACEFUL_DEADLINE` still overrides it, as operators expect).
fn main() {
    let cli = Cli::parse();
    let main = graceful::Main::new()
        .deadline(cli.deadline)
        .drain_delay(DRAIN_DELAY);
    // `SIGHUP` upgrades in place: the binary now on disk starts, takes the health
    // endpoint's socket and consumes beside this process, which then finishes what it
    // holds and exits.
    #[cfg(unix)]
    let main = main.upgrade(graceful::Signal::Hangup);
    main.run(serve(cli))
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let consumer = cli.consumer();
    // Provided first: whatever fails later, the `always` hook still finds it. After an
    // upgrade in place under a name given with --consumer, a directory of its own: the
    // process this one replaces removes its own at its end, while this one still works
    // (a default name holds the process id already).
    let scratch = scratch_of(&consumer, &cli);
    graceful::provide(Scratch(scratch.clone()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create the scratch directory {}", scratch.display()))?;
    queue::open_and_run(cli).await
}

/// The service on any queue: the producer, the consumer, the health endpoint and the
/// progress line. Each kind of queue is one arm of `queue::open_and_run`.
pub(crate) async fn run<P: Publish, S: Source>(
    cli: Cli,
    queue: Opened<P, S>,
) -> anyhow::Result<()> {
    let consumer = cli.consumer();
    let Opened {
        publisher,
        source,
        census,
        shown,
        unplug,
    } = queue;
    let journal = match &cli.journal {
        Some(path) => Journal::open(Some(path))
            .with_context(|| format!("cannot open the journal {}", path.display()))?,
        None => Journal::open(None)?,
    };
    let journal = Arc::new(journal);
    let stats = Arc::new(Stats::default());
    // From here on, whatever happens, the queue is unplugged at the end.
    let state = Arc::new(Unplug {
        consumer: consumer.clone(),
        shown: shown.clone(),
        census: census.clone(),
        stats: stats.clone(),
        handle: Mutex::new(None),
        unplug,
    });
    graceful::provide(Arc::clone(&state));

    let health = health::serve(cli.health, census.clone(), stats.clone())
        .await
        .with_context(|| format!("cannot serve /healthz on {}", cli.health))?;
    let health_addr = health.addr;
    graceful::provide(health);

    // Tracked: the shutdown waits for the producer to stop.
    if cli.rate > 0 {
        graceful::spawn_named(
            "producer",
            work::produce(publisher, cli.rate, journal.clone()),
        );
    }
    if cli.workers > 0 {
        let crew = Arc::new(Crew {
            op_time: cli.op_time,
            scratch: scratch_of(&consumer, &cli),
            stats: stats.clone(),
        });
        let done = stats.clone();
        let pid = std::process::id();
        // A tracked task of its own: the shutdown waits for every message it holds to be
        // settled, and for its connection to close after the last.
        let handle = Consumer::new(consumer.clone(), source)
            .handlers(usize::from(cli.workers))
            .on_acked(move |msg: &Message| {
                done.done.fetch_add(1, Ordering::Relaxed);
                journal.append(format_args!("done {} {pid}", work::message_id(msg)));
            })
            .start(move |msg| work::handle(crew.clone(), msg));
        *state.handle.lock().unwrap() = Some(handle);
    }
    // Not tracked: it runs until the process ends, and must not hold it.
    tokio::spawn(progress::show(census, stats));

    outln!(
        "ready: {consumer}: {} messages/s, {} workers, {:?} each; health on http://{health_addr}/healthz; queue in {shown}; Ctrl-C to stop",
        cli.rate,
        cli.workers,
        cli.op_time,
    );
    // Under systemd with `Type=notify`, this is when the service counts as started; after
    // an upgrade, the consumer starts taking messages now, and the process this one
    // replaces stops. Every hook's state has been provided by now.
    graceful::ready();
    graceful::shutdown_requested().await;
    Ok(())
}

/// The scratch directory `serve` made.
fn scratch_of(consumer: &str, cli: &Cli) -> PathBuf {
    std::env::temp_dir().join(match (graceful::upgraded_from(), &cli.consumer) {
        (Some(_), Some(_)) => format!("{consumer}.{}.scratch", std::process::id()),
        _ => format!("{consumer}.scratch"),
    })
}

/// What the `unplug from queue` hook needs.
struct Unplug {
    consumer: String,
    shown: String,
    census: Option<Arc<dyn Census>>,
    stats: Arc<Stats>,
    handle: Mutex<Option<ConsumerHandle>>,
    unplug: Unplugger,
}

struct Scratch(PathBuf);

// The endpoint and the queue are looked up through the `Context` rather than taken as
// `State` parameters: after a failed start they were never provided, and there is
// nothing to stop.

#[graceful::teardown(order = -10, name = "health endpoint", timeout = "2s")]
async fn stop_health(ctx: graceful::Context) -> Result<(), String> {
    let Some(health) = ctx.state::<Health>() else {
        return Ok(());
    };
    health.stopped().await?;
    outln!("health endpoint closed");
    Ok(())
}

#[graceful::teardown(order = 10, name = "unplug from queue", timeout = "3s")]
async fn unplug(ctx: graceful::Context) -> anyhow::Result<()> {
    let Some(unplug) = ctx.state::<Arc<Unplug>>() else {
        return Ok(());
    };
    // The consumer ended in the tasks step, before this one: its counts are final.
    let handle = unplug.handle.lock().unwrap().take();
    let handed_back = match handle {
        Some(handle) => {
            let counts = handle.finished().await?;
            counts.handed_back_unstarted + counts.handed_back_cut
        }
        None => 0,
    };
    let here = format!(
        "final: here done {}, handed back {handed_back}",
        unplug.stats.done.load(Ordering::Relaxed)
    );
    match &unplug.census {
        Some(census) => {
            let counts = census.counts()?;
            outln!(
                "{here}; queue enqueued {}, done {}, pending {}, in flight {}",
                counts.enqueued,
                counts.done,
                counts.pending,
                counts.in_flight,
            );
        }
        None => outln!("{here}"),
    }
    unplug.unplug.run()?;
    outln!("unplugged {} from {}", unplug.consumer, unplug.shown);
    Ok(())
}

#[graceful::teardown(order = 20, name = "scratch files", always)]
fn remove_scratch(scratch: graceful::State<Scratch>) -> std::io::Result<()> {
    match std::fs::remove_dir_all(&scratch.0) {
        Ok(()) => outln!("removed {}", scratch.0.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(())
}
