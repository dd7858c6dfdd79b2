//! 100,000 tracked tasks with graceful, each waiting for the shutdown; the shutdown waits
//! for them all.

use graceful_benches::service;

#[graceful::main]
async fn main() {
    for _ in 0..service::TASKS {
        graceful::spawn(service::counted(graceful::shutdown_requested()));
    }
    service::all_running(service::TASKS).await;
    println!("ready");
    graceful::shutdown_requested().await;
}
