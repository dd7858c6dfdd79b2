//! One program's side of the shutdown: whether and why it started, the latches the
//! workers wait on, the tracked tasks (and their panics), the values provided for the
//! hooks and what the hooks need of them, how the body of `main` ended, whom to tell it
//! is ready, and its last word. One per program, found without passing anything around
//! (see [`current`](self::current::current)); a test harness makes one of its own.

mod at_exit;
pub(crate) mod consumers;
mod current;
mod provided;
pub(crate) mod tasks;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::TaskPanic;
use crate::report::{log, PanickedTask, Panics};
use crate::sync::latch::Latch;
use crate::sync::lock;
use crate::systemd::Notifier;
use crate::trigger::body::{BodyOutcome, MainOutput};
use crate::trigger::panic::CatchUnwind;
use crate::trigger::{Signal, Trigger};
use consumers::Consumers;
use provided::Provided;
use tasks::Tasks;

pub(crate) use at_exit::AtExit;
pub(crate) use current::{current, enter, global, new_scoped, scope, sync_scope, EnterGuard};
pub(crate) use provided::{Need, StateType};

pub(crate) struct Controller {
    /// True from the first signal (or other trigger) on: the hot path of `is_shutting_down`.
    shutting_down: AtomicBool,
    /// How many signals arrived; the second forces the exit.
    signals: AtomicU32,
    /// Set at the first trigger: starts the sequence.
    pub(crate) initiated: Latch,
    /// Set after the drain delay: `shutdown_requested()`, `until_shutdown()`.
    pub(crate) requested: Latch,
    /// The drain delay in nanoseconds, for the thread that starts the shutdown.
    drain_delay_ns: AtomicU64,
    /// Set a margin before the deadline: `until_hard_stop()`.
    pub(crate) hard_stop: Latch,
    /// How many `until_hard_stop()` futures the hard stop ended: work the deadline cut.
    pub(crate) cut_at_hard_stop: AtomicUsize,
    /// Set by a second signal.
    pub(crate) forced: Latch,
    /// Set when the sequence has seen the second signal and is reporting it.
    pub(crate) forced_seen: Latch,
    /// Set once the report is made: what is left is the last word and the exit, with the
    /// report's exit code whatever signal comes.
    pub(crate) reported: Latch,
    /// When the shutdown started: the deadline counts from here, even if the runtime's
    /// threads were busy when the signal came.
    started: Mutex<Option<Instant>>,
    started_cv: Condvar,
    /// Set when the body of `main` has ended, with its outcome.
    pub(crate) body_done: Latch,
    body_outcome: Mutex<Option<BodyOutcome>>,
    trigger: Mutex<Option<Trigger>>,
    /// The first signal, whatever it did, for the message of the second.
    first_signal: Mutex<Option<Signal>>,
    forced_by: Mutex<Option<Signal>>,
    pub(crate) tasks: Tasks,
    /// True when a tracked task's panic is only logged ([`TaskPanic::Continue`]).
    tasks_may_panic: AtomicBool,
    /// The tracked tasks that panicked, counted, the first and last kept.
    panicked: Mutex<Panics>,
    /// The values given to [`provide`](crate::provide).
    pub(crate) provided: Provided,
    /// What the program's hooks take from [`provide`](crate::provide): set before the
    /// body runs, checked by [`ready`](crate::ready).
    needs: OnceLock<Vec<Need>>,
    /// The service manager, when one listens: told of readiness and of the shutdown.
    notifier: OnceLock<Notifier>,
    /// Set by the first [`ready`](crate::ready).
    ready: AtomicBool,
    /// Set once that readiness has been announced: a [`ready`](crate::ready) called before
    /// the program was prepared is announced when it is.
    ready_announced: AtomicBool,
    /// What runs after the report, before the exit.
    pub(crate) at_exit: AtExit,
    /// What runs once the program said it is ready, from the layers above (the sockets
    /// inherited that no listener took are closed then).
    at_ready: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    /// Set once the program's readiness was announced: a consumer in the new process of
    /// an upgrade starts taking messages then.
    pub(crate) readied: Latch,
    /// The consumers' counts, for the report.
    pub(crate) consumers: Consumers,
}

