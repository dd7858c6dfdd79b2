//! What the pieces of one connection of [`http::serve`](super::http::serve) share: the
//! requests under way on it and the handlers still computing their answers, whether the
//! client got through its opening, and whether its socket is gone. The connection's
//! life (`conn.rs`) waits on these; its socket (`io.rs`) and its requests
//! (`request.rs`) change them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::controller::Controller;

pub(crate) struct ConnState {
    pub(crate) ctl: &'static Controller,
    /// What the connection is called in logs and the report.
    pub(crate) name: Arc<str>,
    /// Requests whose answer has not been sent whole: its handler computes it, or its
    /// body still streams.
    requests: AtomicUsize,
    /// Handlers that have not answered yet.
    handlers: AtomicUsize,
    /// Answers given after the hard stop, still being sent: a handler that was still
    /// computing at the hard stop has its answer sent whole.
    late: AtomicUsize,
    /// Set once the client got through its opening: its first request reached the app,
    /// or its HTTP/2 preface and the frame after it (SETTINGS) were read.
    opened: AtomicBool,
    /// Set when that opening was HTTP/2's.
    http2: AtomicBool,
    /// Set once hyper is done with the connection.
    left_hyper: AtomicBool,
    /// Whether the socket has been dropped.
    closed: AtomicBool,
    /// Woken, once the shutdown is requested, when the connection goes from idle to busy
    /// or back, when it opens, and when the hard stop's work is done (see
    /// [`ConnState::hard_stop_done`]); and whenever the socket is dropped.
    changed: Notify,
}

impl ConnState {
    pub(crate) fn new(ctl: &'static Controller, name: Arc<str>) -> Arc<Self> {
        Arc::new(ConnState {
            ctl,
            name,
            requests: AtomicUsize::new(0),
            handlers: AtomicUsize::new(0),
            late: AtomicUsize::new(0),
            opened: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            left_hyper: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    /// Wakes whoever waits for a change, once the shutdown is requested: before, nobody
    /// does but an upgraded socket's task, which waits for [`ConnState::closed`].
    fn wake_waiters(&self) {
        if self.ctl.requested.is_set() {
            self.changed.notify_waiters();
        }
    }

    /// Completes at the next change (see the field `changed`); `enable` it before
    /// looking at what is to change.
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.changed.notified()
    }

    /// Completes when `done` holds, looked at each time something changes.
    pub(crate) async fn until(&self, done: impl Fn(&ConnState) -> bool) {
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

    /// A request reached the app: it is under way, and its handler computing, until the
    /// guard says otherwise.
    pub(crate) fn request_started(self: &Arc<Self>) -> Underway {
        let idle = self.requests.fetch_add(1, Ordering::AcqRel) == 0;
        self.handlers.fetch_add(1, Ordering::AcqRel);
        let opening = !self.opened.load(Ordering::Relaxed);
        if opening {
            self.opened.store(true, Ordering::Release);
        }
        if idle || opening {
            self.wake_waiters();
        }
        Underway {
            state: self.clone(),
            computing: true,
            late: false,
        }
    }

    /// The client's HTTP/2 preface and first frame have been read.
    pub(crate) fn opened_http2(&self) {
        self.http2.store(true, Ordering::Release);
        self.opened.store(true, Ordering::Release);
        self.wake_waiters();
    }

    pub(crate) fn is_opened(&self) -> bool {
        self.opened.load(Ordering::Acquire)
    }

    pub(crate) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Acquire)
    }

    /// Whether no request is under way.
    pub(crate) fn is_idle(&self) -> bool {
        self.requests.load(Ordering::Acquire) == 0
    }

    /// Completes when the hard stop leaves nothing of the connection to wait for: no
    /// handler computes an answer, and the answers given since the hard stop have been
    /// sent.
    pub(crate) async fn hard_stop_done(&self) {
        self.until(Self::nothing_at_hard_stop).await;
    }

    fn nothing_at_hard_stop(&self) -> bool {
        self.handlers.load(Ordering::Acquire) == 0 && self.late.load(Ordering::Acquire) == 0
    }

    pub(crate) async fn closed(&self) {
        self.until(|s| s.closed.load(Ordering::Acquire)).await;
    }

    /// hyper is done with the connection: its socket lives on only if it was upgraded,
    /// in the hands of the handler's task.
    pub(crate) fn left_hyper(&self) {
        self.left_hyper.store(true, Ordering::Release);
    }

    /// Whether the socket ends now: the hard stop has come, and the connection is no
    /// longer hyper's (it was upgraded). One that hyper drives is ended by its life
    /// (`conn.rs`), once hyper has sent what it was to send.
    pub(crate) fn socket_ended(&self) -> bool {
        self.ctl.hard_stop.is_set() && self.left_hyper.load(Ordering::Acquire)
    }

    /// The socket has been dropped.
    pub(crate) fn socket_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.changed.notify_waiters();
    }
}

