//! One connection of [`http::serve`](super::http::serve), from its accept to its end.
//!
//! It is served by hyper until it ends, or until the hard stop has come and no handler
//! of it is computing an answer: what remains then is a stream (a server-sent event
//! body, an HTTP/2 stream of messages, a request body still coming: its reads fail now)
//! or an idle connection, and neither is work to finish. A handler still computing is
//! left to run until the deadline, where the report names the connection; its answer,
//! once given, is sent whole before the connection ends.
//!
//! An upgraded connection (a websocket) leaves hyper once upgraded, for a task of the
//! handler's; its socket stays wrapped in `io.rs`'s [`Io`], which ends it at the hard
//! stop (reads see the end, writes fail), and the connection's tracked task lasts until
//! the socket is dropped or the hard stop comes. So a websocket, like a stream, is served
//! through the drain and the teardown, and ended in time for the exit.

use std::convert::Infallible;
use std::future::Future;

use axum::http::Response;
use hyper::body::Body;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::controller::{self, scope};
use crate::serve::body::BoxError;
use crate::serve::io::Io;
use crate::serve::request::{AppRequest, ConnService};

/// Serves one connection until it ends (see [the module](self)).
pub(crate) async fn serve<I, S, A, B>(
    builder: &auto::Builder<Exec>,
    io: I,
    service: ConnService<S, A>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<AppRequest, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    A: Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let state = service.state().clone();
    let ctl = state.ctl;
    let io = Io::new(io, state.clone());
    let done_with_hyper = {
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let conn = watcher.watch(conn);
        tokio::pin!(conn);
        // A connection's errors (a client gone, a malformed request) are its own.
        tokio::select! {
            biased;
            _ = &mut conn => true,
            () = ctl.hard_stop.wait() => {
                // The hard stop: streams end; a handler still computing its answer
                // finishes and its answer is sent, or it is cut at the deadline with
                // this task.
                tokio::select! {
                    biased;
                    _ = &mut conn => true,
                    () = state.hard_stop_done() => false,
                }
            }
        }
    };
    // Done with hyper. The socket may live on, upgraded, until the hard stop ends it.
    if done_with_hyper {
        state.left_hyper();
        tokio::select! {
            biased;
            () = state.closed() => {}
            () = ctl.hard_stop.wait() => {}
        }
    }
}

/// Runs hyper's HTTP/2 streams as tasks of the program that serves them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exec;

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        tokio::spawn(scope(controller::current(), fut));
    }
}
