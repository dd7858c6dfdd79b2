//! The same stuck service with tokio-graceful-shutdown: a subsystem whose cleanup never
//! returns and a blocking thread that never returns, under
//! `handle_shutdown_requests(deadline)` (the deadline in milliseconds as the argument).

use graceful_benches::service;

use std::convert::Infallible;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

async fn stuck(subsys: &mut SubsystemHandle) -> Result<(), Infallible> {
    service::block_a_thread_forever();
    println!("ready");
    subsys.on_shutdown_requested().await;
    service::flush_that_never_returns().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let deadline = service::deadline_arg();
    Toplevel::new(async |s: &mut SubsystemHandle| {
        s.start(SubsystemBuilder::new("stuck", stuck));
    })
    .catch_signals()
    .handle_shutdown_requests(deadline)
    .await?;
    Ok(())
}
