//! Tracked tasks: the work the shutdown waits for, counted, with names for the report;
//! a task's panic is caught on its way out, told to the controller, and passed on.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(feature = "axum")]
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};

use super::{scope, Controller};
use crate::sync::sharded::{self, Key, Sharded};
use crate::trigger::panic::{self, CatchUnwind};

/// A task's name in the report: its own, or where it was spawned.
#[derive(Clone)]
pub(crate) enum TaskName {
    Named(Cow<'static, str>),
    /// A name the task's own code uses too (a connection's, in its log lines).
    #[cfg(feature = "axum")]
    Shared(Arc<str>),
    SpawnedAt(&'static Location<'static>),
}

impl TaskName {
    fn render(&self) -> String {
        match self {
            TaskName::Named(name) => name.clone().into_owned(),
            #[cfg(feature = "axum")]
            TaskName::Shared(name) => name.to_string(),
            TaskName::SpawnedAt(at) => format!("task spawned at {}:{}", at.file(), at.line()),
        }
    }
}

pub(crate) struct Tasks {
    /// The tasks still running. Every spawn enters it and every end leaves it.
    live: Sharded<Live>,
    /// Spreads the tasks over the shards, so that those spawned by one thread end on
    /// several threads without meeting on one lock.
    next_shard: AtomicUsize,
    /// How many have not ended, and whether the drain began: what every end writes and
    /// reads, on a cache line of its own.
    ends: Ends,
    /// Woken when no task is running once closed.
    idle: Notify,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            live: Sharded::new(sharded::per_cpu()),
            next_shard: AtomicUsize::new(0),
            ends: Ends::default(),
            idle: Notify::new(),
        }
    }
}

/// What every task's end touches, on cache lines of its own: 100,000 tasks ending at once
/// on every thread write here, and a neighbouring field read on each task's last poll (the
/// shutdown's latch, the flag `is_shutting_down` reads) would be invalidated under every
/// reader at each end.
#[repr(align(128))]
#[derive(Default)]
struct Ends {
    /// How many tracked tasks have not ended.
    running: AtomicUsize,
    /// Set when the drain begins: from then on the last task to end wakes the drain.
    closed: AtomicBool,
}

/// A task still running: what the report calls it, and how to stop it (once spawned,
/// and only in a test harness, the one place tasks are aborted).
struct Live {
    name: TaskName,
    abort: Option<AbortHandle>,
}

/// Spawns `fut` as a tracked task of `ctl`'s program.
#[track_caller]
pub(crate) fn spawn_in<F>(ctl: &'static Controller, name: TaskName, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks = &ctl.tasks;
    tasks.ends.running.fetch_add(1, Ordering::SeqCst);
    // The task enters the set before it is spawned, so it cannot leave before it has
    // entered, even if it ends at once on another thread. It is spawned outside the set's
    // lock: a spawn that fails (outside a runtime, or on one that has shut down) drops
    // the task, and with it the guard that takes it out of the set and the count.
    let shard = tasks.next_shard.fetch_add(1, Ordering::Relaxed);
    let key = tasks
        .live
        .insert_with(shard, |key| (Some(Live { name, abort: None }), key));
    let guard = LiveGuard { tasks, key };
    let handle = tokio::spawn(scope(ctl, async move {
        let guard = guard;
        match CatchUnwind::new(fut).await {
            Ok(output) => output,
            Err(payload) => {
                // Named from the set while the task is still in it: no copy of the name
                // is made for the tasks that do not panic.
                let name = tasks.live.with(guard.key, |live| live.name.render());
                ctl.task_panicked(name.unwrap_or_default(), panic::message(&*payload));
                // On to the `JoinHandle`, as from any tokio task.
                std::panic::resume_unwind(payload)
            }
        }
    }));
    // Only a test harness aborts its tasks, at its end: the program's own end with the
    // process, and keep no handle (one more lock at the spawn, one more count on the
    // task's end).
    if !std::ptr::eq(ctl, super::global()) {
        tasks
            .live
            .with(key, |live| live.abort = Some(handle.abort_handle()));
    }
    handle
}

