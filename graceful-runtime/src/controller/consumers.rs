//! The consumers' tallies: each runner counts here as it goes, and the report reads them
//! at its end. Kept by the controller because the report cannot know the runner (it sits
//! below it), and a test harness has a controller, so tallies, of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::report::{ConsumerCounts, ConsumerReport};
use crate::sync::lock;

/// One consumer's counts, updated by its runner and its handlers' tasks.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) taken: AtomicU64,
    pub(crate) done: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) handed_back_unstarted: AtomicU64,
    pub(crate) handed_back_cut: AtomicU64,
    pub(crate) settle_failed: AtomicU64,
}

impl Tally {
    /// Adds one to `counter`.
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts as they stand.
    pub(crate) fn snapshot(&self) -> ConsumerCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConsumerCounts {
            taken: get(&self.taken),
            done: get(&self.done),
            failed: get(&self.failed),
            panicked: get(&self.panicked),
            retried: get(&self.retried),
            rejected: get(&self.rejected),
            handed_back_unstarted: get(&self.handed_back_unstarted),
            handed_back_cut: get(&self.handed_back_cut),
            settle_failed: get(&self.settle_failed),
        }
    }
}

/// Every consumer the program started, in the order it did.
#[derive(Default)]
pub(crate) struct Consumers {
    all: Mutex<Vec<(String, Arc<Tally>)>>,
}

impl Consumers {
    /// A tally for a new consumer named `name`.
    pub(crate) fn register(&self, name: &str) -> Arc<Tally> {
        let tally = Arc::new(Tally::default());
        lock(&self.all).push((name.to_owned(), Arc::clone(&tally)));
        tally
    }

    /// Each consumer's counts, for the report.
    pub(crate) fn reports(&self) -> Vec<ConsumerReport> {
        lock(&self.all)
            .iter()
            .map(|(name, tally)| ConsumerReport {
                name: name.clone(),
                counts: tally.snapshot(),
            })
            .collect()
    }
}
