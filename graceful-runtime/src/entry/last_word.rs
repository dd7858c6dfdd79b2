//! The program's last word: the [`at_exit`](crate::at_exit) work, run between the report
//! and the exit, on a thread of its own and within the time the shutdown has left.

use std::time::{Duration, Instant};

use crate::controller::Controller;
use crate::report::log;
use crate::sync::bounded;

/// What the last word gets after a second signal, which asks for the exit at once, or
/// before a configuration error's exit, when no shutdown set a limit.
pub(super) const BRIEF: Duration = Duration::from_millis(500);

/// Until when the last word may run: `ends_at`, when the process must be gone (the
/// deadline and the `always` hooks' time, counted from the start of the shutdown), or,
/// after a second signal, [`BRIEF`] from now if that is sooner. Without a shutdown (a
/// configuration refused), [`BRIEF`].
pub(super) fn until(ends_at: Option<Instant>, forced: bool) -> Instant {
    let brief = Instant::now() + BRIEF;
    match ends_at {
        Some(at) if forced => at.min(brief),
        Some(at) => at,
        None => brief,
    }
}

/// Runs the program's `at_exit` work, the last given first, and waits for it until
/// `until`, or [`BRIEF`] after a second signal if that is sooner. It runs on a thread of
/// its own, in the runtime's context when there is one (`handle`): not on one of the
/// runtime's workers, so a flush that needs them to make progress gets it. Panics and
/// lateness are said on stderr; the exit goes on, with the code decided before.
pub(super) fn run(
    ctl: &'static Controller,
    handle: Option<tokio::runtime::Handle>,
    until: Instant,
) {
    if ctl.at_exit.is_empty() {
        return;
    }
    let started = Instant::now();
    let cut = std::sync::OnceLock::new();
    let limit = || {
        if ctl.forced.is_set() {
            until.min(*cut.get_or_init(|| Instant::now() + BRIEF))
        } else {
            until
        }
    };
    let done = bounded::run_until("graceful-at-exit", limit, move || {
        let _context = handle.as_ref().map(tokio::runtime::Handle::enter);
        ctl.at_exit.run_all()
    });
    match done {
        Ok(panics) => {
            for message in &panics {
                log::at_exit_panicked(message);
            }
        }
        Err(_) => log::at_exit_late(started.elapsed()),
    }
}
