//! The set of tracked tasks still running, with their names for the report.
//!
//! Every tracked task enters it when spawned and leaves it when it ends, so it is on the
//! path of every task; reading it (the names at the deadline, aborting at the exit) is
//! rare. It is split into shards, each a slab under its own lock: 100,000 tasks ending
//! at once on several worker threads seldom wait for each other, and entering or leaving
//! is an index into a vector, with no hashing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::task::AbortHandle;

use crate::controller::lock;

/// Enough shards that the worker threads of a large machine rarely meet on one.
const SHARDS: usize = 64;

/// A task's place in the set: which shard, which slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    shard: usize,
    slot: usize,
}

pub(crate) struct LiveSet<T> {
    shards: Box<[Shard<T>]>,
    next: AtomicUsize,
}

/// One lock's worth of tasks, on a cache line of its own so that threads working on
/// neighbouring shards do not slow each other down.
#[repr(align(128))]
struct Shard<T>(Mutex<Slab<T>>);

struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for LiveSet<T> {
    fn default() -> Self {
        LiveSet {
            shards: (0..SHARDS)
                .map(|_| {
                    Shard(Mutex::new(Slab {
                        slots: Vec::new(),
                        free: Vec::new(),
                    }))
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }
}

impl<T> LiveSet<T> {
    /// Adds the entry that `make` builds, under the shard's lock: `make` may spawn the
    /// task, which then cannot leave before it has entered.
    pub(crate) fn insert_with<R>(&self, make: impl FnOnce(Key) -> (T, R)) -> R {
        let shard = self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        let mut slab = lock(&self.shards[shard].0);
        // The free slot is taken only once `make` has returned: if it panics (a spawn
        // outside a runtime), the set is as it was.
        let slot = slab.free.last().copied().unwrap_or(slab.slots.len());
        let (entry, out) = make(Key { shard, slot });
        if slab.free.last() == Some(&slot) {
            slab.free.pop();
            slab.slots[slot] = Some(entry);
        } else {
            slab.slots.push(Some(entry));
        }
        out
    }

    /// Takes an entry out; its slot is free for the next task.
    pub(crate) fn remove(&self, key: Key) -> Option<T> {
        let mut slab = lock(&self.shards[key.shard].0);
        let entry = slab.slots.get_mut(key.slot)?.take();
        if entry.is_some() {
            slab.free.push(key.slot);
        }
        entry
    }

    /// Calls `f` on every entry, one shard locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        for shard in self.shards.iter() {
            for entry in lock(&shard.0).slots.iter().flatten() {
                f(entry);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|shard| lock(&shard.0).slots.iter().all(Option::is_none))
    }
}

impl LiveSet<super::Live> {
    /// The abort handles of every task still running, taken out of the locks so that a
    /// task ending as it is aborted can leave the set.
    pub(crate) fn abort_handles(&self) -> Vec<AbortHandle> {
        let mut handles = Vec::new();
        self.for_each(|live| handles.push(live.abort.clone()));
        handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn names(set: &LiveSet<String>) -> Vec<String> {
        let mut all = Vec::new();
        set.for_each(|n| all.push(n.clone()));
        all.sort();
        all
    }

    #[test]
    fn entries_come_and_go_and_slots_are_reused() {
        let set = LiveSet::default();
        assert!(set.is_empty());
        let keys: Vec<Key> = (0..200)
            .map(|i| set.insert_with(|key| (format!("task {i:03}"), key)))
            .collect();
        assert_eq!(
            keys.iter().collect::<HashSet<_>>().len(),
            200,
            "keys are unique"
        );
        assert_eq!(names(&set).len(), 200);
        for key in &keys[..150] {
            assert!(set.remove(*key).is_some());
        }
        assert_eq!(set.remove(keys[0]), None, "a second removal finds nothing");
        assert_eq!(names(&set).first().map(String::as_str), Some("task 150"));
        for key in &keys[150..] {
            set.remove(*key);
        }
        assert!(set.is_empty());
    }

    #[test]
    fn freed_slots_are_taken_again() {
        let set = LiveSet::default();
        // A million tasks over the life of a service, a few at a time: the set keeps
        // the room for a few, not for all that ever ran.
        for round in 0..10_000 {
            let keys: Vec<Key> = (0..100)
                .map(|i| set.insert_with(|key| (round * 100 + i, key)))
                .collect();
            for key in keys {
                assert!(set.remove(key).is_some());
            }
        }
        let slots: usize = set.shards.iter().map(|s| lock(&s.0).slots.len()).sum();
        assert!(
            slots <= 100 + SHARDS,
            "{slots} slots kept for 100 live tasks"
        );
        assert!(set.is_empty());
    }

    #[test]
    fn threads_entering_and_leaving_at_once_lose_nothing() {
        let set: &'static LiveSet<usize> = Box::leak(Box::default());
        let kept: Vec<Vec<usize>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    s.spawn(move || {
                        let mut kept = Vec::new();
                        for i in 0..5_000 {
                            let n = t * 10_000 + i;
                            let key = set.insert_with(|key| (n, key));
                            if i % 2 == 0 {
                                assert_eq!(set.remove(key), Some(n));
                            } else {
                                kept.push(n);
                            }
                        }
                        kept
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut expected: Vec<usize> = kept.into_iter().flatten().collect();
        expected.sort_unstable();
        let mut seen = Vec::new();
        set.for_each(|n| seen.push(*n));
        seen.sort_unstable();
        assert_eq!(seen, expected);
    }
}
