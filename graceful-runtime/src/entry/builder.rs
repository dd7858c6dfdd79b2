//! [`Main`]: everything `#[graceful::main(...)]` sets, set from code.

use std::future::Future;
use std::time::Duration;

use super::run;
use crate::config::{Config, Flavor, TaskPanic};
use crate::trigger::body::MainOutput;
use crate::trigger::Signal;

/// Runs a program with graceful shutdown, configured from code: what
/// `#[graceful::main]` does, for a plain `fn main` that decides the settings at run time
/// (from its command line, a configuration file).
///
/// ```no_run
/// use std::time::Duration;
///
/// async fn serve() -> std::io::Result<()> {
///     graceful::shutdown_requested().await;
///     Ok(())
/// }
///
/// fn main() {
///     // Parsed from the command line, say `--deadline 25`.
///     let deadline = Duration::from_secs(25);
///     graceful::Main::new()
///         .deadline(deadline)
///         .drain_delay(Duration::from_secs(5))
///         .run(serve())
/// }
/// ```
///
/// Each method is named after the attribute's argument it stands for, and
/// `#[graceful::main(deadline = "25s", drain_delay = "5s")] async fn main() { .. }` is
/// exactly `graceful::Main::new().deadline(..).drain_delay(..).run(main())`.
///
/// The environment wins over what is set here, as it wins over the attribute:
/// `GRACEFUL_DEADLINE` and `GRACEFUL_DRAIN_DELAY` still let operators match the
/// orchestrator's grace period without a rebuild. A value the attribute would refuse at
/// compile time (a zero deadline, a drain delay as long as the deadline, `worker_threads`
/// on the current-thread runtime, no signals) stops the program in [`Main::run`], before
/// the body runs, with a message on stderr and exit code 2.
///
/// To have something dropped or run after the report is logged and before the process
/// exits (a log writer's guard, a telemetry flush), hand it to
/// [`drop_at_exit`](crate::drop_at_exit) or [`at_exit`](crate::at_exit), here before
/// `run` or later from the body.
#[derive(Clone, Debug)]
#[must_use = "a `Main` does nothing until its `run` is called"]
pub struct Main {
    config: Config,
}

impl Default for Main {
    fn default() -> Self {
        Main::new()
    }
}

impl Main {
    /// The defaults of `#[graceful::main]`: a 30 s deadline, no drain delay, the
    /// platform's default signals, tokio's multi-thread runtime, the tracked tasks
    /// drained at order 0, and a panicking tracked task stops the program.
    pub fn new() -> Self {
        Main {
            config: Config::new(),
        }
    }

    /// `deadline = "30s"`: the whole shutdown budget, from the first signal to the exit.
    /// More than zero, at most a year. `GRACEFUL_DEADLINE` overrides it.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = deadline;
        self
    }

    /// `drain_delay = "5s"`: the time between the first signal and the start of the
    /// teardown, during which [`is_shutting_down`](crate::is_shutting_down) is true but
    /// servers still serve. Shorter than the deadline, which it counts against.
    /// `GRACEFUL_DRAIN_DELAY` overrides it.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.config.drain_delay = delay;
        self
    }

    /// `signals = ["SIGINT", "SIGTERM"]`: the signals that start the shutdown (a second
    /// one forces the exit). A signal listed twice counts once; one the platform lacks
    /// stops the program in [`Main::run`] with exit code 2.
    pub fn signals(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        let mut unique: Vec<Signal> = Vec::new();
        for signal in signals {
            if !unique.contains(&signal) {
                unique.push(signal);
            }
        }
        self.config.signals = unique.into();
        self
    }

    /// `flavor = "current_thread"`: the tokio runtime the body runs on.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.config.flavor = flavor;
        self
    }

    /// `worker_threads = 4`: the worker threads of the multi-thread runtime; at least 1,
    /// and not with [`Flavor::CurrentThread`].
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.config.worker_threads = Some(threads);
        self
    }

    /// `tasks_order = 15`: the `order` at which the built-in step
    /// ([`TASKS_STEP`](crate::TASKS_STEP)) waits for the body and the tracked tasks.
    pub fn tasks_order(mut self, order: i32) -> Self {
        self.config.tasks_order = order;
        self
    }

    /// `on_task_panic = "continue"`: what a panic in a task of [`spawn`](crate::spawn)
    /// does; [`TaskPanic::Shutdown`] unless set.
    pub fn on_task_panic(mut self, then: TaskPanic) -> Self {
        self.config.on_task_panic = then;
        self
    }

    /// `upgrade = "SIGUSR2"` (or the bare `upgrade`, for `SIGHUP`): the signal that starts
    /// an [`upgrade`](crate::upgrade) in place, which starts the binary now on disk and
    /// hands it this process's listeners, with no downtime. Unix only: elsewhere it stops
    /// the program in [`Main::run`] with exit code 2, as does a signal that also starts
    /// the shutdown.
    pub fn upgrade(mut self, signal: Signal) -> Self {
        self.config.upgrade = Some(signal);
        self
    }

    /// Runs `body` as the program, then its shutdown, and exits the process with the
    /// code of [`Exit`](crate::Exit); never returns.
    ///
    /// In order: the environment is read and the settings checked (a bad one ends the
    /// program here with exit code 2, the body never runs); the tokio runtime is built;
    /// the signal handlers are installed; `body` runs. Its end, a signal or
    /// [`request_shutdown`](crate::request_shutdown) starts the shutdown; once it is over, the report is
    /// logged, the [`at_exit`](crate::at_exit) work runs, and the process exits.
    ///
    /// Call it from a plain `fn main`, outside any tokio runtime: it builds its own. Called
    /// inside one (from `#[tokio::main]`), it stops the program with exit code 2 and says
    /// so.
    pub fn run<F>(self, body: F) -> !
    where
        F: Future,
        F::Output: MainOutput,
    {
        run::run(self.config, body)
    }
}
