//! The shutdown state that the runtime API reads: one per program, found without passing
//! anything around.
//!
//! A program has one controller, created on first use. [`crate::testing`] gives each test
//! its own, installed for the test's thread, so tests in one binary do not interfere.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::latch::Latch;
use crate::state::States;
use crate::tasks::Tasks;
use crate::{Signal, Trigger};

pub(crate) struct Controller {
    /// True from the first signal (or other trigger) on: the hot path of `is_shutting_down`.
    shutting_down: AtomicBool,
    /// How many signals arrived; the second forces the exit.
    signals: AtomicU32,
    /// Set at the first trigger: starts the sequence.
    pub(crate) initiated: Latch,
    /// Set after the drain delay: `shutdown_requested()`, `until_shutdown()`.
    pub(crate) requested: Latch,
    /// Set a margin before the deadline: `until_deadline()`.
    pub(crate) hard_stop: Latch,
    /// Set by a second signal.
    pub(crate) forced: Latch,
    trigger: Mutex<Option<Trigger>>,
    forced_by: Mutex<Option<Signal>>,
    pub(crate) tasks: Tasks,
    pub(crate) states: States,
}

static GLOBAL: OnceLock<&'static Controller> = OnceLock::new();

thread_local! {
    static OVERRIDE: Cell<Option<&'static Controller>> = const { Cell::new(None) };
}

/// The controller the calling code belongs to.
#[inline]
pub(crate) fn current() -> &'static Controller {
    OVERRIDE.with(Cell::get).unwrap_or_else(global)
}

/// The program's own controller.
pub(crate) fn global() -> &'static Controller {
    GLOBAL.get_or_init(Controller::leak)
}

/// Makes `ctl` the current controller of this thread until the guard drops.
pub(crate) fn enter(ctl: &'static Controller) -> EnterGuard {
    let previous = OVERRIDE.with(|o| o.replace(Some(ctl)));
    EnterGuard {
        previous,
        _same_thread: PhantomData,
    }
}

/// Restores the thread's previous controller. Not `Send`: it must drop on the thread
/// it was made on.
pub(crate) struct EnterGuard {
    previous: Option<&'static Controller>,
    _same_thread: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        OVERRIDE.with(|o| o.set(self.previous));
    }
}

impl Controller {
    /// A new controller that lives as long as the program (the API hands out `'static`
    /// futures that borrow it).
    pub(crate) fn leak() -> &'static Controller {
        Box::leak(Box::new(Controller {
            shutting_down: AtomicBool::new(false),
            signals: AtomicU32::new(0),
            initiated: Latch::default(),
            requested: Latch::default(),
            hard_stop: Latch::default(),
            forced: Latch::default(),
            trigger: Mutex::new(None),
            forced_by: Mutex::new(None),
            tasks: Tasks::default(),
            states: States::default(),
        }))
    }

    #[inline]
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Starts the shutdown unless it has started; the first trigger is the one reported.
    /// Returns true if this call started it.
    pub(crate) fn initiate(&self, trigger: Trigger) -> bool {
        let mut slot = lock(&self.trigger);
        if slot.is_some() {
            return false;
        }
        *slot = Some(trigger);
        drop(slot);
        self.shutting_down.store(true, Ordering::Release);
        self.initiated.set();
        true
    }

    /// A signal arrived: the first one starts the shutdown, the second forces the exit.
    pub(crate) fn on_signal(&self, signal: Signal) {
        let seen = self.signals.fetch_add(1, Ordering::AcqRel) + 1;
        if seen == 1 {
            if !self.initiate(Trigger::Signal(signal)) {
                // Already shutting down for another reason: this is the first signal,
                // and the next one forces the exit.
                crate::events::signal_during_shutdown(signal);
            }
        } else {
            lock(&self.forced_by).get_or_insert(signal);
            self.forced.set();
        }
    }

    pub(crate) fn trigger(&self) -> Option<Trigger> {
        lock(&self.trigger).clone()
    }

    pub(crate) fn forced_by(&self) -> Option<Signal> {
        *lock(&self.forced_by)
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_trigger_is_kept() {
        let c = Controller::leak();
        assert!(!c.is_shutting_down());
        assert!(c.initiate(Trigger::Requested("admin".into())));
        assert!(!c.initiate(Trigger::BodyReturned));
        assert!(c.is_shutting_down());
        assert_eq!(c.trigger(), Some(Trigger::Requested("admin".into())));
    }

    #[test]
    fn a_second_signal_forces_and_the_first_does_not() {
        let c = Controller::leak();
        c.on_signal(Signal::Terminate);
        assert!(c.initiated.is_set());
        assert!(!c.forced.is_set());
        c.on_signal(Signal::Interrupt);
        assert!(c.forced.is_set());
        assert_eq!(c.forced_by(), Some(Signal::Interrupt));
        assert_eq!(c.trigger(), Some(Trigger::Signal(Signal::Terminate)));
    }

    #[test]
    fn a_signal_after_another_trigger_does_not_force() {
        let c = Controller::leak();
        c.initiate(Trigger::BodyReturned);
        c.on_signal(Signal::Terminate);
        assert!(!c.forced.is_set());
        c.on_signal(Signal::Terminate);
        assert!(c.forced.is_set());
    }

    #[test]
    fn enter_overrides_and_restores() {
        let c = Controller::leak();
        {
            let _g = enter(c);
            assert!(std::ptr::eq(current(), c));
        }
        assert!(std::ptr::eq(current(), global()));
    }
}
