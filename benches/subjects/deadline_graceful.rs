//! A service whose shutdown cannot finish, with graceful: a teardown hook that never
//! returns and a blocking thread that never returns. The deadline (`GRACEFUL_DEADLINE`,
//! set by the benchmark) ends it with exit code 124.

#[path = "common.rs"]
mod common;

#[graceful::teardown(order = 10, name = "flush")]
async fn flush() {
    common::flush_that_never_returns().await;
}

#[graceful::main]
async fn main() {
    common::block_a_thread_forever();
    println!("ready");
    graceful::shutdown_requested().await;
}
