//! 100,000 tracked tasks with graceful, each waiting for the shutdown; the shutdown waits
//! for them all.

#[path = "common.rs"]
mod common;

#[graceful::main]
async fn main() {
    for _ in 0..common::TASKS {
        graceful::spawn(common::counted(graceful::shutdown_requested()));
    }
    common::all_running(common::TASKS).await;
    println!("ready");
    graceful::shutdown_requested().await;
}
