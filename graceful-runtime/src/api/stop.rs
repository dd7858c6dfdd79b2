//! How workers learn of the shutdown (a flag, futures, wrappers that make the shutdown
//! win), and how code requests one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::controller;
use crate::sync::latch::{Latch, Wait};
use crate::trigger::Trigger;

/// True from the first signal (or [`request_shutdown`] call) on, including the drain delay.
///
/// A single atomic load: cheap enough for every loop iteration. Readiness probes answer
/// 503 from this moment, so load balancers stop sending traffic while the service still
/// serves what arrives:
///
/// ```no_run
/// // A readiness handler (axum, hyper, ...): 503 from the first signal on.
/// fn readiness() -> (u16, &'static str) {
///     if graceful::is_shutting_down() {
///         (503, "shutting down")
///     } else {
///         (200, "ok")
///     }
/// }
/// ```
#[inline]
pub fn is_shutting_down() -> bool {
    controller::current().is_shutting_down()
}

/// Requests a shutdown from code (a fatal error, an admin endpoint), as a signal would,
/// and returns at once: the sequence runs as it does after a signal.
///
/// The reason appears in logs and the report. The drain delay applies. A call after the
/// shutdown has started does nothing.
pub fn request_shutdown(reason: impl Into<String>) {
    controller::current().initiate(Trigger::Requested(reason.into()));
}

/// The former name of [`request_shutdown`].
#[deprecated(
    note = "renamed `graceful::request_shutdown`: it asks for the shutdown and returns at once"
)]
pub fn shutdown(reason: impl Into<String>) {
    request_shutdown(reason);
}

/// Completes when the shutdown starts: after the first signal and the drain delay.
///
/// Completes at once if the shutdown has already started. It fits a server's graceful
/// stop, and a loop that must stop taking work:
///
/// ```ignore
/// // axum: serves through the drain delay, then stops accepting and answers what is
/// // under way.
/// axum::serve(listener, app)
///     .with_graceful_shutdown(graceful::shutdown_requested())
///     .await?;
/// ```
///
/// ```no_run
/// # async fn poll_feed() {}
/// # async fn doc() {
/// let stop = graceful::shutdown_requested();
/// tokio::pin!(stop);
/// let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
/// loop {
///     tokio::select! {
///         biased; // the shutdown wins a tie
///         () = &mut stop => break,
///         _ = tick.tick() => poll_feed().await,
///     }
/// }
/// # }
/// ```
pub fn shutdown_requested() -> ShutdownRequested {
    ShutdownRequested {
        inner: controller::current().requested.wait(),
    }
}

/// Completes at the hard stop: a margin before the deadline (a tenth of it, at most one
/// second), or at once if it has passed.
///
/// For what is meant to last as long as the process: a server-sent event stream, a
/// websocket, a long poll. They stay open through the drain for their clients, and end
/// here, in time for the process to exit by its deadline. Work that should have finished
/// goes in [`until_hard_stop`] instead, which counts what the hard stop cuts short.
///
/// `graceful::http::serve` (and `graceful::grpc::serve`) end their own streams and
/// upgraded connections here, with nothing to write for it; this is for those served
/// otherwise, or to end one more gracefully (a last event that says goodbye).
///
/// ```no_run
/// # async fn next_event() -> String { String::new() }
/// # async fn send(_: String) {}
/// # async fn doc() {
/// let stop = graceful::hard_stop();
/// tokio::pin!(stop);
/// loop {
///     tokio::select! {
///         biased;
///         () = &mut stop => break, // end the stream: the client reconnects elsewhere
///         event = next_event() => send(event).await,
///     }
/// }
/// # }
/// ```
pub fn hard_stop() -> HardStop {
    HardStop {
        inner: controller::current().hard_stop.wait(),
    }
}

