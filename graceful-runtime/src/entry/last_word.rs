//! The program's last word: the [`at_exit`](crate::at_exit) work, run between the report
//! and the exit, on a thread of its own and within the time the shutdown has left.

use std::time::{Duration, Instant};

use crate::controller::Controller;
use crate::report::log;
use crate::sync::bounded;

/// The time the exit keeps for itself before the watchdog's moment: work still running
/// then is left behind, and the exit code is the shutdown's, not the watchdog's 124.
const EXIT_MARGIN: Duration = Duration::from_millis(100);

/// What the last word gets after a second signal, which asks for the exit at once, or
/// before a configuration error's exit, when no shutdown set a limit.
pub(super) const BRIEF: Duration = Duration::from_millis(500);

/// How long the last word may take: until `watchdog_at` (less a margin), or [`BRIEF`].
pub(super) fn patience(watchdog_at: Option<Instant>, forced: bool) -> Duration {
    match watchdog_at {
        Some(at) if !forced => at
            .saturating_duration_since(Instant::now())
            .saturating_sub(EXIT_MARGIN),
        _ => BRIEF,
    }
}

/// Runs the program's `at_exit` work, the last given first, and waits for it at most
/// `patience`. It runs on a thread of its own, in the runtime's context when there is one
/// (`handle`): not on one of the runtime's workers, so a flush that needs them to make
/// progress gets it. Panics and lateness are said on stderr; the exit goes on.
pub(super) fn run(
    ctl: &'static Controller,
    handle: Option<tokio::runtime::Handle>,
    patience: Duration,
) {
    if ctl.at_exit.is_empty() {
        return;
    }
    let done = bounded::run("graceful-at-exit", patience, move || {
        let _context = handle.as_ref().map(tokio::runtime::Handle::enter);
        ctl.at_exit.run_all()
    });
    match done {
        Ok(panics) => {
            for message in &panics {
                log::at_exit_panicked(message);
            }
        }
        Err(_) => log::at_exit_late(patience),
    }
}
