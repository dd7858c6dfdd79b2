//! An HTTP service on `graceful::listener("http", ..)` and `graceful::http::serve`, for
//! the tests of where its socket comes from (`tests/listeners.rs`) and of how it serves
//! and stops (`tests/serving.rs`). Chosen by environment variables:
//!
//! - `FIXTURE_LISTEN`: the address asked for (default `127.0.0.1:0`);
//! - `FIXTURE_UNIX`: a path: a Unix-socket listener there instead;
//! - `FIXTURE_TWICE=1`: asks for the name `http` a second time once it has it;
//! - `FIXTURE_HEADER_TIMEOUT_MS`, `FIXTURE_BODY_TIMEOUT_MS`: the server's header-read
//!   and body-read timeouts, in milliseconds (`none`: no body-read timeout);
//! - `FIXTURE_SLOW_MS`: how long `GET /slow` takes (default 2000).
//!
//! It prints `ready: listening on <address> (<origin>); LISTEN_FDS <value or unset>`, and
//! `server stopped` once `serve` has returned. It answers `GET /` with its process id,
//! `POST /upload` with the length of the body it read, `GET /slow` after a while, and
//! `GET /echo` with `Upgrade: echo` by switching the connection to an echo of every
//! byte, in a task of its own, as a websocket handler does; `GET /panic` panics. A hook
//! that runs after the connections have drained prints `hook after the server ran`. An
//! error taking the listener is printed as `error: <message>` and ends `main` with it
//! (exit code 1).

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[graceful::main]
async fn main() -> std::io::Result<()> {
    serve().await.inspect_err(|e| eprintln!("error: {e}"))
}

/// A non-`always` hook after `graceful::tasks`: skipped if the connections hold the
/// shutdown to its deadline.
#[graceful::teardown(order = 10)]
fn after_the_server() {
    println!("hook after the server ran");
}

async fn serve() -> std::io::Result<()> {
    let slow = Duration::from_millis(millis("FIXTURE_SLOW_MS").unwrap_or(2000));
    let app = Router::new()
        .route(
            "/",
            get(|| async { format!("pid {}\n", std::process::id()) }),
        )
        .route(
            "/upload",
            post(|body: String| async move { format!("got {} bytes\n", body.len()) }),
        )
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(slow).await;
                "slow done\n"
            }),
        )
        .route("/panic", get(panics))
        .route("/echo", get(echo));
    let unix = std::env::var_os("FIXTURE_UNIX");
    #[cfg(unix)]
    if let Some(path) = unix {
        let listener = graceful::unix_listener("http", &path)?;
        say_ready();
        configured(graceful::http::serve(listener, app)).await;
        println!("server stopped");
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
    configured(graceful::http::serve(listener, app)).await;
    println!("server stopped");
    Ok(())
}

/// The server with the timeouts the environment sets.
fn configured<L, S>(mut server: graceful::http::Serve<L, S>) -> graceful::http::Serve<L, S> {
    if let Some(ms) = millis("FIXTURE_HEADER_TIMEOUT_MS") {
        server = server.header_read_timeout(Duration::from_millis(ms));
    }
    if std::env::var("FIXTURE_BODY_TIMEOUT_MS").as_deref() == Ok("none") {
        return server.body_read_timeout(None);
    }
    match millis("FIXTURE_BODY_TIMEOUT_MS") {
        Some(ms) => server.body_read_timeout(Duration::from_millis(ms)),
        None => server,
    }
}

/// A number of milliseconds from the environment.
fn millis(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number of milliseconds")),
    )
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

/// A handler with a bug.
async fn panics() -> &'static str {
    panic!("handler bug")
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
