//! The program's last word: what it asked to run, or to drop, after the report is logged
//! and before the process exits ([`at_exit`](crate::at_exit),
//! [`drop_at_exit`](crate::drop_at_exit)).

use std::sync::Mutex;

use crate::sync::lock;
use crate::trigger::panic;

type Work = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub(crate) struct AtExit {
    work: Mutex<Vec<Work>>,
}

impl AtExit {
    /// Keeps `work` for the end.
    pub(crate) fn push(&self, work: Work) {
        lock(&self.work).push(work);
    }

    /// Whether nothing is kept.
    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.work).is_empty()
    }

    /// Runs everything kept, the last given first (so what was set up first, a log
    /// writer, goes last and still takes what the others say), each on its own: one that
    /// panics does not keep the next from running. Returns the panics' messages. Work
    /// given while this runs runs too, before it returns.
    pub(crate) fn run_all(&self) -> Vec<String> {
        let mut panics = Vec::new();
        // Taken one at a time, outside the lock: the work may hand over more.
        while let Some(work) = lock(&self.work).pop() {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                panics.push(panic::message(&*payload));
            }
        }
        panics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_last_given_runs_first_and_a_panic_stops_nothing() {
        let at_exit = AtExit::default();
        let ran = Arc::new(Mutex::new(Vec::new()));
        for name in ["log writer", "telemetry"] {
            let ran = ran.clone();
            at_exit.push(Box::new(move || lock(&ran).push(name)));
        }
        at_exit.push(Box::new(|| panic!("flush failed")));
        assert_eq!(at_exit.run_all(), ["flush failed"]);
        assert_eq!(*lock(&ran), ["telemetry", "log writer"]);
        assert!(at_exit.run_all().is_empty(), "each runs once");
    }
}
