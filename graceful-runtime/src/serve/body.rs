//! The two bodies of a request of [`http::serve`](super::http::serve):
//!
//! - the request's, as the app reads it ([`RequestBody`]): a client that stops sending it
//!   cannot hold the handler that waits for it, so it cannot hold the shutdown. Its
//!   reads fail at the hard stop, and over HTTP/1 once the client has sent nothing of it
//!   for the body-read timeout. (An HTTP/2 request body is a stream, as gRPC's client
//!   streams are: it may pause as long as it likes, and ends at the hard stop.)
//! - the answer's, as hyper sends it ([`AnswerBody`]): the request counts as under way
//!   until it is sent whole, and a panic while producing it cuts that answer short
//!   (hyper closes the HTTP/1 connection, resets the HTTP/2 stream) instead of taking the
//!   connection's task with it.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::uri::PathAndQuery;
use axum::http::Method;
use hyper::body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::report::log;
use crate::serve::state::Underway;
use crate::sync::latch::Wait;
use crate::trigger::panic;

/// An error of a body, as hyper and axum take it.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request as the logs name it: `GET /upload`.
pub(crate) struct RequestLine {
    pub(crate) method: Method,
    pub(crate) path: Option<PathAndQuery>,
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} {path}", self.method),
            None => write!(f, "{} /", self.method),
        }
    }
}

pin_project! {
    /// A request's body as the app reads it: it fails at the hard stop, and, when given
    /// an idle timeout, once the client has sent nothing of it for that long while the
    /// app waits.
    pub(crate) struct RequestBody<B> {
        #[pin]
        inner: B,
        stop: Wait,
        idle_timeout: Option<Duration>,
        // Armed the first time the app has to wait for the client, then moved on by
        // each frame that comes.
        idle: Option<Pin<Box<Sleep>>>,
        // A frame came since the idle timer was last moved on.
        moved: bool,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, stop: Wait, idle_timeout: Option<Duration>) -> Self {
        RequestBody {
            inner,
            stop,
            idle_timeout,
            idle: None,
            moved: false,
        }
    }
}

/// Why a request body was cut.
#[derive(Debug)]
enum Cut {
    HardStop,
    Idle(Duration),
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::HardStop => f.write_str(
                "the request body was cut at the hard stop: the client was still sending it",
            ),
            Cut::Idle(timeout) => write!(
                f,
                "the request body was cut: the client sent nothing of it for {timeout:?}"
            ),
        }
    }
}

impl std::error::Error for Cut {}

impl<B> Body for RequestBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                *this.moved = true;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if Pin::new(this.stop).poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Cut::HardStop.into())));
                }
                let Some(timeout) = *this.idle_timeout else {
                    return Poll::Pending;
                };
                let idle = this
                    .idle
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if std::mem::take(this.moved) {
                    idle.as_mut().reset(Instant::now() + timeout);
                }
                match idle.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Cut::Idle(timeout).into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The body of an answer, as hyper sends it: the app's, or none when the handler
    /// panicked. The request it answers is under way until it is dropped.
    pub(crate) struct AnswerBody<B> {
        #[pin]
        inner: Option<B>,
        request: RequestLine,
        underway: Underway,
    }
}

impl<B> AnswerBody<B> {
    /// The app's body, answering `request`.
    pub(crate) fn new(inner: B, request: RequestLine, underway: Underway) -> Self {
        AnswerBody {
            inner: Some(inner),
            request,
            underway,
        }
    }

    /// No body: the answer of a handler that panicked.
    pub(crate) fn empty(request: RequestLine, underway: Underway) -> Self {
        AnswerBody {
            inner: None,
            request,
            underway,
        }
    }
}

/// The error that ends an answer whose body panicked.
#[derive(Debug)]
struct BodyPanicked;

impl fmt::Display for BodyPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body of the answer panicked")
    }
}

impl std::error::Error for BodyPanicked {}

