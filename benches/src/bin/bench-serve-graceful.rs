//! An HTTP service that answers `GET /` with `hello`, served by `graceful::http::serve` on
//! a `graceful::listener`: what the `serve` benchmark loads in steady state. It prints
//! `ready`, then `address <address>`, and serves until `SIGTERM`.

use axum::routing::get;
use axum::Router;

#[graceful::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let listener = graceful::listener("http", "127.0.0.1:0").await?;
    println!("ready");
    println!("address {}", listener.local_addr()?);
    graceful::http::serve(listener, app).await;
    Ok(())
}
