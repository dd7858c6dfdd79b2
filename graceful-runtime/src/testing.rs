//! Run the shutdown sequence in a test: no real signal, tokio's paused clock, and a
//! [`Report`] to assert on.
//!
//! Each [`Harness`] has its own shutdown state, so tests in one binary run in parallel
//! without seeing each other's shutdown. It needs tokio's current-thread runtime, the
//! default of `#[tokio::test]` and the one `start_paused` works with.
//!
//! `#[tokio::test(start_paused = true)]` needs tokio's `test-util` feature, which
//! graceful does not turn on for you; without it, tokio's macro fails with "no method
//! named `start_paused`". Add it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! tokio = { version = "1", features = ["macros", "rt", "test-util"] }
//! ```
//!
//! The runtime API ([`is_shutting_down`](crate::is_shutting_down),
//! [`spawn`](crate::spawn), [`request_shutdown`](crate::request_shutdown), ...) finds the harness it
//! belongs to from the harness's body, its hooks (async and sync), the tasks started with
//! [`spawn`](crate::spawn), and the test's own thread (where a plain `tokio::spawn` task
//! also runs: it sees the latest harness still alive there). A thread of its own — a
//! `spawn_blocking` closure, a `std::thread` — cannot tell, and reaches the test binary's
//! global state instead: in a harness, call the API from the body, a hook or a tracked
//! task.
//!
//! On the paused clock, time stands still while a blocking task runs (tokio's rule): a
//! sync hook that never returns holds such a test forever. Test that case on the real
//! clock, with a short deadline.
//!
//! ```
//! use std::time::Duration;
//! use graceful::testing::{hook, Harness};
//! use graceful::{Outcome, Signal};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! // #[tokio::test(start_paused = true)]
//! // async fn a_slow_hook_is_cut_by_its_timeout() {
//! let running = Harness::new()
//!     .deadline(Duration::from_secs(10))
//!     .hook(hook("slow", 10).timeout(Duration::from_secs(2)).run(|_ctx| async {
//!         tokio::time::sleep(Duration::from_secs(60)).await;
//!     }))
//!     .start(async { graceful::shutdown_requested().await });
//!
//! running.signal(Signal::Terminate);
//! let report = running.report().await;
//!
//! assert_eq!(report.exit_code(), 1);
//! assert!(matches!(report.hook("slow").unwrap().outcome(), Outcome::TimedOut { .. }));
//! assert_eq!(report.duration(), Duration::from_secs(2)); // exact: the clock is paused
//! # }
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::{Config, TaskPanic};
use crate::controller::{self, Controller, EnterGuard};
use crate::hook::{self, Action, Context, HookDef, IntoHookResult};
use crate::report::Report;
use crate::sequence;
use crate::trigger::body::MainOutput;
use crate::trigger::Signal;

/// A shutdown to run inside a test. Built like `#[graceful::main(...)]`.
pub struct Harness {
    config: Config,
    registered: bool,
    hooks: Vec<HookDef>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// The defaults of `#[graceful::main]`, with every `#[graceful::teardown]` hook linked
    /// into the test binary.
    pub fn new() -> Self {
        Harness {
            config: Config::new(),
            registered: true,
            hooks: Vec::new(),
        }
    }

    /// Leaves out the hooks registered with `#[graceful::teardown]`: only those added
    /// with [`Harness::hook`] run.
    pub fn without_registered_hooks(mut self) -> Self {
        self.registered = false;
        self
    }

    /// Like `deadline = "..."`.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config = self.config.deadline(deadline);
        self
    }

    /// Like `drain_delay = "..."`.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.config = self.config.drain_delay(delay);
        self
    }

    /// Like `tasks_order = n`.
    pub fn tasks_order(mut self, order: i32) -> Self {
        self.config.tasks_order = order;
        self
    }

    /// Like `on_task_panic = "..."`.
    pub fn on_task_panic(mut self, then: TaskPanic) -> Self {
        self.config.on_task_panic = then;
        self
    }

    /// Adds a hook built with [`hook`].
    pub fn hook(mut self, hook: TestHook) -> Self {
        self.hooks.push(hook.0);
        self
    }

    /// Starts `body` as the program's `main`. The shutdown starts when the body returns,
    /// when it calls [`request_shutdown`](crate::request_shutdown), or at [`Running::signal`].
    ///
    /// # Panics
    ///
    /// Outside a tokio current-thread runtime, or with a configuration that
    /// `#[graceful::main]` would refuse (a drain delay not shorter than the deadline).
    pub fn start<F>(self, body: F) -> Running
    where
        F: Future + Send + 'static,
        F::Output: MainOutput,
    {
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        assert!(
            matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::CurrentThread)),
            "graceful::testing runs on tokio's current-thread runtime (the default of `#[tokio::test]`)"
        );
        if let Err(message) = self.config.validate() {
            panic!("graceful::testing: {message}");
        }
        let mut hooks = if self.registered {
            hook::registered()
        } else {
            Vec::new()
        };
        hooks.extend(self.hooks);
        let ctl = controller::new_scoped();
        // No service manager: a test is not a service.
        ctl.prepare(
            self.config.drain_delay,
            self.config.on_task_panic,
            hook::needs(&hooks),
            None,
        );
        let sequence = tokio::spawn(controller::scope(
            ctl,
            sequence::run(ctl, self.config, hooks),
        ));
        let body = tokio::spawn(controller::scope(ctl, controller::run_body(ctl, body)));
        Running {
            ctl,
            sequence,
            body,
            _current: controller::enter(ctl),
        }
    }

    /// Runs `body` as the program's `main` and the shutdown that follows its return (or
    /// its call to [`request_shutdown`](crate::request_shutdown)), and returns the report.
    pub async fn run<F>(self, body: F) -> Report
    where
        F: Future + Send + 'static,
        F::Output: MainOutput,
    {
        self.start(body).report().await
    }
}

