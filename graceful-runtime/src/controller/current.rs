//! Which program the calling code belongs to.
//!
//! A program has one controller, created on first use. [`crate::testing`] gives each
//! harness its own: the harness's tasks carry it in a task-local (so two harnesses, or a
//! task left over from an earlier one, never mix), and the test's own thread sees the
//! latest harness still alive on it.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use super::Controller;

static GLOBAL: OnceLock<&'static Controller> = OnceLock::new();

/// True once a test harness has run in this process: only then are the task-local and
/// thread-local lookups needed, so a program pays one relaxed load for them.
static SCOPES_IN_USE: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    static TASK_CONTROLLER: &'static Controller;
}

thread_local! {
    /// The harnesses alive on this thread, latest last.
    static THREAD_CONTROLLERS: RefCell<Vec<&'static Controller>> = const { RefCell::new(Vec::new()) };
}

/// The controller the calling code belongs to.
#[inline]
pub(crate) fn current() -> &'static Controller {
    if SCOPES_IN_USE.load(Ordering::Relaxed) {
        if let Some(ctl) = scoped() {
            return ctl;
        }
    }
    global()
}

#[cold]
fn scoped() -> Option<&'static Controller> {
    TASK_CONTROLLER
        .try_with(|ctl| *ctl)
        .ok()
        .or_else(|| THREAD_CONTROLLERS.with(|stack| stack.borrow().last().copied()))
}

/// The program's own controller.
pub(crate) fn global() -> &'static Controller {
    GLOBAL.get_or_init(Controller::leak)
}

/// A controller for a test harness; from now on lookups consider scopes.
pub(crate) fn new_scoped() -> &'static Controller {
    SCOPES_IN_USE.store(true, Ordering::Relaxed);
    Controller::leak()
}

/// Runs `fut` as part of `ctl`'s program: the API called from it finds `ctl`. The
/// program's own controller needs no scope.
pub(crate) fn scope<F: Future>(ctl: &'static Controller, fut: F) -> Scoped<F> {
    if std::ptr::eq(ctl, global()) {
        Scoped::Plain { fut }
    } else {
        Scoped::Local {
            fut: TASK_CONTROLLER.scope(ctl, fut),
        }
    }
}

/// Runs `f` as part of `ctl`'s program, as [`scope`] runs a future: for work done on
/// another task's behalf (an acknowledgement's outcome, reported where the broker's reply
/// is read).
pub(crate) fn sync_scope<R>(ctl: &'static Controller, f: impl FnOnce() -> R) -> R {
    if std::ptr::eq(ctl, global()) {
        f()
    } else {
        TASK_CONTROLLER.sync_scope(ctl, f)
    }
}

pin_project! {
    /// The future of [`scope`].
    #[project = ScopedProj]
    pub(crate) enum Scoped<F: Future> {
        Plain { #[pin] fut: F },
        Local { #[pin] fut: TaskLocalFuture<&'static Controller, F> },
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project() {
            ScopedProj::Plain { fut } => fut.poll(cx),
            ScopedProj::Local { fut } => fut.poll(cx),
        }
    }
}

/// Makes `ctl` the current controller of this thread (outside `ctl`'s tasks, which carry
/// it themselves) until the guard drops, or until a later `enter` on the same thread.
pub(crate) fn enter(ctl: &'static Controller) -> EnterGuard {
    THREAD_CONTROLLERS.with(|stack| stack.borrow_mut().push(ctl));
    EnterGuard {
        ctl,
        _same_thread: PhantomData,
    }
}

/// Takes its controller off the thread, in whatever order guards drop. Not `Send`: it
/// must drop on the thread it was made on.
pub(crate) struct EnterGuard {
    ctl: &'static Controller,
    _same_thread: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        THREAD_CONTROLLERS.with(|stack| {
            let mut stack = stack.borrow_mut();
            if let Some(i) = stack.iter().rposition(|c| std::ptr::eq(*c, self.ctl)) {
                stack.remove(i);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_overrides_and_restores() {
        let c = new_scoped();
        {
            let _g = enter(c);
            assert!(std::ptr::eq(current(), c));
        }
        assert!(std::ptr::eq(current(), global()));
    }

    #[test]
    fn guards_may_drop_in_any_order() {
        let (a, b) = (new_scoped(), new_scoped());
        let guard_a = enter(a);
        let guard_b = enter(b);
        drop(guard_a);
        assert!(std::ptr::eq(current(), b));
        drop(guard_b);
        assert!(std::ptr::eq(current(), global()));
    }

    #[tokio::test]
    async fn a_task_scope_wins_over_the_thread() {
        let (a, b) = (new_scoped(), new_scoped());
        let _g = enter(b);
        let seen = scope(a, async { current() }).await;
        assert!(std::ptr::eq(seen, a));
        assert!(std::ptr::eq(current(), b));
    }
}
