//! The same idle service written by hand on tokio, with care: handlers installed before
//! `ready`, a `biased` select, a token and a tracker as a real service would have.

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
