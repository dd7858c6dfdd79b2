//! Tracked tasks: the work shutdown waits for, with names for the report.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::task::TaskTracker;

use crate::controller::{self, Controller};
use crate::sharded::{self, Key, Sharded};

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

pub(crate) struct Tasks {
    tracker: TaskTracker,
    /// The tasks still running. Every spawn enters it and every end leaves it.
    live: Sharded<Live>,
    /// Spreads the tasks over the shards, so that those spawned by one thread end on
    /// several threads without meeting on one lock.
    next_shard: AtomicUsize,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            tracker: TaskTracker::new(),
            live: Sharded::new(sharded::per_cpu()),
            next_shard: AtomicUsize::new(0),
        }
    }
}

/// A task still running: what the report calls it, and how to stop it.
struct Live {
    name: TaskName,
    abort: AbortHandle,
}

/// Spawns `fut` as a tracked task of `ctl`'s program.
fn spawn_in<F>(ctl: &'static Controller, name: TaskName, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks = &ctl.tasks;
    // Spawned under the lock of its place in the set, so it cannot leave before it has
    // entered, even if it ends at once on another thread.
    let shard = tasks.next_shard.fetch_add(1, Ordering::Relaxed);
    tasks.live.insert_with(shard, |key| {
        let guard = LiveGuard { tasks, key };
        let handle = tasks.tracker.spawn(controller::scope(ctl, async move {
            let _guard = guard;
            fut.await
        }));
        let live = Live {
            name,
            abort: handle.abort_handle(),
        };
        (Some(live), handle)
    })
}

impl Tasks {
    /// Aborts every task still running: what the end of the process does to them.
    pub(crate) fn abort_all(&self) {
        // Collected first: an aborted task's guard takes the same lock as it ends.
        let mut handles = Vec::new();
        self.live.for_each(|live| handles.push(live.abort.clone()));
        for handle in handles {
            handle.abort();
        }
    }

    /// Stops counting new tasks as a reason to keep waiting once the live ones end.
    pub(crate) fn close(&self) {
        self.tracker.close();
    }

    /// Completes when every tracked task has ended (after [`Tasks::close`]).
    pub(crate) async fn wait(&self) {
        self.tracker.wait().await;
    }

    /// True while a tracked task is running.
    pub(crate) fn any_live(&self) -> bool {
        !self.live.is_empty()
    }

    /// The names of the tasks still running, sorted.
    pub(crate) fn live_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.live.for_each(|live| names.push(live.name.render()));
        names.sort();
        names
    }
}

/// Removes a task from the live set when it ends, completes or is aborted.
struct LiveGuard {
    tasks: &'static Tasks,
    key: Key,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        // Dropped outside the shard's lock.
        drop(self.tasks.live.remove(self.key));
    }
}

/// Spawns a task that shutdown waits for.
///
/// Like [`tokio::spawn`], and the built-in drain step (see [`TASKS_STEP`](crate::TASKS_STEP))
/// waits for it before the hooks ordered after it run. A task spawned after that step (by
/// a later hook) is waited for at the end of the sequence. If it is still running at the
/// deadline, the exit code is 124 and the report names it by the place it was spawned
/// (`src/worker.rs:42`); use [`spawn_named`] to give it a better name.
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
    spawn_in(
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
    spawn_in(controller::current(), TaskName::Named(name.into()), fut)
}
