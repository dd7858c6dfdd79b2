//! The socket of one connection of [`http::serve`](super::http::serve), as hyper reads
//! and writes it. At the hard stop, it ends a connection hyper no longer drives (an upgraded one, a
//!   websocket, in the hands of the handler's task): its reads see the end, its writes
//!   fail, so that the handler's task ends too;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::serve::state::ConnState;
use crate::sync::latch::Wait;

pin_project! {
    /// The connection's socket.
    pub(crate) struct Io<I> {
        #[pin]
        inner: I,
        stop: Wait,
        open: Open,
    }
}

impl<I> Io<I> {
    pub(crate) fn new(inner: I, state: Arc<ConnState>) -> Self {
        Io {
            inner,
            stop: state.ctl.hard_stop.wait(),
            open: Open(state),
        }
    }

    /// Whether the hard stop has ended the socket; when it has not come, the task is
    /// woken when it does.
    fn poll_ended(stop: &mut Wait, open: &Open, cx: &mut Context<'_>) -> bool {
        Pin::new(stop).poll(cx).is_ready() && open.0.socket_ended()
    }
}

/// Marks the socket closed when it is dropped.
struct Open(Arc<ConnState>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.socket_closed();
    }
}

impl<I: AsyncWrite> Io<I> {
    /// Writes with `write`, unless the hard stop has ended the socket.
    fn write_unless_ended(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut I>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if this.stop.latch().is_set() && this.open.0.socket_ended() {
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
        if this.stop.latch().is_set() && this.open.0.socket_ended() {
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