/// A future that completes when a latch is set, and no more.
macro_rules! latch_future {
    ($(#[$doc:meta])* $name:ident) => {
        pin_project! {
            $(#[$doc])*
            #[must_use = "futures do nothing unless awaited"]
            pub struct $name {
                #[pin]
                inner: Wait,
            }
        }

        impl Future for $name {
            type Output = ();

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                self.project().inner.poll(cx)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

latch_future! {
    /// The future returned by [`shutdown_requested`].
    ShutdownRequested
}

latch_future! {
    /// The future returned by [`hard_stop`].
    HardStop
}

/// Runs `fut` until the shutdown starts: `Some(output)` if `fut` finishes first, `None`
/// once the shutdown has started (after the drain delay).
///
/// The shutdown wins when both are ready: unlike a plain `tokio::select!`, a worker loop
/// never takes one more message after the shutdown started. `fut` is then dropped without
/// another poll, so a cancel-safe receive (a channel's `recv`) loses nothing.
///
/// ```no_run
/// # async fn process(_: u32) {}
/// # async fn doc(mut rx: tokio::sync::mpsc::Receiver<u32>) {
/// while let Some(Some(msg)) = graceful::until_shutdown(rx.recv()).await {
///     process(msg).await; // finish what was taken; the loop takes nothing new
/// }
/// # }
/// ```
pub fn until_shutdown<F: Future>(fut: F) -> Until<F> {
    Until::new(fut, &controller::current().requested, None)
}

/// Runs `fut` until the hard stop: `Some(output)` if `fut` finishes first, `None` a margin
/// before the deadline (a tenth of the deadline, at most one second).
///
/// Wrap in-flight work with it so that work which cannot finish in time is handed back
/// (nacked, requeued) instead of being killed with the process. The hard stop wins ties,
/// like in [`until_shutdown`].
///
/// Each `until_hard_stop` that the hard stop ends is counted in the report
/// ([`Report::cut_at_hard_stop`](crate::Report::cut_at_hard_stop)), and the process
/// exits with code 124: the deadline cut work short, even if everything was handed back
/// in time.
///
/// ```no_run
/// # async fn work() {}
/// # async fn requeue() {}
/// # async fn doc() {
/// match graceful::until_hard_stop(work()).await {
///     Some(()) => { /* acknowledge */ }
///     None => requeue().await, // out of time: give the message back
/// }
/// # }
/// ```
pub fn until_hard_stop<F: Future>(fut: F) -> Until<F> {
    let ctl = controller::current();
    Until::new(fut, &ctl.hard_stop, Some(&ctl.cut_at_hard_stop))
}

/// The former name of [`until_hard_stop`].
#[deprecated(
    note = "renamed `graceful::until_hard_stop`: it ends at the hard stop, a margin before the deadline"
)]
pub fn until_deadline<F: Future>(fut: F) -> Until<F> {
    until_hard_stop(fut)
}

pin_project! {
    /// The future returned by [`until_shutdown`] and [`until_hard_stop`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Until<F> {
        #[pin]
        fut: F,
        #[pin]
        stop: Wait,
        // Counts the futures the stop ended, for the report.
        cut: Option<&'static AtomicUsize>,
    }
}

impl<F> Until<F> {
    fn new(fut: F, stop: &'static Latch, cut: Option<&'static AtomicUsize>) -> Self {
        Until {
            fut,
            stop: stop.wait(),
            cut,
        }
    }
}

/// The stop ended the future: counted where that is reported.
fn stopped<T>(cut: Option<&AtomicUsize>) -> Option<T> {
    if let Some(cut) = cut {
        cut.fetch_add(1, Ordering::Relaxed);
    }
    None
}

impl<F: Future> Future for Until<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The stop is checked first, so it wins when both are ready, and `fut` is never
        // polled once the stop has come. While no shutdown is under way this is one
        // atomic load.
        if this.stop.latch().is_set() {
            return Poll::Ready(stopped(*this.cut));
        }
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Some(out));
        }
        this.stop.poll(cx).map(|()| stopped(*this.cut))
    }
}

impl<F> std::fmt::Debug for Until<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Until")
            .field("stopped", &self.stop.latch().is_set())
            .finish_non_exhaustive()
    }
}