/// A request under way, from the moment it reaches the app until its answer has been
/// sent whole (or given up): it counts in [`ConnState`] while it lives, and its handler
/// counts as computing until [`Underway::answered`].
pub(crate) struct Underway {
    state: Arc<ConnState>,
    computing: bool,
    /// Answered after the hard stop.
    late: bool,
}

impl Underway {
    /// The handler has answered: what follows is the body, which may stream (and which
    /// the hard stop ends, unless it is the answer of a handler it found computing).
    pub(crate) fn answered(&mut self) {
        if std::mem::take(&mut self.computing) {
            let state = &self.state;
            let after_hard_stop = state.ctl.hard_stop.is_set();
            if after_hard_stop {
                // Counted before the handler leaves: no moment with neither.
                self.late = true;
                state.late.fetch_add(1, Ordering::AcqRel);
            }
            if state.handlers.fetch_sub(1, Ordering::AcqRel) == 1 && after_hard_stop {
                state.changed.notify_waiters();
            }
        }
    }

    /// The connection's state.
    pub(crate) fn state(&self) -> &ConnState {
        &self.state
    }
}

impl Drop for Underway {
    fn drop(&mut self) {
        self.answered();
        if self.late && self.state.late.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.changed.notify_waiters();
        }
        if self.state.requests.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.wake_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::trigger::Trigger;

    fn state() -> Arc<ConnState> {
        ConnState::new(Controller::leak(), "test connection".into())
    }

    #[test]
    fn a_request_is_under_way_until_its_answer_is_sent_and_computing_until_it_answers() {
        let state = state();
        assert!(state.is_idle() && !state.is_opened());
        let mut first = state.request_started();
        assert!(!state.is_idle() && state.is_opened() && !state.is_http2());
        first.answered();
        first.answered();
        assert_eq!(state.handlers.load(Ordering::SeqCst), 0);
        assert!(!state.is_idle(), "its body still streams");
        drop(first);
        assert!(state.is_idle());
        // Dropped before it answered (the connection went): both counts go down.
        drop(state.request_started());
        assert!(state.is_idle());
        assert_eq!(state.handlers.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn at_the_hard_stop_streams_end_but_an_answer_computed_through_it_is_sent_whole() {
        let state = state();
        let mut streaming = state.request_started();
        streaming.answered();
        let mut computing = state.request_started();
        state.ctl.initiate(Trigger::Requested("test".into()));
        state.ctl.hard_stop.set();
        assert!(!state.nothing_at_hard_stop(), "a handler computes");
        computing.answered();
        assert!(!state.nothing_at_hard_stop(), "its answer is being sent");
        drop(computing);
        assert!(state.nothing_at_hard_stop(), "the stream is not waited for");
        drop(streaming);
    }

    #[tokio::test(start_paused = true)]
    async fn once_the_shutdown_is_requested_going_idle_wakes_the_connection() {
        let state = state();
        state.ctl.initiate(Trigger::Requested("test".into()));
        let request = state.request_started();
        let waiter = tokio::spawn({
            let state = state.clone();
            async move { state.until(ConnState::is_idle).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(request);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("not woken when the last request ended")
            .unwrap();
    }
}
