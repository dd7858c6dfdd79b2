//! An HTTP server that stops the way a shutdown needs (cargo feature `axum`).
//!
//! [`serve`] runs an axum `Router` (or any tower service of its shape) on a listener,
//! HTTP/1 and HTTP/2 (prior knowledge, as gRPC and h2c clients speak it), and:
//!
//! - serves through the drain delay. From the first signal on, every HTTP/1 response
//!   says `Connection: close`, so clients kept alive reconnect (through the load
//!   balancer, to another instance) instead of reusing this one. Responses that hand the
//!   connection over (`101 Switching Protocols` to a websocket, an `Upgrade`, a `2xx` to
//!   `CONNECT`) are left as they are;
//! - at [`shutdown_requested`](crate::shutdown_requested) stops accepting (the listener
//!   is closed: new connections are refused), tells HTTP/2 clients `GOAWAY`, and
//!   completes once every request under way has been answered. A connection with no
//!   request under way gets one second for a request already on its way (sent before
//!   the client could know; it is answered, with `Connection: close`), then is closed;
//!   so is an HTTP/2 client that no longer answers;
//! - cannot be held by a client that stalls. One that has not sent a whole request head
//!   within the header-read timeout (10 s unless set; for a new connection, counted
//!   from its accept, and over HTTP/2 until its preface and SETTINGS are in) is closed.
//!   A request body the app waits for fails when an HTTP/1 client has sent nothing of it
//!   for the body-read timeout (10 s unless set), and, over either protocol, at the
//!   [`hard_stop`](crate::hard_stop): the handler gets an error from the body and
//!   answers (axum's extractors answer `400`);
//! - at the hard stop closes the connections whose handlers have all answered: streams
//!   (server-sent events, a long download, an HTTP/2 stream of messages) and upgraded
//!   connections (websockets, which the handler serves in a task of its own) end there,
//!   in time for the exit, with nothing to write for it. A handler still computing its
//!   answer is left to finish until the deadline;
//! - answers `500` for a handler that panics (and closes that HTTP/1 connection), and
//!   cuts short an answer whose body panics, logging either with the request's method and
//!   path: the server goes on serving, over HTTP/1 and HTTP/2 alike, and the exit code is
//!   not changed by it (a panic in a tracked task of the program's own does stop it);
//! - runs each connection as a tracked task named after its peer (`http connection from
//!   10.0.0.7:51234`; over a Unix socket, `http connection #3 from pid 4242`): the
//!   [`TASKS_STEP`](crate::TASKS_STEP) step waits for them, and the report names those
//!   the deadline cut;
//! - logs a failed accept of its `TcpListener` or `UnixListener` (a full descriptor
//!   table): the first at once, then at most one line every 10 s, and retries after a
//!   pause of up to a second.
//!
//! The app receives axum's [`Request`](axum::extract::Request); the peer's address is in
//! each request as axum's `ConnectInfo<L::Addr>`, so the `ConnectInfo` extractor works
//! without `into_make_service_with_connect_info`.

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Response, StatusCode};
use axum::serve::Listener;
use hyper::body::Body;
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto;
use tokio::sync::mpsc;

use crate::controller;
use crate::controller::tasks::{spawn_in, TaskName};
use crate::report::log;
use crate::serve::accept::Acceptor;
use crate::serve::body::BoxError;
use crate::serve::conn::{self, Exec};
use crate::serve::ready;
use crate::serve::request::{AppRequest, ConnService};
use crate::serve::state::ConnState;
use crate::trigger::panic::{self, CatchUnwind};

/// How long a client may take to send a request head, unless
/// [`Serve::header_read_timeout`] says otherwise.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an HTTP/1 client may go without sending a byte of a request body the app
/// waits for, unless [`Serve::body_read_timeout`] says otherwise.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until the shutdown, and completes once every request under
/// way has been answered (see [the module](self) for what happens when).
///
/// `listener` is a [`tokio::net::TcpListener`] (such as [`graceful::listener`](crate::listener)
/// gives), a `tokio::net::UnixListener`, or any [`axum::serve::Listener`]. `app` is an
/// `axum::Router`, or any tower service that takes axum's
/// [`Request`](axum::extract::Request). The returned [`Serve`] sets the options; `.await`
/// it to serve.
///
/// ```no_run
/// use axum::{routing::get, Router};
///
/// #[graceful::main(drain_delay = "5s")]
/// async fn main() -> std::io::Result<()> {
///     let app = Router::new()
///         .route("/", get(|| async { "hello\n" }))
///         .route("/readyz", get(graceful::http::readiness));
///     let listener = graceful::listener("http", "0.0.0.0:3000").await?;
///     graceful::http::serve(listener, app).await;
///     Ok(())
/// }
/// ```
pub fn serve<L, S>(listener: L, app: S) -> Serve<L, S> {
    let mut builder = auto::Builder::new(Exec);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(DEFAULT_HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    Serve {
        listener,
        app,
        builder,
        name: "http",
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
    }
}

/// The server [`serve`] returns: set its options, then `.await` it.
#[must_use = "a server does nothing until awaited"]
pub struct Serve<L, S> {
    listener: L,
    app: S,
    builder: auto::Builder<Exec>,
    name: &'static str,
    header_read_timeout: Duration,
    body_read_timeout: Option<Duration>,
}

impl<L, S> Debug for Serve<L, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("name", &self.name)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .finish_non_exhaustive()
    }
}

