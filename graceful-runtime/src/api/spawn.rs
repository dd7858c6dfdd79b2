//! Tracked tasks: spawned like tokio's, and waited for by the shutdown.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;

use tokio::task::JoinHandle;

use crate::controller;
use crate::controller::tasks::{self, TaskName};

/// Spawns a task that shutdown waits for.
///
/// Like [`tokio::spawn`], and the built-in drain step (see [`TASKS_STEP`](crate::TASKS_STEP))
/// waits for it before the hooks ordered after it run. A task spawned after that step (by
/// a later hook) is waited for at the end of the sequence. If it is still running at the
/// deadline, the exit code is 124 and the report names it by the place it was spawned
/// (`src/worker.rs:42`); use [`spawn_named`] to give it a better name.
///
/// A tracked task should watch [`shutdown_requested`](crate::shutdown_requested) or use
/// [`until_shutdown`](crate::until_shutdown) to stop taking new work:
///
/// ```no_run
/// # async fn next_job() -> u32 { 0 }
/// # async fn run(_: u32) {}
/// # async fn doc() {
/// graceful::spawn(async {
///     // Takes jobs until the shutdown, and finishes the one it holds: the shutdown
///     // waits for it.
///     while let Some(job) = graceful::until_shutdown(next_job()).await {
///         run(job).await;
///     }
/// });
/// # }
/// ```
///
/// # `graceful::spawn` or `tokio::spawn`
///
/// Work started with [`tokio::spawn`] is not waited for: when the hooks are done, the
/// process exits and such a task dies wherever it is, its job half done, and the exit code
/// still says 0. Spawn with `graceful::spawn` whatever holds work that must finish or be
/// handed back (a worker, a consumer, a write); keep `tokio::spawn` for what may simply
/// stop with the process (a progress line, a heartbeat, a cache refresh).
///
/// # Panics
///
/// A panic in the task is logged at once with the task's name and message, listed in the
/// report ([`Report::tasks_panicked`](crate::Report::tasks_panicked)), and, by default,
/// starts the shutdown and makes the exit code 101 (see [`TaskPanic`](crate::TaskPanic)).
/// The returned handle still gives the panic, as tokio's does.
///
/// `spawn` itself panics outside a tokio runtime, like [`tokio::spawn`].
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tasks::spawn_in(
        controller::current(),
        TaskName::SpawnedAt(Location::caller()),
        fut,
    )
}

/// Spawns a tracked task with a name for logs and the report, like [`spawn`].
///
/// ```no_run
/// # async fn work(_: usize) {}
/// # async fn doc() {
/// for id in 0..20 {
///     graceful::spawn_named(format!("worker-{id}"), work(id));
/// }
/// # }
/// ```
#[track_caller]
pub fn spawn_named<F>(name: impl Into<Cow<'static, str>>, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tasks::spawn_in(controller::current(), TaskName::Named(name.into()), fut)
}
