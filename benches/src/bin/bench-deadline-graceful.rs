//! A service whose shutdown cannot finish, with graceful: a teardown hook that never
//! returns and a blocking thread that never returns. The deadline (`GRACEFUL_DEADLINE`,
//! set by the benchmark) ends it with exit code 124.

use graceful_benches::service;

#[graceful::teardown(order = 10, name = "flush")]
async fn flush() {
    service::flush_that_never_returns().await;
}

#[graceful::main]
async fn main() {
    service::block_a_thread_forever();
    println!("ready");
    graceful::shutdown_requested().await;
}
