//! An idle service with graceful: it waits for the shutdown, then exits.
//!
//! The benchmarks time its exit, read its memory, weigh its binary and compile it.

#[graceful::main]
async fn main() {
    // The signal handlers are in place before the body runs.
    println!("ready");
    graceful::shutdown_requested().await;
}
