//! A queue worker that a deploy stops without losing a message: a producer enqueues 20
//! messages a second into a durable SQLite queue, 20 workers each take one, work on it for
//! 3 s and acknowledge it.
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
//! 3. order 0, `graceful::tasks`: intake has stopped and every worker finishes the
//!    message it holds. A message that cannot finish before the deadline is handed back
//!    (`until_hard_stop`): it is pending again for the next instance.
//! 4. order 10, `unplug from queue`: anything still held goes back, the final counts are
//!    printed, the consumer is marked offline and the connection closed.
//! 5. order 20, `scratch files` (`always`, so even past the deadline): the work's scratch
//!    files are removed.
//!
//! On `SIGHUP` (Unix) it upgrades in place instead: the binary now at its path starts
//! with the same arguments, takes the health endpoint's socket, registers under the same
//! consumer name without taking back what this process holds, and starts its workers.
//! Once it calls `graceful::ready()`, this process stops taking messages (trigger
//! `upgrade`, no drain delay), finishes what it holds, unplugs and exits 0. Consumption
//! never stops: for a moment both processes take messages.
//!
//! Its output cannot fail the shutdown: with stdout closed (`| tee log` ended by the same
//! Ctrl-C), the lines are lost and the consumer still unplugs.
//!
//! The modules beside this file: `cli` (the flags), `store` (the queue on SQLite, with
//! leases), `work` (producer, workers, heartbeat), `health` (the HTTP endpoint, served
//! through the shutdown by `graceful::http::serve`) and `progress` (the line printed each
//! second); `out`, shared with the HTTP and gRPC examples, prints without failing.

#[macro_use]
#[path = "../common/out.rs"]
mod out;

mod cli;
mod health;
mod progress;
mod store;
mod work;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tokio::sync::Notify;

use cli::Cli;
use health::Health;
use store::{Store, StoreError};
use work::{Crew, Stats};

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
    let upgraded_from = graceful::upgraded_from();
    // Provided first: whatever fails later, the `always` hook still finds it. After an
    // upgrade in place under a name given with --consumer, a directory of its own: the
    // process this one replaces removes its own at its end, while this one still works
    // (a default name holds the process id already).
    let scratch = std::env::temp_dir().join(match (upgraded_from, &cli.consumer) {
        (Some(_), Some(_)) => format!("{consumer}.{}.scratch", std::process::id()),
        _ => format!("{consumer}.scratch"),
    });
    graceful::provide(Scratch(scratch.clone()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create the scratch directory {}", scratch.display()))?;

    let store = Store::open(&cli.db, cli.lease)
        .with_context(|| format!("cannot open the queue at {}", cli.db.display()))?;
    let store = Arc::new(store);
    // After an upgrade in place, the process this one replaces still works on what it
    // holds under the same name: that is not to be taken back.
    let reclaimed = store.register(&consumer, upgraded_from)?;
    if reclaimed > 0 {
        outln!("{consumer} was killed last time: {reclaimed} messages it held are pending again");
    }

    let stats = Arc::new(Stats::default());
    let crew = Arc::new(Crew {
        store: store.clone(),
        consumer: consumer.clone(),
        op_time: cli.op_time,
        scratch,
        stats: stats.clone(),
        enqueued: Notify::new(),
    });
    // Registered: from here on, whatever happens, the consumer unplugs at the end.
    graceful::provide(Unplug {
        crew: crew.clone(),
        db: cli.db.clone(),
    });

    let health = health::serve(cli.health, store.clone(), stats.clone())
        .await
        .with_context(|| format!("cannot serve /healthz on {}", cli.health))?;
    let health_addr = health.addr;
    graceful::provide(health);

    // Tracked: the shutdown waits for the producer and every worker to stop.
    if cli.rate > 0 {
        graceful::spawn_named("producer", work::produce(crew.clone(), cli.rate));
    }
    for id in 0..cli.workers {
        graceful::spawn_named(format!("worker-{id}"), work::work(crew.clone(), id));
    }
    // Not tracked: they run until the connection closes, after the drain, and must not
    // hold it. The heartbeat keeps this instance's leases alive while it drains.
    tokio::spawn(work::heartbeat(store.clone(), consumer.clone(), cli.lease));
    tokio::spawn(progress::show(store, stats));

    outln!(
        "ready: {consumer}: {} messages/s, {} workers, {:?} each; health on http://{health_addr}/healthz; queue in {}; Ctrl-C to stop",
        cli.rate,
        cli.workers,
        cli.op_time,
        cli.db.display()
    );
    // Under systemd with `Type=notify`, this is when the service counts as started; after
    // an upgrade, the process this one replaces stops taking messages now. Every hook's
    // state has been provided by now.
    graceful::ready();
    graceful::shutdown_requested().await;
    Ok(())
}

/// What the `unplug from queue` hook needs.
struct Unplug {
    crew: Arc<Crew>,
    db: PathBuf,
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
async fn unplug(ctx: graceful::Context) -> Result<(), StoreError> {
    let Some(unplug) = ctx.state::<Unplug>() else {
        return Ok(());
    };
    let crew = &unplug.crew;
    // Normally nothing: the workers hand back what they cannot finish. A worker that
    // could not reach the database leaves its message here.
    let left = crew.store.hand_back_all(&crew.consumer)?;
    let counts = crew.store.counts()?;
    let stats = &crew.stats;
    outln!(
        "final: here done {}, handed back {}; queue enqueued {}, done {}, pending {}, in flight {}",
        stats.done.load(Ordering::Relaxed),
        stats.handed_back.load(Ordering::Relaxed) + left as u64,
        counts.enqueued,
        counts.done,
        counts.pending,
        counts.in_flight,
    );
    crew.store.go_offline(&crew.consumer)?;
    crew.store.close()?;
    outln!("unplugged {} from {}", crew.consumer, unplug.db.display());
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
