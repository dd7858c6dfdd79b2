//! An HTTP service on `graceful::listener("http", ..)`, for the tests of where its socket
//! comes from (`tests/listeners.rs`). Chosen by environment variables:
//!
//! - `FIXTURE_LISTEN`: the address asked for (default `127.0.0.1:0`);
//! - `FIXTURE_UNIX`: a path: a Unix-socket listener there instead;
//! - `FIXTURE_TWICE=1`: asks for the name `http` a second time once it has it.
//!
//! It prints `ready: listening on <address> (<origin>); LISTEN_FDS <value or unset>`,
//! answers `GET /` with its process id, and `GET /echo` with `Upgrade: echo` by switching
//! the connection to an echo of every byte, in a task of its own, as a websocket handler
//! does. An error taking the listener is printed as
//! `error: <message>` and ends `main` with it (exit code 1).

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[graceful::main]
async fn main() -> std::io::Result<()> {
    serve().await.inspect_err(|e| eprintln!("error: {e}"))
}

async fn serve() -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/",
            get(|| async { format!("pid {}\n", std::process::id()) }),
        )
        .route("/echo", get(echo));
    let unix = std::env::var_os("FIXTURE_UNIX");
    #[cfg(unix)]
    if let Some(path) = unix {
        let listener = graceful::unix_listener("http", &path)?;
        say_ready();
        graceful::http::serve(listener, app).await;
        return Ok(());
    }
    #[cfg(not(unix))]
    drop(unix);
    let addr = std::env::var("FIXTURE_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = graceful::listener("http", addr.as_str()).await?;
    if std::env::var_os("FIXTURE_TWICE").is_some() {
        graceful::listener("http", addr.as_str()).await?;
    }
    say_ready();
    graceful::http::serve(listener, app).await;
    Ok(())
}

fn say_ready() {
    let info = graceful::listeners()
        .into_iter()
        .find(|l| l.name() == "http")
        .expect("registered");
    let fds = std::env::var("LISTEN_FDS").unwrap_or_else(|_| "unset".to_owned());
    println!(
        "ready: listening on {} ({}); LISTEN_FDS {fds}",
        info.address(),
        info.origin()
    );
}

/// Switches the connection to an echo, served by a task of its own (as axum's websockets
/// are) until the client or the server ends it.
async fn echo(mut request: Request) -> Response {
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut io = TokioIo::new(upgraded);
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = io.read(&mut buf).await {
            if io.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        println!("echo ended");
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "upgrade"), (header::UPGRADE, "echo")],
    )
        .into_response()
}