impl Tasks {
    /// Aborts every task still running: what the end of the process does to them.
    pub(crate) fn abort_all(&self) {
        // Collected first: an aborted task's guard takes the same lock as it ends.
        let mut handles = Vec::new();
        self.live
            .for_each(|live| handles.extend(live.abort.clone()));
        for handle in handles {
            handle.abort();
        }
    }

    /// Starts the drain: from now on, the end of the last task running wakes [`Tasks::wait`].
    pub(crate) fn close(&self) {
        self.ends.closed.store(true, Ordering::SeqCst);
        if self.ends.running.load(Ordering::SeqCst) == 0 {
            self.idle.notify_waiters();
        }
    }

    /// Completes when no tracked task is running, once [`Tasks::close`] has been called.
    /// A task spawned later (by a hook after the drain) is waited for by the next call.
    pub(crate) async fn wait(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Registered before the look, so that an end in between wakes it.
            idle.as_mut().enable();
            if self.ends.closed.load(Ordering::SeqCst)
                && self.ends.running.load(Ordering::SeqCst) == 0
            {
                return;
            }
            idle.await;
        }
    }

    /// True while a tracked task is running: the count, not a look through the set.
    pub(crate) fn any_live(&self) -> bool {
        self.ends.running.load(Ordering::SeqCst) > 0
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
        let tasks = self.tasks;
        if tasks.ends.running.fetch_sub(1, Ordering::SeqCst) == 1
            && tasks.ends.closed.load(Ordering::SeqCst)
        {
            tasks.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn named(name: &'static str) -> TaskName {
        TaskName::Named(Cow::Borrowed(name))
    }

    #[tokio::test(start_paused = true)]
    async fn the_drain_waits_for_every_task_even_those_spawned_after_it_began() {
        let ctl = Controller::leak();
        let tasks = &ctl.tasks;
        let work = |ms| async move { tokio::time::sleep(Duration::from_millis(ms)).await };
        spawn_in(ctl, named("short"), work(10));
        spawn_in(ctl, named("long"), work(50));
        assert_eq!(tasks.live_names(), ["long", "short"]);

        let waited = tokio::time::Instant::now();
        tasks.close();
        tasks.wait().await;
        assert_eq!(waited.elapsed(), Duration::from_millis(50));
        assert!(!tasks.any_live());

        // One spawned once the drain is over (by a later hook) is waited for in turn.
        spawn_in(ctl, named("late"), work(20));
        assert!(tasks.any_live());
        tasks.wait().await;
        assert_eq!(waited.elapsed(), Duration::from_millis(70));
        assert!(tasks.live_names().is_empty());
    }

    #[tokio::test]
    async fn an_aborted_task_leaves_the_count() {
        let ctl = Controller::leak();
        spawn_in(ctl, named("stuck"), std::future::pending::<()>());
        ctl.tasks.close();
        ctl.tasks.abort_all();
        tokio::time::timeout(Duration::from_secs(10), ctl.tasks.wait())
            .await
            .expect("an aborted task still counted as running");
    }

    /// Runs `f` on a thread of its own: a deadlock fails the test instead of hanging it.
    fn on_a_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(f()));
        result
            .recv_timeout(Duration::from_secs(20))
            .expect("the spawn never returned: it deadlocked")
    }

    #[test]
    fn a_spawn_outside_a_runtime_panics_like_tokio_spawn() {
        let ctl = Controller::leak();
        let panicked = on_a_thread(move || {
            std::panic::catch_unwind(|| spawn_in(ctl, named("lost"), async {})).is_err()
        });
        assert!(panicked);
        assert!(!ctl.tasks.any_live(), "{:?}", ctl.tasks.live_names());
        assert!(
            ctl.tasks.live_names().is_empty(),
            "the name left the set too"
        );
    }

    #[test]
    fn a_spawn_on_a_runtime_that_shut_down_leaves_nothing_live() {
        let ctl = Controller::leak();
        on_a_thread(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let handle = runtime.handle().clone();
            drop(runtime);
            let _in = handle.enter();
            drop(spawn_in(ctl, named("never ran"), async {}));
        });
        assert!(!ctl.tasks.any_live(), "{:?}", ctl.tasks.live_names());
        assert!(
            ctl.tasks.live_names().is_empty(),
            "the name left the set too"
        );
    }
}
