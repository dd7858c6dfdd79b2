//! The same idle service written by hand on tokio, with care: handlers installed before
//! `ready`, a `biased` select, a token and a tracker as a real service would have.
//!
//! Self-contained, like the other idle services: the `cost` benchmark compiles it as a
//! hello world of its own. Unix only; elsewhere it says so and exits 2.

#[cfg(unix)]
use tokio::signal::unix::{signal, SignalKind};
#[cfg(unix)]
use tokio_util::sync::CancellationToken;
#[cfg(unix)]
use tokio_util::task::TaskTracker;

#[cfg(unix)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    println!("ready");
    tokio::select! {
        biased;
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    token.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    eprintln!("bench-idle-tokio: runs on Unix only: it needs SIGTERM and SIGINT");
    std::process::exit(2)
}