/// A program started by [`Harness::start`].
///
/// The runtime API ([`is_shutting_down`](crate::is_shutting_down), [`spawn`](crate::spawn),
/// ...) belongs to this program when called from its body, its hooks and its tracked
/// tasks, and, while it lives, from the test's own code on this thread (the harness
/// started last, if several are alive). Dropping it (which [`Running::report`] does) ends
/// the program like the end of a process: its body and tracked tasks are aborted.
pub struct Running {
    ctl: &'static Controller,
    sequence: JoinHandle<Report>,
    body: JoinHandle<()>,
    _current: EnterGuard,
}

impl Running {
    /// Delivers a signal, as the OS would: the first starts the shutdown, the second
    /// forces the exit.
    pub fn signal(&self, signal: Signal) {
        self.ctl.on_signal(signal);
    }

    /// True once the shutdown has started (from the first signal on).
    pub fn is_shutting_down(&self) -> bool {
        self.ctl.is_shutting_down()
    }

    /// Waits for the end of the sequence and returns its report, once the program's
    /// [`at_exit`](crate::at_exit) work has run (as in a process, on a thread of its own
    /// in the runtime's context, without a time limit).
    ///
    /// # Panics
    ///
    /// If the sequence itself panicked (a hook's panic is an outcome, not a panic here),
    /// or the `at_exit` work did.
    pub async fn report(mut self) -> Report {
        let report = match (&mut self.sequence).await {
            Ok(report) => report,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        // As in a process: on a thread of its own, with the runtime's context, so that it
        // may block or `block_on` what this runtime's tasks complete.
        let (done, finished) = tokio::sync::oneshot::channel();
        let (ctl, handle) = (self.ctl, tokio::runtime::Handle::current());
        std::thread::Builder::new()
            .name("graceful-at-exit".into())
            .spawn(move || {
                let _context = handle.enter();
                let _ = done.send(ctl.at_exit.run_all());
            })
            .expect("a thread for the at-exit work");
        let panics = finished.await.expect("the at-exit thread answers");
        assert!(panics.is_empty(), "at-exit work panicked: {panics:?}");
        report
    }
}

/// The program is over, as at the end of a process: its body and tasks stop.
impl Drop for Running {
    fn drop(&mut self) {
        self.sequence.abort();
        self.body.abort();
        self.ctl.tasks.abort_all();
    }
}

/// Starts building a hook for [`Harness::hook`], like `#[graceful::teardown(order = ..)]`.
pub fn hook(name: impl Into<Cow<'static, str>>, order: i32) -> HookBuilder {
    HookBuilder {
        name: name.into(),
        order,
        timeout: None,
        always: false,
    }
}

/// A hook being built; finish it with [`HookBuilder::run`] or
/// [`HookBuilder::run_blocking`].
pub struct HookBuilder {
    name: Cow<'static, str>,
    order: i32,
    timeout: Option<Duration>,
    always: bool,
}

impl HookBuilder {
    /// Like `timeout = "..."`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Like `always`.
    pub fn always(mut self) -> Self {
        self.always = true;
        self
    }

    /// An async hook.
    pub fn run<F, Fut>(self, f: F) -> TestHook
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoHookResult,
    {
        let f = Arc::new(f);
        self.finish(Action::Async(Arc::new(move |ctx| {
            let f = Arc::clone(&f);
            Box::pin(async move { f(ctx).await.into_hook_result() })
        })))
    }

    /// A sync hook, run on a blocking thread.
    pub fn run_blocking<F, R>(self, f: F) -> TestHook
    where
        F: Fn(Context) -> R + Send + Sync + 'static,
        R: IntoHookResult,
    {
        self.finish(Action::Blocking(Arc::new(move |ctx| {
            f(ctx).into_hook_result()
        })))
    }

    fn finish(self, action: Action) -> TestHook {
        TestHook(HookDef {
            name: self.name,
            order: self.order,
            timeout: self.timeout,
            always: self.always,
            action,
            states: Vec::new(),
        })
    }
}

/// A hook for [`Harness::hook`], built with [`hook`].
pub struct TestHook(HookDef);
