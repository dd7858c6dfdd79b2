//! An HTTP service that upgrades in place on `SIGHUP`, for the `upgrade` benchmark: `GET /`
//! answers `pid <its process id>`, so that the load sees which process served each
//! request. It serves `graceful::listener("http", ..)` on `BENCH_LISTEN` (default
//! `127.0.0.1:0`): at a fresh start the benchmark gives it the same port each time, after
//! an upgrade the socket is the one handed over. Once it has said `graceful::ready()` it
//! prints `ready <pid>`, then `address <address>`, and serves until `SIGTERM`. Unix only;
//! elsewhere it says so and exits 2.

#[cfg(unix)]
#[graceful::main(upgrade)]
async fn main() -> std::io::Result<()> {
    use axum::routing::get;
    use axum::Router;

    let app = Router::new().route(
        "/",
        get(|| async { format!("pid {}\n", std::process::id()) }),
    );
    let addr = std::env::var("BENCH_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = graceful::listener("http", addr.as_str()).await?;
    let local = listener.local_addr()?;
    graceful::ready();
    println!("ready {}", std::process::id());
    println!("address {local}");
    graceful::http::serve(listener, app).await;
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    graceful_benches::unix_only("SIGHUP, to upgrade in place");
}
