//! The same HTTP service served by plain `axum::serve` on `#[tokio::main]`, stopped by
//! `SIGTERM` through `with_graceful_shutdown`: the `serve` benchmark's baseline. It prints
//! `ready`, then `address <address>`,. Unix only; elsewhere it says so and exits 2.

#[cfg(unix)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    use axum::routing::get;
    use axum::Router;
    use tokio::signal::unix::{signal, SignalKind};

    let app = Router::new().route("/", get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("ready");
    println!("address {}", listener.local_addr()?);
    let mut terminate = signal(SignalKind::terminate())?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            terminate.recv().await;
        })
        .await
}

#[cfg(not(unix))]
fn main() {
    graceful_benches::unix_only("SIGTERM");
}
