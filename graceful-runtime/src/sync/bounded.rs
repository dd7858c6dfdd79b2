//! Work that may block for good on the way out (a write to a pipe nobody reads, a hung
//! network mount), run on a thread of its own and waited for a bounded time, so that the
//! exit never waits on it.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;

/// The work did not end within its time; it is left behind, to die with the process.
#[derive(Debug)]
pub(crate) struct Late;

/// Runs `work` on a thread named `name` and waits for it at most `patience`. With no
/// thread to spare, it runs here, unbounded, rather than not at all.
pub(crate) fn run<T, F>(name: &str, patience: Duration, work: F) -> Result<T, Late>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let end = Instant::now() + patience;
    run_until(name, move || end, work)
}

/// How often [`run_until`] asks its limit again.
const STEP: Duration = Duration::from_millis(10);

/// Like [`run`], with a limit that may move while the work runs: `until` is asked again
/// every few milliseconds (a second signal cuts the last word short).
pub(crate) fn run_until<T, F>(name: &str, until: impl Fn() -> Instant, work: F) -> Result<T, Late>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, finished) = mpsc::channel();
    let ours = Arc::new(Mutex::new(Some(work)));
    let theirs = Arc::clone(&ours);
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let work = lock(&theirs).take();
            if let Some(work) = work {
                let _ = done.send(work());
            }
        });
    if spawned.is_err() {
        let work = lock(&ours).take();
        return work.map(|work| work()).ok_or(Late);
    }
    loop {
        let left = until().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Late);
        }
        match finished.recv_timeout(left.min(STEP)) {
            Ok(out) => return Ok(out),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The work's thread ended without an answer: it panicked.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Late),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_that_ends_in_time_gives_its_result() {
        assert_eq!(run("quick", Duration::from_secs(10), || 7).unwrap(), 7);
    }

    #[test]
    fn a_limit_moved_closer_while_the_work_runs_cuts_it_short() {
        let (_keep, blocked) = mpsc::channel::<()>();
        let t0 = Instant::now();
        let cut = t0 + Duration::from_millis(50);
        let late = run_until(
            "moved",
            move || {
                if Instant::now() < cut {
                    t0 + Duration::from_secs(60)
                } else {
                    cut
                }
            },
            move || blocked.recv(),
        );
        assert!(late.is_err());
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "waited for the first limit"
        );
    }

    #[test]
    fn work_that_blocks_is_left_behind_once_its_time_is_up() {
        let (_keep, blocked) = mpsc::channel::<()>();
        let t0 = std::time::Instant::now();
        let late = run("blocked", Duration::from_millis(50), move || blocked.recv());
        assert!(late.is_err());
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
}
