//! The app as one connection's hyper service ([`ConnService`]), and each request's way
//! through it ([`Answer`]):
//!
//! - the request reaches the app as axum's `Request`, with the peer's address
//!   (`ConnectInfo`) and a body that cannot hold the shutdown (`body.rs`);
//! - it is under way until its answer has been sent whole, and its handler computes until
//!   it answers (`state.rs`: what the connection's life waits for);
//! - a handler that panics is answered `500` (and, over HTTP/1, the connection closed),
//!   logged with the request's method and path, and the server goes on, over HTTP/1 and
//!   HTTP/2 alike;
//! - once the shutdown has begun, HTTP/1 answers say `Connection: close`, except those
//!   that hand the connection over (`101 Switching Protocols`, an `Upgrade`, a `2xx` to
//!   `CONNECT`), which the client must keep.

use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::http::header::{HeaderValue, CONNECTION, UPGRADE};
use axum::http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use pin_project_lite::pin_project;

use crate::report::log;
use crate::serve::body::{AnswerBody, RequestBody, RequestLine};
use crate::serve::state::{ConnState, Underway};
use crate::trigger::panic;

/// The request the app receives: axum's.
pub(crate) type AppRequest = Request<axum::body::Body>;

/// The app as one connection's hyper service.
pub(crate) struct ConnService<S, A> {
    app: TowerToHyperService<S>,
    peer: A,
    state: Arc<ConnState>,
    /// How long an HTTP/1 client may go without sending a byte of a request body the
    /// app waits for.
    body_read_timeout: Option<Duration>,
}

impl<S, A> ConnService<S, A> {
    pub(crate) fn new(
        app: S,
        peer: A,
        state: Arc<ConnState>,
        body_read_timeout: Option<Duration>,
    ) -> Self {
        ConnService {
            app: TowerToHyperService::new(app),
            peer,
            state,
            body_read_timeout,
        }
    }

    pub(crate) fn state(&self) -> &Arc<ConnState> {
        &self.state
    }
}

impl<S, A, B> hyper::service::Service<Request<Incoming>> for ConnService<S, A>
where
    S: tower_service::Service<AppRequest, Response = Response<B>, Error = Infallible> + Clone,
    A: Clone + Send + Sync + 'static,
{
    type Response = Response<AnswerBody<B>>;
    type Error = Infallible;
    type Future = Answer<S>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request
            .extensions_mut()
            .insert(ConnectInfo(self.peer.clone()));
        let http1 = request.version() < Version::HTTP_2;
        let line = RequestLine {
            method: request.method().clone(),
            path: request.uri().path_and_query().cloned(),
        };
        let underway = self.state.request_started();
        // A request body is a stream over HTTP/2 (gRPC's client streams): it may pause.
        let idle_timeout = if http1 { self.body_read_timeout } else { None };
        let stop = self.state.ctl.hard_stop.wait();
        let request =
            request.map(|body| axum::body::Body::new(RequestBody::new(body, stop, idle_timeout)));
        Answer {
            inner: self.app.call(request),
            pending: Some(Pending {
                line,
                http1,
                underway,
            }),
        }
    }
}

/// What an answer carries from its request until the handler has answered.
struct Pending {
    line: RequestLine,
    http1: bool,
    underway: Underway,
}

pin_project! {
    /// A handler's answer, on its way.
    pub(crate) struct Answer<S>
    where
        S: tower_service::Service<AppRequest>,
    {
        #[pin]
        inner: TowerToHyperServiceFuture<S, AppRequest>,
        pending: Option<Pending>,
    }
}

impl<S, B> Future for Answer<S>
where
    S: tower_service::Service<AppRequest, Response = Response<B>, Error = Infallible>,
{
    type Output = Result<Response<AnswerBody<B>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The app's `poll_ready` and `call` run in here too.
        let answered = match catch_unwind(AssertUnwindSafe(|| this.inner.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => Ok(response),
            Err(payload) => Err(payload),
        };
        let Pending {
            line,
            http1,
            mut underway,
        } = this
            .pending
            .take()
            .expect("an answer polled after it was given");
        underway.answered();
        let response = match answered {
            Ok(response) => {
                let closing = http1
                    && underway.state().ctl.is_shutting_down()
                    && !hands_over(&line.method, &response);
                let mut response = response.map(|body| AnswerBody::new(body, line, underway));
                if closing {
                    close(&mut response);
                }
                response
            }
            Err(payload) => {
                let outcome = if http1 {
                    "answered 500 and closed the connection; the server goes on"
                } else {
                    "answered 500; the server goes on"
                };
                let place = format!("the handler of {line} ({})", underway.state().name);
                log::serve_panicked(&place, &panic::message(&*payload), outcome);
                let mut response = Response::new(AnswerBody::empty(line, underway));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                if http1 {
                    close(&mut response);
                }
                response
            }
        };
        Poll::Ready(Ok(response))
    }
}

fn close<B>(response: &mut Response<B>) {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
}

/// Whether an HTTP/1 answer hands the connection over to something else, which the client
/// must keep open: a switch of protocols (a websocket), or a tunnel (`CONNECT`).
fn hands_over<B>(method: &Method, response: &Response<B>) -> bool {
    let status = response.status();
    status == StatusCode::SWITCHING_PROTOCOLS
        || response.headers().contains_key(UPGRADE)
        || (method == Method::CONNECT && status.is_success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: StatusCode, upgrade: bool) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() = status;
        if upgrade {
            response
                .headers_mut()
                .insert(UPGRADE, HeaderValue::from_static("websocket"));
        }
        response
    }

    #[test]
    fn answers_that_hand_the_connection_over_are_not_told_to_close() {
        let get = Method::GET;
        assert!(hands_over(
            &get,
            &answer(StatusCode::SWITCHING_PROTOCOLS, true)
        ));
        assert!(hands_over(
            &get,
            &answer(StatusCode::SWITCHING_PROTOCOLS, false)
        ));
        // 426 Upgrade Required names the protocol to switch to.
        assert!(hands_over(
            &get,
            &answer(StatusCode::UPGRADE_REQUIRED, true)
        ));
        assert!(hands_over(&Method::CONNECT, &answer(StatusCode::OK, false)));

        assert!(!hands_over(&get, &answer(StatusCode::OK, false)));
        assert!(!hands_over(
            &Method::CONNECT,
            &answer(StatusCode::FORBIDDEN, false)
        ));
    }
}
