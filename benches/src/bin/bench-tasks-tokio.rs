//! The same 100,000 tracked tasks written by hand on tokio: a token each task waits on,
//! a tracker that the shutdown closes and waits for.

use graceful_benches::service;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let signals = service::StopSignals::install()?;
    for _ in 0..service::TASKS {
        tracker.spawn(service::counted(token.clone().cancelled_owned()));
    }
    service::all_running(service::TASKS).await;
    println!("ready");
    service::drain_at_signal(signals, token, tracker).await;
    Ok(())
}
