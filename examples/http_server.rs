//! An HTTP service that a deploy does not cut off: requests in flight finish, the load
//! balancer is told to go away first, and a stream that never ends does not hold the
//! process past its deadline. All of it is `graceful::http::serve`'s doing.
//!
//! ```text
//! cargo run --example http_server
//! curl localhost:3000/                # answers with the serving process's id
//! curl localhost:3000/slow &          # takes 3 s
//! curl -N localhost:3000/events &     # a server-sent event each second, for ever
//! # then Ctrl-C the server
//! ```
//!
//! On `SIGTERM` or Ctrl-C:
//!
//! 1. `/healthz` (graceful's readiness handler) answers 503 at once, while the server
//!    still accepts connections for the two-second drain delay: the load balancer
//!    notices and stops sending traffic. Responses on kept-alive connections say
//!    `Connection: close`, so those clients reconnect through it too.
//! 2. The server stops accepting (new connections are refused), gives idle connections
//!    a second for a request already on its way, then closes them, and waits for the
//!    requests in flight: `/slow` completes with 200. A client that stalls halfway
//!    through sending its request is cut off 3 s after it began.
//! 3. `/events` streams go on until a margin before the deadline (`hard_stop`), then the
//!    server closes them, so a client that never hangs up cannot hold the process.
//! 4. The process exits 0, well inside its 10 s deadline when no stream is open.
//!
//! Under systemd, a socket unit can hold the port (`ListenStream=3000`,
//! `FileDescriptorName=http`): `graceful::listener("http", ..)` takes that socket instead
//! of binding one.
//!
//! On `SIGHUP` it upgrades in place: it starts the binary now at its path, hands it the
//! listening socket, and once the new process says it is ready, stops accepting and
//! drains as above (without the drain delay: no load balancer has to move). No connection
//! is refused, no request fails:
//!
//! ```text
//! cargo build --example http_server && cp target/debug/examples/http_server /tmp/app
//! /tmp/app &                          # serves; curl localhost:3000/ says its pid
//! cargo build --example http_server && cp target/debug/examples/http_server /tmp/app.new
//! mv /tmp/app.new /tmp/app && kill -HUP %1      # curl localhost:3000/: the new pid
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use futures_util::Stream;

#[macro_use]
#[path = "common/out.rs"]
mod out;

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
    #[arg(long, env = "HTTP_SERVER_SLOW", default_value = "3s", value_parser = graceful::parse_duration)]
    slow: Duration,
}

#[graceful::main(deadline = "10s", drain_delay = "2s", upgrade)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let slow = cli.slow;
    let app = Router::new()
        .route("/", get(whoami))
        .route("/healthz", get(graceful::http::readiness))
        .route("/slow", get(move || slow_answer(slow)))
        .route("/events", get(events));
    let listener = graceful::listener("http", cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    outln!("ready: listening on http://{}", listener.local_addr()?);
    // Connections queue on the socket until `serve` accepts them, just below: say so to
    // systemd (`Type=notify`), or, after an upgrade, to the process this one replaces.
    graceful::ready();

    // Serves through the drain delay, then stops accepting and waits for every
    // response under way: the body of `main` ends when the last one is sent.
    graceful::http::serve(listener, app)
        .header_read_timeout(HEADER_TIMEOUT)
        .await;
    outln!("server stopped: every request answered");
    Ok(())
}

/// Which process answers: during an in-place upgrade, the old one or the new one.
async fn whoami() -> String {
    format!("pid {}\n", std::process::id())
}

async fn slow_answer(took: Duration) -> String {
    tokio::time::sleep(took).await;
    format!("done after {took:?}\n")
}

/// A tick a second, for ever: the server closes the stream at the hard stop, a margin
/// before the deadline, so the client reconnects to another instance.
async fn events() -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let ticks = futures_util::stream::unfold(0u64, |n| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Some((Ok(Event::default().data(format!("tick {n}"))), n + 1))
    });
    Sse::new(ticks).keep_alive(KeepAlive::default())
}
