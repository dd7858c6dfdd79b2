//! The same idle service with tokio-graceful-shutdown: one subsystem that waits for the
//! shutdown.

use std::convert::Infallible;
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

async fn idle(subsys: &mut SubsystemHandle) -> Result<(), Infallible> {
    println!("ready");
    subsys.on_shutdown_requested().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    Toplevel::new(async |s: &mut SubsystemHandle| {
        s.start(SubsystemBuilder::new("idle", idle));
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await?;
    Ok(())
}
