//! Work that may block for good on the way out (a write to a pipe nobody reads, a hung
//! network mount), run on a thread of its own and waited for a bounded time, so that the
//! exit never waits on it.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

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
    match spawned {
        Ok(_) => finished.recv_timeout(patience).map_err(|_| Late),
        Err(_) => {
            let work = lock(&ours).take();
            work.map(|work| work()).ok_or(Late)
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
    fn work_that_blocks_is_left_behind_once_its_time_is_up() {
        let (_keep, blocked) = mpsc::channel::<()>();
        let t0 = std::time::Instant::now();
        let late = run("blocked", Duration::from_millis(50), move || blocked.recv());
        assert!(late.is_err());
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
}
