//! An HTTP service that a deploy does not cut off: requests in flight finish, the load
//! balancer is told to go away first, and a stream that never ends does not hold the
//! process past its deadline.
//!
//! ```text
//! cargo run --example http_server
//! curl localhost:3000/slow &          # takes 3 s
//! curl -N localhost:3000/events &     # a server-sent event each second, for ever
//! # then Ctrl-C the server
//! ```
//!
//! On `SIGTERM` or Ctrl-C:
//!
//! 1. `/healthz` answers 503 at once, while the server still accepts connections for
//!    the two-second drain delay: the load balancer notices and stops sending traffic.
//! 2. The server stops accepting (new connections are refused) and waits for the
//!    requests in flight: `/slow` completes with 200. A client that stalls halfway
//!    through sending its request is cut off 3 s after it began.
//! 3. `/events` streams go on until a margin before the deadline (`hard_stop`), then
//!    end, so a client that never hangs up cannot hold the process.
//! 4. The process exits 0, well inside its 10 s deadline when no stream is open.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use futures_util::{Stream, StreamExt};

#[macro_use]
#[path = "common/out.rs"]
mod out;
#[path = "common/serve.rs"]
mod serve;

/// How long a client may take to send a request head: a client that stalls halfway
/// cannot hold the shutdown past it.
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

/// An HTTP service with a slow endpoint, a stream and a health check, that shuts down
/// gracefully: press Ctrl-C while a request runs.
#[derive(Debug, Parser)]
#[command(name = "http_server", version)]
struct Cli {
    /// Where to listen; port 0 picks a free port.
    #[arg(long, env = "HTTP_SERVER_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// How long /slow takes to answer (e.g. 3s, 500ms).
    #[arg(long, env = "HTTP_SERVER_SLOW", default_value = "3s", value_parser = humantime::parse_duration)]
    slow: Duration,
}

#[graceful::main(deadline = "10s", drain_delay = "2s")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let slow = cli.slow;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/slow", get(move || slow_answer(slow)))
        .route("/events", get(events));
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    outln!("ready: listening on http://{}", listener.local_addr()?);

    // Serves through the drain delay, then stops accepting and waits for every
    // response under way: the body of `main` ends when the last one is sent.
    serve::serve(listener, app, HEADER_TIMEOUT).await;
    outln!("server stopped: every request answered");
    Ok(())
}

/// 503 from the first signal on: the instance is going away, send traffic elsewhere.
async fn healthz() -> (StatusCode, &'static str) {
    if graceful::is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

async fn slow_answer(took: Duration) -> String {
    tokio::time::sleep(took).await;
    format!("done after {took:?}\n")
}

/// A tick a second until the deadline comes near; then the stream ends and the
/// connection closes, so the client can reconnect to another instance.
async fn events() -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let ticks = futures_util::stream::unfold(0u64, |n| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Some((Ok(Event::default().data(format!("tick {n}"))), n + 1))
    });
    // A stream is not work to finish: ending it at the hard stop is the plan, not a cut.
    Sse::new(ticks.take_until(graceful::hard_stop())).keep_alive(KeepAlive::default())
}
