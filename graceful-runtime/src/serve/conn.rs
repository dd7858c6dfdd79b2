//! One connection of [`http::serve`](super::http::serve), from its accept to its end.
//!
//! 1. **Serving.** hyper serves it. A client that has not got through its opening
//!    within the header-read timeout (its first request head over HTTP/1; the preface and
//!    SETTINGS over HTTP/2) is closed: one that connects and sends nothing, or a byte,
//!    holds nothing for long.
//! 2. **Stopping**, from [`shutdown_requested`](crate::shutdown_requested). A
//!    connection with requests under way is told to stop (HTTP/1: closed once they are
//!    answered; HTTP/2: `GOAWAY`, then closed once its streams end). One with none is
//!    given [`IDLE_GRACE`] for a request already on its way (sent before the client
//!    could know): it is answered (with `Connection: close`), then the connection
//!    closes; if none comes, the connection closes quietly. An HTTP/2 client is sent
//!    `GOAWAY` at once; one that has gone silent (it never acknowledges) is closed once
//!    it has been idle that long, instead of being waited for until the hard stop.
//! 3. **The hard stop.** The connection ends as soon as no handler of it is computing an
//!    answer: what remains is a stream (a server-sent event body, an HTTP/2 stream of
//!    messages, a request body still coming: its reads fail now) or an idle connection,
//!    and neither is work to finish. A handler still computing is left to run until the
//!    deadline, where the report names the connection; its answer, once given, is sent
//!    whole before the connection ends.
//!
//! An upgraded connection (a websocket) leaves hyper once upgraded, for a task of the
//! handler's; its socket stays wrapped in `io.rs`'s [`Io`], which ends it at the hard
//! stop (reads see the end, writes fail), and the connection's tracked task lasts until
//! the socket is dropped or the hard stop comes. So a websocket, like a stream, is served
//! through the drain and the teardown, and ended in time for the exit.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::http::Response;
use hyper::body::Body;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{sleep_until, Instant};

use crate::controller::{self, scope};
use crate::serve::body::BoxError;
use crate::serve::io::Io;
use crate::serve::request::{AppRequest, ConnService};
use crate::serve::state::ConnState;

/// How long a connection with no request under way is kept once the shutdown is
/// requested, for a request already on its way to arrive.
pub(crate) const IDLE_GRACE: Duration = Duration::from_secs(1);

/// How a connection left hyper.
enum Left {
    /// hyper is done with it; the socket may live on, upgraded.
    Done,
    /// It was closed: it never opened in time, stayed idle through the grace, or the hard
    /// stop ended it.
    Closed,
}

/// Serves one connection until it ends (see [the module](self)).
pub(crate) async fn serve<I, S, A, B>(
    builder: &auto::Builder<Exec>,
    io: I,
    service: ConnService<S, A>,
    header_read_timeout: Duration,
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
    let left = {
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        // A connection's errors (a client gone, a malformed request) are its own.
        let opened = async {
            tokio::time::sleep(header_read_timeout).await;
            if state.is_opened() {
                std::future::pending::<()>().await;
            }
        };
        let serving = tokio::select! {
            biased;
            _ = &mut conn => Some(Left::Done),
            () = ctl.requested.wait() => None,
            () = opened => Some(Left::Closed),
        };
        match serving {
            Some(left) => left,
            None => stop(&state, conn).await,
        }
    };
    // Done with hyper. The socket may live on, upgraded, until the hard stop ends it.
    if let Left::Done = left {
        state.left_hyper();
        tokio::select! {
            biased;
            () = state.closed() => {}
            () = ctl.hard_stop.wait() => {}
        }
    }
}

/// Stops a connection once the shutdown is requested (see [the module](self)).
async fn stop<C: GracefulConnection>(state: &ConnState, mut conn: Pin<&mut C>) -> Left {
    let ctl = state.ctl;
    let mut told = false;
    let mut idle_since = None;
    loop {
        let changed = state.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let idle = state.is_idle();
        if !told && (!idle || state.is_http2()) {
            conn.as_mut().graceful_shutdown();
            told = true;
        }
        let closes_at = if idle {
            Some(*idle_since.get_or_insert_with(Instant::now) + IDLE_GRACE)
        } else {
            idle_since = None;
            None
        };
        tokio::select! {
            biased;
            _ = conn.as_mut() => return Left::Done,
            () = ctl.hard_stop.wait() => break,
            () = changed => {}
            () = sleep_until_some(closes_at) => return Left::Closed,
        }
    }
    // The hard stop: streams end; a handler still computing its answer finishes and its
    // answer is sent, or it is cut at the deadline with this task.
    tokio::select! {
        biased;
        _ = conn.as_mut() => Left::Done,
        () = state.hard_stop_done() => Left::Closed,
    }
}

/// Completes at `at`, or never.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
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
