//! A broken new binary, put in place of `fixture-upgradable` by the tests of the upgrade's
//! faults. It takes the listener handed over (so the handover is exercised), never
//! accepts on it, and then, as `FIXTURE_FAULT` says:
//!
//! - `exit`: exits with code 3 at once, before taking anything;
//! - `never-ready`: never calls `graceful::ready()`, until it is stopped;
//! - `crash`: calls `graceful::ready()`, then aborts (killed by `SIGABRT`).
//!
//! It prints its readiness once it took the listener (`faulty: took the listener (…);
//! readiness: …`), and its hook says whether its stop is a rollback.

use std::time::Duration;

#[graceful::teardown(order = 10)]
async fn say_rollback(ctx: graceful::Context) {
    println!("faulty: hook rollback={}", ctx.is_rollback());
}

#[graceful::main(deadline = "5s", upgrade)]
async fn main() -> std::io::Result<()> {
    let fault = std::env::var("FIXTURE_FAULT").unwrap_or_default();
    if fault == "exit" {
        std::process::exit(3);
    }
    let _held = graceful::listener("http", "127.0.0.1:0").await?;
    println!(
        "faulty: took the listener ({fault}); readiness: {:?}",
        graceful::not_ready_reason()
    );
    if fault == "crash" {
        graceful::ready();
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::process::abort();
    }
    graceful::shutdown_requested().await;
    println!("faulty: stopped");
    Ok(())
}
