//! A set that many threads enter and leave at once: the tracked tasks still running, the
//! wakers of the futures waiting for a latch.
//!
//! Entering and leaving are on the path of every tracked task and of every
//! `until_shutdown` that waits; reading the whole set is rare (the names at the deadline,
//! the wake-up when a latch is set). So the set is split into shards, each a slab under
//! its own lock: threads seldom wait for each other, and entering or leaving is an index
//! into a vector, with no hashing. A key names one entry once: after the entry leaves,
//! its slot may hold another, and the old key finds nothing.

use std::sync::{Mutex, OnceLock};

use super::lock;

/// An entry's place in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    shard: u32,
    slot: u32,
    generation: u64,
}

pub(crate) struct Sharded<T> {
    shards: Box<[Shard<T>]>,
}

/// One lock's worth of entries, on cache lines of its own so that threads working on
/// neighbouring shards do not slow each other down.
#[repr(align(128))]
struct Shard<T>(Mutex<Slab<T>>);

struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

struct Slot<T> {
    /// Counts the entries the slot has held, so that a key outlives its entry safely.
    generation: u64,
    entry: Option<T>,
}

/// Enough shards that the threads of this machine rarely meet on one: four per CPU.
pub(crate) fn per_cpu() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(4, usize::from);
        (cpus * 4).next_power_of_two().min(256)
    })
}

impl<T> Sharded<T> {
    pub(crate) fn new(shards: usize) -> Self {
        assert!(shards > 0 && shards <= u32::MAX as usize);
        Sharded {
            shards: (0..shards)
                .map(|_| {
                    Shard(Mutex::new(Slab {
                        slots: Vec::new(),
                        free: Vec::new(),
                    }))
                })
                .collect(),
        }
    }

    /// Adds the entry that `make` builds, if it builds one, in the shard that `hint`
    /// picks. `make` runs under that shard's lock: it may look at a flag that a
    /// [`drain`](Self::drain) after it would see set. It must not reach the set itself,
    /// nor drop anything that does: the lock is held.
    pub(crate) fn insert_with<R>(
        &self,
        hint: usize,
        make: impl FnOnce(Key) -> (Option<T>, R),
    ) -> R {
        let shard = hint % self.shards.len();
        let mut slab = lock(&self.shards[shard].0);
        // The free slot is taken only once `make` has returned: if it panics, the set is
        // as it was.
        let slot = match slab.free.last() {
            Some(&free) => free,
            None => u32::try_from(slab.slots.len()).expect("fewer than 2^32 entries a shard"),
        };
        let generation = slab.slots.get(slot as usize).map_or(0, |s| s.generation);
        let key = Key {
            shard: shard as u32,
            slot,
            generation,
        };
        let (entry, out) = make(key);
        if let Some(entry) = entry {
            if slab.free.last() == Some(&slot) {
                slab.free.pop();
                slab.slots[slot as usize].entry = Some(entry);
            } else {
                slab.slots.push(Slot {
                    generation,
                    entry: Some(entry),
                });
            }
        }
        out
    }

