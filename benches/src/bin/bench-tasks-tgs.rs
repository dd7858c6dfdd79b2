//! The same 100,000 tracked tasks with tokio-graceful-shutdown, as its documentation
//! advises for many small tasks (its hyper example): not a subsystem each, which it calls
//! too heavy, but one subsystem that spawns them on a `TaskTracker`, each with a
//! cancellation token from `create_cancellation_token()`, and waits for them.

use graceful_benches::service;

use std::convert::Infallible;
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::task::TaskTracker;

async fn tasks(subsys: &mut SubsystemHandle) -> Result<(), Infallible> {
    let tracker = TaskTracker::new();
    for _ in 0..service::TASKS {
        let token = subsys.create_cancellation_token();
        tracker.spawn(service::counted(token.cancelled_owned()));
    }
    service::all_running(service::TASKS).await;
    println!("ready");
    subsys.on_shutdown_requested().await;
    tracker.close();
    tracker.wait().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    Toplevel::new(async |s: &mut SubsystemHandle| {
        s.start(SubsystemBuilder::new("tasks", tasks));
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await?;
    Ok(())
}