/// What a signal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignalEffect {
    /// The first signal started the shutdown.
    Started,
    /// The first signal came while a shutdown was already under way for another reason.
    Noted,
    /// The second signal forces the exit.
    Forced,
}

impl Controller {
    /// A new controller that lives as long as the program (the API hands out `'static`
    /// futures that borrow it).
    pub(crate) fn leak() -> &'static Controller {
        Box::leak(Box::new(Controller {
            shutting_down: AtomicBool::new(false),
            signals: AtomicU32::new(0),
            initiated: Latch::default(),
            requested: Latch::for_many(),
            drain_delay_ns: AtomicU64::new(0),
            hard_stop: Latch::for_many(),
            cut_at_hard_stop: AtomicUsize::new(0),
            forced: Latch::default(),
            forced_seen: Latch::default(),
            reported: Latch::default(),
            started: Mutex::new(None),
            started_cv: Condvar::new(),
            body_done: Latch::default(),
            body_outcome: Mutex::new(None),
            trigger: Mutex::new(None),
            first_signal: Mutex::new(None),
            forced_by: Mutex::new(None),
            tasks: Tasks::default(),
            tasks_may_panic: AtomicBool::new(false),
            panicked: Mutex::new(Panics::default()),
            provided: Provided::default(),
            needs: OnceLock::new(),
            notifier: OnceLock::new(),
            ready: AtomicBool::new(false),
            ready_announced: AtomicBool::new(false),
            at_exit: AtExit::default(),
            at_ready: Mutex::new(Vec::new()),
            readied: Latch::default(),
            consumers: Consumers::default(),
        }))
    }

    /// What the program is, set before it runs: its drain delay, what a tracked task's
    /// panic does, what its hooks need, whom to tell it is ready and stopping.
    pub(crate) fn prepare(
        &self,
        drain_delay: Duration,
        on_task_panic: TaskPanic,
        needs: Vec<Need>,
        notifier: Option<Notifier>,
    ) {
        self.set_drain_delay(drain_delay);
        self.tasks_may_panic
            .store(on_task_panic == TaskPanic::Continue, Ordering::Relaxed);
        let _ = self.needs.set(needs);
        if let Some(notifier) = notifier {
            let _ = self.notifier.set(notifier);
        }
    }

    /// The service manager, if one listens.
    pub(crate) fn notifier(&self) -> Option<&Notifier> {
        self.notifier.get()
    }

    /// What the hooks take from [`provide`](crate::provide); empty before the program runs.
    pub(crate) fn needs(&self) -> &[Need] {
        self.needs.get().map_or(&[], Vec::as_slice)
    }

    /// Marks the program ready; true for the first call only.
    pub(crate) fn mark_ready(&self) -> bool {
        !self.ready.swap(true, Ordering::AcqRel)
    }

    /// Whether the program has said it is ready.
    #[cfg(unix)]
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// True once, for the caller that is to announce the readiness: when the program has
    /// said it is ready and has been prepared (its hooks' needs and its service manager
    /// are known), whichever of the two came last.
    pub(crate) fn claim_ready_announcement(&self) -> bool {
        self.ready.load(Ordering::Acquire)
            && self.needs.get().is_some()
            && !self.ready_announced.swap(true, Ordering::AcqRel)
    }

    /// Keeps `work` for when the program says it is ready.
    pub(crate) fn at_ready(&self, work: Box<dyn FnOnce() + Send>) {
        lock(&self.at_ready).push(work);
    }

    /// Runs what was kept for when the program says it is ready.
    pub(crate) fn run_at_ready(&self) {
        let work = std::mem::take(&mut *lock(&self.at_ready));
        for work in work {
            work();
        }
        self.readied.set();
    }

    /// Runs `f` unless the shutdown has started, and keeps it from starting meanwhile:
    /// what `f` tells the service manager comes before anything the shutdown tells it.
    pub(crate) fn unless_shutting_down<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let trigger = lock(&self.trigger);
        if trigger.is_some() {
            return None;
        }
        let out = f();
        drop(trigger);
        Some(out)
    }

    /// A tracked task panicked: logged now, kept for the report, and, unless the program
    /// goes on ([`TaskPanic::Continue`]), the shutdown starts.
    pub(crate) fn task_panicked(&self, task: String, message: String) {
        let stops = !self.tasks_may_panic.load(Ordering::Relaxed);
        log::task_panicked(&task, &message, stops);
        lock(&self.panicked).push(PanickedTask {
            name: task.clone(),
            message,
        });
        if stops {
            self.initiate(Trigger::TaskPanicked { task });
        }
    }

    /// The tracked tasks that panicked so far: how many, and the first and last kept.
    pub(crate) fn panicked_tasks(&self) -> Panics {
        lock(&self.panicked).clone()
    }

    /// Whether the tracked tasks' panics decide the exit code (101).
    pub(crate) fn task_panics_fail(&self) -> bool {
        !self.tasks_may_panic.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The drain delay that a signal or [`request_shutdown`](crate::request_shutdown) waits before the
    /// workers are told: set before the program runs.
    fn set_drain_delay(&self, delay: Duration) {
        let ns = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.drain_delay_ns.store(ns, Ordering::Relaxed);
    }

    /// Starts the shutdown unless it has started; the first trigger is the one reported.
    /// Returns true if this call started it.
    ///
    /// Unless a drain delay applies, the workers hear of it (`shutdown_requested`) from
    /// this thread, at once, rather than from the sequence once its task has woken up:
    /// the two then go on in parallel.
    pub(crate) fn initiate(&self, trigger: Trigger) -> bool {
        self.initiate_after(trigger, || ())
    }

    /// [`initiate`](Self::initiate), with `first` run before, under the lock that decides
    /// the trigger, if and only if this call starts the shutdown: nothing else can start
    /// it in between, and what `first` tells the service manager comes before anything
    /// the shutdown tells it. An upgrade's handover is made so: either it hands over and
    /// a stop that follows finds the shutdown started, or the stop came first and there
    /// is no handover.
    pub(crate) fn initiate_after(&self, trigger: Trigger, first: impl FnOnce()) -> bool {
        let mut slot = lock(&self.trigger);
        if slot.is_some() {
            return false;
        }
        first();
        let drained = trigger.drains() && self.drain_delay_ns.load(Ordering::Relaxed) > 0;
        *slot = Some(trigger);
        drop(slot);
        // Outside a runtime (the signal thread) this is the system clock, as the runtime's
        // own; in a test it is the runtime's clock, paused or not.
        *lock(&self.started) = Some(Instant::now());
        self.shutting_down.store(true, Ordering::Release);
        // The sequence and the workers first; the watchdog only needs to know by when.
        self.initiated.set();
        if !drained {
            self.requested.set();
        }
        self.started_cv.notify_all();
        true
    }

    /// When the shutdown started, if it has.
    pub(crate) fn started_at(&self) -> Option<Instant> {
        *lock(&self.started)
    }

    /// Blocks the calling thread until the shutdown starts; returns when it did.
    pub(crate) fn wait_started(&self) -> Instant {
        let mut started = lock(&self.started);
        loop {
            if let Some(at) = *started {
                return at;
            }
            started = self
                .started_cv
                .wait(started)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// A signal arrived: the first one starts the shutdown, the second forces the exit.
    pub(crate) fn on_signal(&self, signal: Signal) -> SignalEffect {
        let seen = self.signals.fetch_add(1, Ordering::AcqRel) + 1;
        if seen == 1 {
            *lock(&self.first_signal) = Some(signal);
            if self.initiate(Trigger::Signal(signal)) {
                SignalEffect::Started
            } else {
                // Already shutting down for another reason: this is the first signal,
                // and the next one forces the exit.
                log::signal_during_shutdown(signal);
                SignalEffect::Noted
            }
        } else {
            lock(&self.forced_by).get_or_insert(signal);
            self.forced.set();
            SignalEffect::Forced
        }
    }

    /// The body of `main` ended: records how, and starts the shutdown if nothing has.
    pub(crate) fn body_ended(&self, outcome: BodyOutcome) {
        let trigger = outcome.trigger();
        *lock(&self.body_outcome) = Some(outcome);
        self.body_done.set();
        self.initiate(trigger);
    }

    /// How the body ended, if it has.
    pub(crate) fn body_outcome(&self) -> Option<BodyOutcome> {
        lock(&self.body_outcome).clone()
    }

    pub(crate) fn trigger(&self) -> Option<Trigger> {
        lock(&self.trigger).clone()
    }

    pub(crate) fn forced_by(&self) -> Option<Signal> {
        *lock(&self.forced_by)
    }

    /// The first signal that arrived, if one has.
    pub(crate) fn first_signal(&self) -> Option<Signal> {
        *lock(&self.first_signal)
    }
}

/// Runs the body of `main` as part of `ctl`'s program and records how it ended, which
/// starts the shutdown if nothing has yet.
pub(crate) async fn run_body<F>(ctl: &'static Controller, body: F)
where
    F: Future,
    F::Output: MainOutput,
{
    let outcome = BodyOutcome::of(CatchUnwind::new(body).await);
    if let BodyOutcome::Err(error) = &outcome {
        log::body_error(error);
    }
    ctl.body_ended(outcome);
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
    fn without_a_drain_delay_the_trigger_tells_the_workers_itself() {
        let c = Controller::leak();
        c.initiate(Trigger::Signal(Signal::Terminate));
        assert!(c.requested.is_set());

        let c = Controller::leak();
        c.set_drain_delay(Duration::from_secs(1));
        c.initiate(Trigger::Requested("admin".into()));
        assert!(c.initiated.is_set());
        assert!(
            !c.requested.is_set(),
            "the drain delay is the sequence's to wait"
        );

        let c = Controller::leak();
        c.set_drain_delay(Duration::from_secs(1));
        c.body_ended(BodyOutcome::Ok);
        assert!(
            c.requested.is_set(),
            "no drain delay once main has returned"
        );
    }

    #[test]
    fn a_handover_and_a_stop_that_race_are_decided_once_in_one_order() {
        // The handover's notice runs under the trigger's lock: a stop that lands
        // meanwhile waits, finds the shutdown started, and starts nothing.
        let c = Controller::leak();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (started, seen) = std::sync::mpsc::channel();
        let log = order.clone();
        let handover = std::thread::spawn(move || {
            c.initiate_after(Trigger::Upgrade { pid: 7 }, || {
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                lock(&log).push("MAINPID=7");
            })
        });
        seen.recv().unwrap();
        let stop = c.initiate(Trigger::Signal(Signal::Terminate));
        lock(&order).push("stop");
        assert!(handover.join().unwrap());
        assert!(!stop, "the stop came second and started nothing");
        assert_eq!(*lock(&order), ["MAINPID=7", "stop"]);
        assert!(matches!(c.trigger(), Some(Trigger::Upgrade { pid: 7 })));
        // A stop first: no handover, and its notice never runs.
        let c = Controller::leak();
        assert!(c.initiate(Trigger::Signal(Signal::Terminate)));
        assert!(!c.initiate_after(Trigger::Upgrade { pid: 8 }, || panic!("no handover")));
    }

    #[test]
    fn what_runs_unless_shutting_down_comes_before_a_shutdown_that_starts_meanwhile() {
        let c = Controller::leak();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (started, seen) = std::sync::mpsc::channel();
        let log = order.clone();
        let ready = std::thread::spawn(move || {
            c.unless_shutting_down(|| {
                started.send(()).unwrap();
                // The signal arrives now, on another thread.
                std::thread::sleep(Duration::from_millis(50));
                lock(&log).push("READY=1");
            })
        });
        seen.recv().unwrap();
        c.on_signal(Signal::Terminate);
        lock(&order).push("STOPPING=1");
        assert!(ready.join().unwrap().is_some());
        assert_eq!(*lock(&order), ["READY=1", "STOPPING=1"]);
        // Once the shutdown has started, nothing runs.
        assert!(c.unless_shutting_down(|| ()).is_none());
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
}