    /// Takes the entry out, if `key` still names it; its slot is free for another.
    pub(crate) fn remove(&self, key: Key) -> Option<T> {
        let mut slab = lock(&self.shards[key.shard as usize].0);
        let slot = slab.slots.get_mut(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let entry = slot.entry.take()?;
        slot.generation += 1;
        slab.free.push(key.slot);
        Some(entry)
    }

    /// Calls `f` on the entry that `key` names, if it is still there.
    pub(crate) fn with<R>(&self, key: Key, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut slab = lock(&self.shards[key.shard as usize].0);
        let slot = slab.slots.get_mut(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.entry.as_mut().map(f)
    }

    /// Takes every entry out and hands each to `f` outside the lock, a few at a time:
    /// waking a task may run it at once on another thread, which may then want the lock
    /// to leave the set, and 100,000 entries are not held up until the last is out. An
    /// entry added behind the drain while it runs may stay.
    pub(crate) fn drain(&self, mut f: impl FnMut(T)) {
        const BATCH: usize = 32;
        let mut batch = Vec::with_capacity(BATCH);
        for shard in self.shards.iter() {
            let mut next = 0;
            loop {
                {
                    let mut slab = lock(&shard.0);
                    let Slab { slots, free } = &mut *slab;
                    while batch.len() < BATCH && next < slots.len() {
                        if let Some(entry) = slots[next].entry.take() {
                            slots[next].generation += 1;
                            free.push(next as u32);
                            batch.push(entry);
                        }
                        next += 1;
                    }
                }
                if batch.is_empty() {
                    break;
                }
                batch.drain(..).for_each(&mut f);
            }
        }
    }

    /// Calls `f` on every entry, one shard locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        for shard in self.shards.iter() {
            for slot in &lock(&shard.0).slots {
                if let Some(entry) = &slot.entry {
                    f(entry);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|shard| lock(&shard.0).slots.iter().all(|s| s.entry.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn add<T>(set: &Sharded<T>, hint: usize, entry: T) -> Key {
        set.insert_with(hint, |key| (Some(entry), key))
    }

    fn all(set: &Sharded<String>) -> Vec<String> {
        let mut all = Vec::new();
        set.for_each(|n| all.push(n.clone()));
        all.sort();
        all
    }

    #[test]
    fn entries_come_and_go() {
        let set = Sharded::new(8);
        assert!(set.is_empty());
        let keys: Vec<Key> = (0..200)
            .map(|i| add(&set, i, format!("task {i:03}")))
            .collect();
        assert_eq!(
            keys.iter().collect::<HashSet<_>>().len(),
            200,
            "keys are unique"
        );
        assert_eq!(all(&set).len(), 200);
        for key in &keys[..150] {
            assert!(set.remove(*key).is_some());
        }
        assert_eq!(set.remove(keys[0]), None, "a second removal finds nothing");
        assert_eq!(all(&set).first().map(String::as_str), Some("task 150"));
        for key in &keys[150..] {
            set.remove(*key);
        }
        assert!(set.is_empty());
    }

    #[test]
    fn an_old_key_does_not_reach_the_next_entry_of_its_slot() {
        let set = Sharded::new(1);
        let old = add(&set, 0, "first".to_owned());
        assert_eq!(set.remove(old).as_deref(), Some("first"));
        let new = add(&set, 0, "second".to_owned());
        assert_eq!(set.remove(old), None);
        assert_eq!(set.with(old, |e| e.clone()), None);
        assert_eq!(set.with(new, |e| e.clone()).as_deref(), Some("second"));
        // Drained entries too: their keys are spent.
        let mut drained = Vec::new();
        set.drain(|e| drained.push(e));
        assert_eq!(drained, ["second"]);
        assert_eq!(set.remove(new), None);
        assert!(set.is_empty());
    }

    #[test]
    fn make_may_decline_to_add() {
        let set: Sharded<u32> = Sharded::new(2);
        let added = set.insert_with(0, |_| (None, false));
        assert!(!added);
        assert!(set.is_empty());
    }

    #[test]
    fn freed_slots_are_taken_again() {
        let set = Sharded::new(per_cpu());
        // A million entries over the life of a service, a hundred at a time: the set
        // keeps room for a hundred, not for all that ever entered.
        for round in 0..10_000 {
            let keys: Vec<Key> = (0..100).map(|i| add(&set, i, round * 100 + i)).collect();
            for key in keys {
                assert!(set.remove(key).is_some());
            }
        }
        let slots: usize = set.shards.iter().map(|s| lock(&s.0).slots.len()).sum();
        assert!(
            slots <= 100 + set.shards.len(),
            "{slots} slots kept for 100 entries"
        );
        assert!(set.is_empty());
    }

    #[test]
    fn threads_entering_and_leaving_at_once_lose_nothing() {
        let set: &'static Sharded<usize> = Box::leak(Box::new(Sharded::new(4)));
        let kept: Vec<Vec<usize>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    s.spawn(move || {
                        let mut kept = Vec::new();
                        for i in 0..5_000 {
                            let n = t * 10_000 + i;
                            let key = add(set, n, n);
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
        set.drain(|n| seen.push(n));
        seen.sort_unstable();
        assert_eq!(seen, expected);
        assert!(set.is_empty());
    }
}