impl<B> Body for AnswerBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))) {
            Ok(Poll::Ready(Some(Err(e)))) => Poll::Ready(Some(Err(e.into()))),
            Ok(Poll::Ready(Some(Ok(frame)))) => Poll::Ready(Some(Ok(frame))),
            Ok(Poll::Ready(None)) => Poll::Ready(None),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                // A body that panicked is not polled again: it is dropped now (its drop
                // may panic too).
                let place = format!(
                    "the body of the answer to {} ({})",
                    this.request,
                    this.underway.state().name
                );
                log::serve_panicked(
                    &place,
                    &panic::message(&*payload),
                    "that answer was cut short; the server goes on",
                );
                let _ = catch_unwind(AssertUnwindSafe(|| this.inner.set(None)));
                Poll::Ready(Some(Err(BodyPanicked.into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hyper::body::Bytes;

    use super::*;
    use crate::controller::Controller;
    use crate::serve::state::ConnState;
    use crate::trigger::Trigger;

    /// A body that sends `frames` one poll after another, then waits for ever.
    struct Trickle {
        frames: Vec<&'static str>,
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.frames.is_empty() {
                return Poll::Pending;
            }
            let frame = self.frames.remove(0);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(frame.as_bytes())))))
        }
    }

    async fn next(body: &mut Pin<Box<RequestBody<Trickle>>>) -> Result<String, String> {
        std::future::poll_fn(|cx| body.as_mut().poll_frame(cx))
            .await
            .expect("a frame or an error")
            .map(|frame| String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap())
            .map_err(|e| e.to_string())
    }

    fn trickle(
        ctl: &'static Controller,
        timeout: Option<Duration>,
    ) -> Pin<Box<RequestBody<Trickle>>> {
        let frames = vec!["a", "b"];
        Box::pin(RequestBody::new(
            Trickle { frames },
            ctl.hard_stop.wait(),
            timeout,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_body_the_client_stopped_sending_fails_at_the_hard_stop() {
        let ctl = Controller::leak();
        let mut body = trickle(ctl, None);
        assert_eq!(next(&mut body).await.unwrap(), "a");
        assert_eq!(next(&mut body).await.unwrap(), "b");
        let waiting = tokio::spawn(async move { next(&mut body).await });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!waiting.is_finished(), "without a timeout, the body waits");
        ctl.initiate(Trigger::Requested("test".into()));
        ctl.hard_stop.set();
        let error = waiting.await.unwrap().unwrap_err();
        assert!(error.contains("cut at the hard stop"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_body_fails_once_the_client_sent_nothing_for_the_idle_timeout() {
        let ctl = Controller::leak();
        let timeout = Duration::from_secs(10);
        let mut body = trickle(ctl, Some(timeout));
        let start = Instant::now();
        assert_eq!(next(&mut body).await.unwrap(), "a");
        assert_eq!(next(&mut body).await.unwrap(), "b");
        let error = next(&mut body).await.unwrap_err();
        assert_eq!(start.elapsed(), timeout);
        assert!(error.contains("sent nothing of it for 10s"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn each_frame_that_comes_gives_the_client_the_idle_timeout_again() {
        let ctl = Controller::leak();
        let timeout = Duration::from_secs(10);
        let (send, receive) = tokio::sync::mpsc::channel::<&'static str>(1);
        let mut body = Box::pin(RequestBody::new(
            Channel(receive),
            ctl.hard_stop.wait(),
            Some(timeout),
        ));
        let start = Instant::now();
        let reader = tokio::spawn(async move {
            let mut read = Vec::new();
            loop {
                let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
                match frame.expect("no end") {
                    Ok(frame) => read.push(frame.into_data().unwrap()),
                    Err(e) => return (read, e.to_string()),
                }
            }
        });
        for _ in 0..3 {
            tokio::time::sleep(timeout - Duration::from_secs(1)).await;
            send.send("x").await.unwrap();
        }
        let (read, error) = reader.await.unwrap();
        assert_eq!(read.len(), 3);
        assert!(error.contains("sent nothing"), "{error}");
        assert_eq!(
            start.elapsed(),
            (timeout - Duration::from_secs(1)) * 3 + timeout
        );
    }

    /// A body fed through a channel.
    struct Channel(tokio::sync::mpsc::Receiver<&'static str>);

    impl Body for Channel {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.0
                .poll_recv(cx)
                .map(|piece| piece.map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes())))))
        }
    }

    /// A body that panics when polled.
    struct Panics;

    impl Body for Panics {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            panic!("the stream broke")
        }
    }

    #[test]
    fn an_answer_body_that_panics_ends_with_an_error_and_the_request_is_no_longer_under_way() {
        let state = ConnState::new(Controller::leak(), "test connection".into());
        let line = RequestLine {
            method: Method::GET,
            path: Some(PathAndQuery::from_static("/events")),
        };
        let mut body = Box::pin(AnswerBody::new(Panics, line, state.request_started()));
        let waker = std::task::Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let polled = body.as_mut().poll_frame(&mut cx);
        assert!(matches!(polled, Poll::Ready(Some(Err(_)))));
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(None)
        ));
        assert!(!state.is_idle());
        drop(body);
        assert!(state.is_idle());
    }

    struct Noop;

    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
}
