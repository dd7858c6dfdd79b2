//! The choices of [`Main`](crate::Main) that are not durations: the runtime's flavor, and
//! what a panic in a tracked task does.

/// The tokio runtime the program runs on: `flavor = "..."` of `#[graceful::main]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// tokio's multi-thread runtime, one worker thread per CPU core unless
    /// [`Main::worker_threads`](crate::Main::worker_threads) says otherwise. The default.
    #[default]
    MultiThread,
    /// tokio's current-thread runtime: the body and every task share one thread.
    CurrentThread,
}

/// What a panic in a task started with [`spawn`](crate::spawn) does: `on_task_panic =
/// "..."` of `#[graceful::main]`, [`Main::on_task_panic`](crate::Main::on_task_panic).
///
/// Either way the panic is logged at once with the task's name and its message, and
/// listed in the report ([`Report::tasks_panicked`](crate::Report::tasks_panicked)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskPanic {
    /// The panic starts the shutdown (trigger `task_panicked`, with the drain delay), and
    /// the process exits with code 101, as a panic in `main` does, whatever started the
    /// shutdown. The default: a service that has lost a worker to a bug keeps answering
    /// its health checks with less capacity, or none, until someone looks; stopped, it is
    /// restarted by its orchestrator, and the exit code says why.
    #[default]
    Shutdown,
    /// The program goes on without the task; the exit code does not change. For tasks
    /// that are one of many and whose loss the program survives, such as one per
    /// request.
    Continue,
}
