//! Serving an axum app through a graceful shutdown, shared by the examples: what
//! `axum::serve(..).with_graceful_shutdown(graceful::shutdown_requested())` does, plus a
//! limit on how long a client may take to send a request head.
//!
//! Without that limit, a client that sent part of a request and stalled (a vanished
//! mobile client, a half-open connection, a slow scanner) holds the shutdown until the
//! deadline: the server waits for every request under way, and cannot tell that one from
//! a request about to arrive.

use std::time::Duration;

use axum::serve::Listener;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Serves `app` on `listener` through the drain delay. At `graceful::shutdown_requested()`
/// it closes the listener (new connections are refused), closes idle connections, and
/// returns once every request under way is answered. A connection that does not send a
/// whole request head within `header_timeout` is closed, then as at any other time; so
/// is a kept-alive connection that sends no next request within it.
pub(crate) async fn serve(mut listener: TcpListener, app: Router, header_timeout: Duration) {
    let connections = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    loop {
        let (stream, _) = tokio::select! {
            biased;
            () = graceful::shutdown_requested() => break,
            // axum's accept: it retries what fails (a full file table) after a pause.
            accepted = Listener::accept(&mut listener) => accepted,
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(connections.watch(conn));
    }
    drop(listener);
    connections.shutdown().await;
}