impl<L, S> Serve<L, S> {
    /// How long a client may take to send a request head: a new connection's first one
    /// counted from its accept (over HTTP/2: its preface and SETTINGS), the next ones
    /// from the end of the previous request (HTTP/1); the connection is closed past it.
    /// Default [`DEFAULT_HEADER_READ_TIMEOUT`] (10 s). It bounds how long a client that
    /// connects and stalls, or stalls halfway through a request head, can hold a
    /// connection, and the shutdown.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.builder.http1().header_read_timeout(timeout);
        self.header_read_timeout = timeout;
        self
    }

    /// How long an HTTP/1 client may go without sending a byte of a request body that
    /// the app is reading; past it, the read fails (axum's extractors answer `400`) and
    /// the connection is closed after the answer. Default [`DEFAULT_BODY_READ_TIMEOUT`]
    /// (10 s); `None` lets a body pause as long as it likes. It bounds how long a client
    /// whose upload stalls can hold the shutdown. An HTTP/2 request body is a stream (a
    /// gRPC client stream): it may pause, and its reads fail at the
    /// [`hard_stop`](crate::hard_stop), as every request body's do.
    pub fn body_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.body_read_timeout = timeout.into();
        self
    }

    /// Whether HTTP/1 connections are kept alive between requests (default true).
    pub fn http1_keep_alive(mut self, keep_alive: bool) -> Self {
        self.builder.http1().keep_alive(keep_alive);
        self
    }

    /// Serves HTTP/1 only: a client that opens with the HTTP/2 preface is refused.
    pub fn http1_only(mut self) -> Self {
        self.builder = self.builder.http1_only();
        self
    }

    /// Serves HTTP/2 only (prior knowledge, as gRPC clients speak it).
    pub fn http2_only(mut self) -> Self {
        self.builder = self.builder.http2_only();
        self
    }

    /// Sends an HTTP/2 ping this often on a connection with nothing to do, and closes the
    /// connection if the answer takes longer than `timeout`: clients that vanished do not
    /// keep their connections. Off by default.
    pub fn http2_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.builder
            .http2()
            .keep_alive_interval(interval)
            .keep_alive_timeout(timeout);
        self
    }

    /// At most this many requests at once on one HTTP/2 connection (default 200).
    pub fn http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.builder.http2().max_concurrent_streams(max);
        self
    }

    /// What the connections are called in logs and the report: `<name> connection from
    /// <peer>`. Default `http`.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }
}

impl<L, S, B> IntoFuture for Serve<L, S>
where
    L: Listener,
    L::Addr: Clone + Debug + Sync + 'static,
    S: tower_service::Service<AppRequest, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    /// Accepts until the shutdown is requested, then waits for the connections.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let ctl = controller::current();
            let Serve {
                listener,
                app,
                builder,
                name,
                header_read_timeout,
                body_read_timeout,
            } = self;
            let builder = Arc::new(builder);
            let mut acceptor = Acceptor::new(listener, name);
            // Each connection's task holds a sender: once all are gone, every connection
            // has ended.
            let (alive, mut all_ended) = mpsc::channel::<Infallible>(1);
            let requested = ctl.requested.wait();
            tokio::pin!(requested);
            loop {
                let (io, peer, conn_name) = tokio::select! {
                    biased;
                    () = &mut requested => break,
                    accepted = acceptor.accept() => accepted,
                };
                let state = ConnState::new(ctl, conn_name.clone());
                let service = ConnService::new(app.clone(), peer, state, body_read_timeout);
                let builder = builder.clone();
                let alive = alive.clone();
                let task = TaskName::Shared(conn_name.clone());
                spawn_in(ctl, task, async move {
                    let _alive = alive;
                    let served = conn::serve(&builder, io, service, header_read_timeout);
                    // The app's panics are caught nearer (`request.rs`, `body.rs`): one
                    // here is hyper's or graceful's, and stops this connection only.
                    if let Err(payload) = CatchUnwind::new(served).await {
                        log::serve_panicked(
                            &conn_name,
                            &panic::message(&*payload),
                            "the connection was closed; the server goes on",
                        );
                    }
                });
            }
            // New connections are refused from here.
            drop(acceptor);
            drop(alive);
            let _ = all_ended.recv().await;
        })
    }
}

/// An axum handler for a readiness probe: `200 ready` until the first signal, `503` from
/// it on with the reason (`shutting down: SIGTERM`), through the drain delay, so that the
/// load balancer moves traffic away while the service still serves it.
///
/// ```no_run
/// # let app: axum::Router = axum::Router::new();
/// let app = app.route("/readyz", axum::routing::get(graceful::http::readiness));
/// ```
pub async fn readiness() -> (StatusCode, String) {
    match ready::not_ready_reason() {
        None => (StatusCode::OK, "ready\n".to_owned()),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}
