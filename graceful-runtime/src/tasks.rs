//! Tracked tasks: the work shutdown waits for, with names for the report.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::controller::{self, lock};

/// A task's name in the report: its own, or where it was spawned.
#[derive(Clone)]
enum TaskName {
    Named(Cow<'static, str>),
    SpawnedAt(&'static Location<'static>),
}

impl TaskName {
    fn render(&self) -> String {
        match self {
            TaskName::Named(name) => name.clone().into_owned(),
            TaskName::SpawnedAt(at) => format!("task spawned at {}:{}", at.file(), at.line()),
        }
    }
}

#[derive(Default)]
pub(crate) struct Tasks {
    tracker: TaskTracker,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, TaskName>>,
}

impl Tasks {
    fn spawn<F>(&'static self, name: TaskName, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.live).insert(id, name);
        let guard = LiveGuard { tasks: self, id };
        self.tracker.spawn(async move {
            let _guard = guard;
            fut.await
        })
    }

    /// Stops counting new tasks as a reason to keep waiting once the live ones end.
    pub(crate) fn close(&self) {
        self.tracker.close();
    }

    /// Completes when every tracked task has ended (after [`Tasks::close`]).
    pub(crate) async fn wait(&self) {
        self.tracker.wait().await;
    }

    /// The names of the tasks still running, sorted.
    pub(crate) fn live_names(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.live).values().map(TaskName::render).collect();
        names.sort();
        names
    }
}

/// Removes a task from the live set when it ends, completes or is aborted.
struct LiveGuard {
    tasks: &'static Tasks,
    id: u64,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        lock(&self.tasks.live).remove(&self.id);
    }
}

/// Spawns a task that shutdown waits for.
///
/// Like [`tokio::spawn`], and the built-in drain step (see [`TASKS_STEP`](crate::TASKS_STEP))
/// waits for it before the hooks ordered after it run. If it is still running at the
/// deadline, the report names it by the place it was spawned (`src/worker.rs:42`); use
/// [`spawn_named`] to give it a better name.
///
/// A tracked task should watch [`shutdown_requested`](crate::shutdown_requested) or use
/// [`until_shutdown`](crate::until_shutdown) to stop taking new work.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = Location::caller();
    controller::current()
        .tasks
        .spawn(TaskName::SpawnedAt(at), fut)
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
    controller::current()
        .tasks
        .spawn(TaskName::Named(name.into()), fut)
}
