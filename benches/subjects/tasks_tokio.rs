//! The same 100,000 tracked tasks written by hand on tokio: a token each task waits on,
//! a tracker that the shutdown closes and waits for.

#[path = "common.rs"]
mod common;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let signals = common::StopSignals::install()?;
    for _ in 0..common::TASKS {
        tracker.spawn(common::counted(token.clone().cancelled_owned()));
    }
    common::all_running(common::TASKS).await;
    println!("ready");
    common::drain_at_signal(signals, token, tracker).await;
    Ok(())
}
