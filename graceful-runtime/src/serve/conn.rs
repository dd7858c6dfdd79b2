//! One connection of [`http::serve`](super::http::serve), from its accept to its end:
//! the service that runs the app for its requests, the count of handlers that have not
//! answered yet, and what the hard stop does to it.
//!
//! At the hard stop a connection ends as soon as no handler of it is computing an
//! answer: what remains is a stream (a server-sent event body, an HTTP/2 stream of
//! messages) or an idle connection, and neither is work to finish. A handler still
//! computing is left to run until the deadline, where the report names the connection.
//!
//! An upgraded connection (a websocket) leaves hyper once upgraded, for a task of the
//! handler's; its socket stays wrapped in [`Io`], which ends it at the hard stop (reads
//! see the end, writes fail), and the connection's tracked task lasts until the
//! socket is dropped or the hard stop comes. So a websocket, like a stream, is served
//! through the drain and the teardown, and ended in time for the exit.

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::ConnectInfo;
use axum::http::header::{HeaderValue, CONNECTION};
use axum::http::{Request, Response, Version};
use hyper::body::{Body, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::controller::{self, scope, Controller};

use crate::sync::latch::Wait;

/// An error of the app's response body, as hyper takes it.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves one connection until it ends, or until the hard stop has come and no handler
/// of it is computing an answer.
pub(crate) async fn serve<I, S, A, B>(
    ctl: &'static Controller,
    builder: Arc<auto::Builder<Exec>>,
    io: I,
    service: ConnService<S, A>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
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
    let state = service.state.clone();
    let io = Io {
        inner: io,
        stop: ctl.hard_stop.wait(),
        open: Open(state.clone()),
    };
    let ended_with_hyper = {
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let conn = watcher.watch(conn);
        tokio::pin!(conn);
        // A connection's errors (a client gone, a malformed request) are its own.
        tokio::select! {
            biased;
            _ = &mut conn => true,
            () = ctl.hard_stop.wait() => {
                // The hard stop: streams end; a handler still computing its answer
                // finishes, or is cut at the deadline with this task.
                tokio::select! {
                    biased;
                    _ = &mut conn => {}
                    () = state.no_handler_running() => {}
                }
                false
            }
        }
    };
    // Done with hyper. The socket may live on, upgraded, until the hard stop ends it.
    if ended_with_hyper {
        tokio::select! {
            biased;
            () = state.closed() => {}
            () = ctl.hard_stop.wait() => {}
        }
    }
}

/// What one connection's pieces share.
pub(crate) struct ConnState {
    ctl: &'static Controller,
    /// Handlers that have not answered yet.
    handlers: AtomicUsize,
    /// Whether the socket has been dropped.
    closed: AtomicBool,
    /// Woken when the last handler answers once the hard stop has come, and when the
    /// socket is dropped.
    changed: Notify,
}

impl ConnState {
    /// Completes when `done` holds, looked at each time something changes.
    async fn until(&self, done: impl Fn(&ConnState) -> bool) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the look, so that a change in between wakes it.
            changed.as_mut().enable();
            if done(self) {
                return;
            }
            changed.await;
        }
    }

    async fn no_handler_running(&self) {
        self.until(|s| s.handlers.load(Ordering::Acquire) == 0)
            .await;
    }

    async fn closed(&self) {
        self.until(|s| s.closed.load(Ordering::Acquire)).await;
    }

    /// Whether the hard stop ends the connection now: it has come, and no handler is
    /// computing an answer.
    fn ended_by_hard_stop(&self) -> bool {
        self.ctl.hard_stop.is_set() && self.handlers.load(Ordering::Acquire) == 0
    }
}

/// Counts a handler as running until it answers (or is dropped).
struct Running(Arc<ConnState>);

impl Drop for Running {
    fn drop(&mut self) {
        let state = &self.0;
        if state.handlers.fetch_sub(1, Ordering::AcqRel) == 1 && state.ctl.hard_stop.is_set() {
            state.changed.notify_waiters();
        }
    }
}

/// Marks the socket closed when it is dropped.
struct Open(Arc<ConnState>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.changed.notify_waiters();
    }
}

pin_project! {
    /// The connection's socket: ends, at the hard stop, a connection no handler is
    /// answering on (reads see the end, writes fail), so that an upgraded connection,
    /// which hyper no longer drives, ends too.
    struct Io<I> {
        #[pin]
        inner: I,
        stop: Wait,
        open: Open,
    }
}

impl<I> Io<I> {
    /// Whether the hard stop has ended the connection; when it has not, the task is woken
    /// when it comes.
    fn poll_ended(stop: &mut Wait, open: &Open, cx: &mut Context<'_>) -> bool {
        Pin::new(stop).poll(cx).is_ready() && open.0.ended_by_hard_stop()
    }
}

impl<I: AsyncWrite> Io<I> {
    /// Writes with `write`, unless the hard stop has ended the connection.
    fn write_unless_ended(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut I>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if this.stop.latch().is_set() && this.open.0.ended_by_hard_stop() {
            return Poll::Ready(Err(ended()));
        }
        match write(this.inner, cx) {
            Poll::Pending if Io::<I>::poll_ended(this.stop, this.open, cx) => {
                Poll::Ready(Err(ended()))
            }
            other => other,
        }
    }
}

fn ended() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the connection was ended at the hard stop",
    )
}

impl<I: AsyncRead> AsyncRead for Io<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        // While no shutdown is under way, one atomic load.
        if this.stop.latch().is_set() && this.open.0.ended_by_hard_stop() {
            return Poll::Ready(Ok(()));
        }
        match this.inner.poll_read(cx, buf) {
            Poll::Pending if Io::<I>::poll_ended(this.stop, this.open, cx) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl<I: AsyncWrite> AsyncWrite for Io<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_unless_ended(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_unless_ended(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// The app as one connection's hyper service: it gives each request the peer's address,
/// counts the handlers running, and says `Connection: close` on HTTP/1 once the
/// shutdown has begun.
pub(crate) struct ConnService<S, A> {
    app: TowerToHyperService<S>,
    peer: A,
    state: Arc<ConnState>,
}

impl<S, A> ConnService<S, A> {
    pub(crate) fn new(app: S, peer: A, ctl: &'static Controller) -> Self {
        ConnService {
            app: TowerToHyperService::new(app),
            peer,
            state: Arc::new(ConnState {
                ctl,
                handlers: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                changed: Notify::new(),
            }),
        }
    }
}

impl<S, A, B> hyper::service::Service<Request<Incoming>> for ConnService<S, A>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone,
    A: Clone + Send + Sync + 'static,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Answer<S>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request
            .extensions_mut()
            .insert(ConnectInfo(self.peer.clone()));
        let http1 = request.version() < Version::HTTP_2;
        self.state.handlers.fetch_add(1, Ordering::AcqRel);
        Answer {
            inner: self.app.call(request),
            http1,
            running: Some(Running(self.state.clone())),
        }
    }
}

pin_project! {
    /// A handler's answer, on its way.
    pub(crate) struct Answer<S>
    where
        S: tower_service::Service<Request<Incoming>>,
    {
        #[pin]
        inner: TowerToHyperServiceFuture<S, Request<Incoming>>,
        http1: bool,
        running: Option<Running>,
    }
}

impl<S, B> Future for Answer<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
{
    type Output = Result<Response<B>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.inner.poll(cx));
        // The handler has answered: what follows is the body, which may stream.
        let running = this.running.take();
        let closing = *this.http1 && running.as_ref().is_some_and(|r| r.0.ctl.is_shutting_down());
        drop(running);
        if closing {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
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
