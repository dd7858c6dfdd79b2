//! An HTTP service that upgrades in place on `SIGHUP`, for the tests of the upgrade's
//! faults (`tests/upgrade.rs`); `fixture-faulty` is the broken binary those tests put in
//! its place.
//!
//! It serves `graceful::listener("http", "127.0.0.1:0")` (`FIXTURE_LISTEN` to choose, or
//! `FIXTURE_LISTEN_FILE`, a file that holds the address, read by each generation):
//! `GET /` answers with its process id, `GET /slow` after three seconds (longer than an
//! upgrade takes to hand over), `GET /upgrade` calls
//! `graceful::upgrade()` and answers with its result (`ok <pid>` or `error: <message>`),
//! `GET /upgrade-briefly` the same, but gives up waiting after 50 ms (`gave up waiting`)
//! and drops the call's future, as an admin handler whose client hung up does.
//! It prints `ready: listening on http://<address>` once it has said `graceful::ready()`,
//! and its one hook prints `hook trigger=<trigger> rollback=<Context::is_rollback>`.

use std::time::Duration;

use axum::routing::get;
use axum::Router;

#[graceful::teardown(order = 10)]
async fn show_trigger(ctx: graceful::Context) {
    println!(
        "hook trigger={} rollback={}",
        ctx.trigger(),
        ctx.is_rollback()
    );
}

#[graceful::main(deadline = "5s", drain_delay = "200ms", upgrade)]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/",
            get(|| async { format!("pid {}\n", std::process::id()) }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "done after 3s\n"
            }),
        )
        .route(
            "/upgrade",
            get(|| async {
                match graceful::upgrade().await {
                    Ok(pid) => format!("ok {pid}\n"),
                    Err(e) => format!("error: {e}\n"),
                }
            }),
        )
        .route(
            "/upgrade-briefly",
            get(|| async {
                match tokio::time::timeout(Duration::from_millis(50), graceful::upgrade()).await {
                    Ok(Ok(pid)) => format!("ok {pid}\n"),
                    Ok(Err(e)) => format!("error: {e}\n"),
                    Err(_) => "gave up waiting\n".to_owned(),
                }
            }),
        );
    // A deploy may change the address in a file that each generation reads.
    let addr = match std::env::var("FIXTURE_LISTEN_FILE") {
        Ok(file) => std::fs::read_to_string(file)?.trim().to_owned(),
        Err(_) => std::env::var("FIXTURE_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned()),
    };
    let listener = graceful::listener("http", addr.as_str()).await?;
    let local = listener.local_addr()?;
    graceful::ready();
    println!("ready: listening on http://{local}");
    graceful::http::serve(listener, app).await;
    Ok(())
}
