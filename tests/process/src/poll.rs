//! Waiting for a condition outside the test's control, with the patience of a slow CI machine.

use std::thread;
use std::time::{Duration, Instant};

use super::PATIENCE;

/// Checks `done` every 50 ms until it holds; panics with `what` after [`PATIENCE`].
#[track_caller]
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < until, "not within {PATIENCE:?}: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}
