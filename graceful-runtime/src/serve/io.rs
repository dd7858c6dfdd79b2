//! The socket of one connection of [`http::serve`](super::http::serve), as hyper reads
//! and writes it. It does two things on the way:
//!
//! - at the hard stop, it ends a connection hyper no longer drives (an upgraded one, a
//!   websocket, in the hands of the handler's task): its reads see the end, its writes
//!   fail, so that the handler's task ends too;
//! - until the client has got through its opening, it watches the first bytes: an
//!   HTTP/2 client has opened once its preface and the frame after it (its SETTINGS) are
//!   in, which the connection's life then knows (an HTTP/1 client has opened once its
//!   first request reaches the app, which `request.rs` sees).

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
        // What the client has sent of its opening, until it is known.
        opening: Option<Opening>,
    }
}

impl<I> Io<I> {
    pub(crate) fn new(inner: I, state: Arc<ConnState>) -> Self {
        Io {
            inner,
            stop: state.ctl.hard_stop.wait(),
            open: Open(state),
            opening: Some(Opening::default()),
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
        let before = buf.filled().len();
        match this.inner.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let opened = this
                    .opening
                    .as_mut()
                    .map(|o| o.read(&buf.filled()[before..]));
                match opened {
                    None | Some(Opened::Not) => {}
                    Some(Opened::Http1) => *this.opening = None,
                    Some(Opened::Http2) => {
                        this.open.0.opened_http2();
                        *this.opening = None;
                    }
                }
                Poll::Ready(Ok(()))
            }
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

/// What an HTTP/2 client sends first: this preface, then a frame (its SETTINGS).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A frame's header: its length (3 bytes), type, flags and stream (4 bytes).
const FRAME_HEADER: usize = 9;

/// The first bytes a client sent, read against HTTP/2's opening.
struct Opening {
    /// The preface and the first frame's header, as far as they came.
    head: [u8; PREFACE.len() + FRAME_HEADER],
    kept: usize,
    /// Every byte read so far.
    read: usize,
}

/// What the bytes read so far say of a client's opening.
#[derive(Debug, PartialEq, Eq)]
enum Opened {
    /// Not yet known.
    Not,
    /// Not HTTP/2's preface: HTTP/1, which has opened once a request reaches the app.
    Http1,
    /// HTTP/2's preface and its first frame, whole.
    Http2,
}

impl Default for Opening {
    fn default() -> Self {
        Opening {
            head: [0; PREFACE.len() + FRAME_HEADER],
            kept: 0,
            read: 0,
        }
    }
}

impl Opening {
    fn read(&mut self, bytes: &[u8]) -> Opened {
        let take = (self.head.len() - self.kept).min(bytes.len());
        self.head[self.kept..self.kept + take].copy_from_slice(&bytes[..take]);
        self.kept += take;
        self.read += bytes.len();
        let preface = self.kept.min(PREFACE.len());
        if self.head[..preface] != PREFACE[..preface] {
            return Opened::Http1;
        }
        if self.kept < self.head.len() {
            return Opened::Not;
        }
        let at = PREFACE.len();
        let length = [0, self.head[at], self.head[at + 1], self.head[at + 2]];
        let frame = u32::from_be_bytes(length) as usize;
        if self.read >= self.head.len() + frame {
            Opened::Http2
        } else {
            Opened::Not
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opening read in pieces of `sizes` bytes: what each piece said.
    fn read_in_pieces(bytes: &[u8], sizes: &[usize]) -> Vec<Opened> {
        let mut opening = Opening::default();
        let mut at = 0;
        sizes
            .iter()
            .map(|n| {
                let piece = &bytes[at..at + n];
                at += n;
                opening.read(piece)
            })
            .collect()
    }

    #[test]
    fn http2_opens_with_its_preface_and_the_whole_frame_after_it() {
        // SETTINGS with one setting (6 bytes), then a PING.
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        bytes.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
        let whole = bytes.len() - 9;
        assert_eq!(read_in_pieces(&bytes, &[bytes.len()]), [Opened::Http2]);
        assert_eq!(read_in_pieces(&bytes, &[whole]), [Opened::Http2]);
        // The preface alone, or without the frame's end, is not enough.
        assert_eq!(
            read_in_pieces(&bytes, &[1, 15, 8, 9, 5, 1]),
            [
                Opened::Not,
                Opened::Not,
                Opened::Not,
                Opened::Not,
                Opened::Not,
                Opened::Http2
            ]
        );
    }

    #[test]
    fn anything_else_is_http1_from_the_first_byte_that_differs() {
        assert_eq!(
            read_in_pieces(b"GET / HTTP/1.1\r\n", &[16]),
            [Opened::Http1]
        );
        // "P" could be either; "POST" is not the preface.
        assert_eq!(
            read_in_pieces(b"POST / HTTP/1.1\r\n", &[1, 16]),
            [Opened::Not, Opened::Http1]
        );
        assert_eq!(read_in_pieces(b"", &[0]), [Opened::Not]);
    }
}
