//! User code that denies every warning and pedantic lint: nothing the attributes generate
//! trips them. (trybuild does not run clippy; `fixture-linked` is the same under
//! `cargo clippy --all-targets`.)

#![deny(
    warnings,
    missing_docs,
    rust_2018_idioms,
    unreachable_pub,
    unused_qualifications,
    unused_extern_crates,
    unused_results,
    clippy::all,
    clippy::pedantic
)]

graceful::link!(hooks_lib);

/// A state the hooks read.
struct Pool;

#[graceful::teardown(order = 1, name = "pool", timeout = "2s")]
async fn close_pool(pool: graceful::State<Pool>, ctx: graceful::Context) -> Result<(), String> {
    let _ = (&*pool, ctx.trigger());
    Ok(())
}

#[graceful::teardown(order = 2, always)]
fn flush_logs() -> std::io::Result<()> {
    Ok(())
}

#[graceful::teardown(order = 3)]
async fn nothing_to_await() {}

#[graceful::main(deadline = "10s", drain_delay = "1s", signals = ["SIGTERM"], worker_threads = 1)]
async fn main() -> Result<(), String> {
    graceful::provide(Pool);
    Ok(())
}
