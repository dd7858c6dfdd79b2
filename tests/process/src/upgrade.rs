//! Watching a service upgrade itself in place: its binary replaced on disk as a deploy
//! does, the exit codes of its generations, and HTTP load that counts every failure.
#![allow(unsafe_code)] // `prctl` and `waitpid`, below, and nothing else

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, KeptAlive};

/// Makes this process the one that reaps its orphaned descendants: each new process of
/// an upgrade is the old one's child, and becomes this process's once the old one exits,
/// so that [`exit_code`] can read how every generation ended.
pub fn become_subreaper() {
    // SAFETY: `prctl(PR_SET_CHILD_SUBREAPER, 1)` sets a flag of this process; it reads
    // and writes no memory of it.
    let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(set, 0, "prctl: {}", io::Error::last_os_error());
}

/// How the process `pid` (a child of this one, or an orphan it reaps) exited, once it has,
/// within `limit`: `Some(code)`, `Some(128 + n)` for a death by signal n, `None` if it was
/// still running.
pub fn exit_code(pid: u32, limit: Duration) -> Option<i32> {
    let until = Instant::now() + limit;
    let pid = libc::pid_t::try_from(pid).expect("a process id");
    loop {
        let mut status = 0;
        // SAFETY: `waitpid` writes the status into `status`, a local it is given.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if reaped == pid {
            return Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        assert!(
            reaped >= 0,
            "waitpid({pid}): {}",
            io::Error::last_os_error()
        );
        if Instant::now() >= until {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` (`TERM`, `HUP`) to `pid` with `kill(1)`.
pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1) is available");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Puts a fresh copy of `binary` at `path` as a deploy does: written beside it, then
/// renamed over it, so that the running process keeps its own file.
///
/// The copy is made by `cp(1)`, not by this process: a process that tests run in
/// parallel fork from must never hold a binary open for writing, or a child forked
/// meanwhile holds it too until its own `exec`, and executing the binary then fails
/// with "Text file busy".
pub fn deploy(binary: &str, path: &Path) {
    let beside = path.with_extension("new");
    let copied = std::process::Command::new("cp")
        .arg(binary)
        .arg(&beside)
        .status()
        .expect("cp(1) is available");
    assert!(copied.success(), "cp {binary} {} failed", beside.display());
    std::fs::rename(&beside, path).expect("rename it into place");
}

/// Waits until `current` names a process other than `old`, the process an upgrade
/// replaces, and returns it.
#[track_caller]
pub fn replaced(old: u32, mut current: impl FnMut() -> u32) -> u32 {
    let waited = Instant::now();
    loop {
        let pid = current();
        if pid != old {
            return pid;
        }
        assert!(
            waited.elapsed() < crate::PATIENCE,
            "still {old} after {:?}",
            crate::PATIENCE
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A directory of the test's own, emptied.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("graceful-upgrade-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The serving process's id, from its `/`: `pid 1234`.
pub fn serving_pid(addr: SocketAddr) -> io::Result<u32> {
    let response = http::get(addr, "/")?;
    response
        .body
        .trim()
        .strip_prefix("pid ")
        .and_then(|pid| pid.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not a pid: {response:?}")))
}

/// HTTP load on a server: some clients open a connection per request, others keep one
/// alive. Every request must be answered 200; a kept-alive connection the server closed
/// (it said `Connection: close`, or closed an idle one) may be retried once on a new
/// connection, as clients do. Anything else is a failure, kept with what it was.
pub struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `fresh` clients with a connection per request and `kept` with one kept alive.
    pub fn start(addr: SocketAddr, fresh: usize, kept: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..fresh + kept {
            let (stop, answered, failures) = (stop.clone(), answered.clone(), failures.clone());
            let keep_alive = i >= fresh;
            threads.push(thread::spawn(move || {
                let mut connection: Option<KeptAlive> = None;
                while !stop.load(Ordering::Relaxed) {
                    let outcome = if keep_alive {
                        kept_alive_get(addr, &mut connection)
                    } else {
                        http::get(addr, "/").map_err(|e| format!("new connection: {e}"))
                    };
                    match outcome {
                        Ok(response) if response.status == 200 => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(response) => failures
                            .lock()
                            .unwrap()
                            .push(format!("status {}: {}", response.status, response.body)),
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                    thread::sleep(Duration::from_millis(2));
                }
            }));
        }
        Load {
            stop,
            answered,
            failures,
            threads,
        }
    }

    /// How many requests were answered 200 so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }

    /// Stops the clients; returns how many requests were answered, and the failures.
    pub fn stop(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().expect("a load thread panicked");
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.answered.load(Ordering::Relaxed), failures)
    }
}

/// A request on the kept-alive connection, opened if need be. Closed by the server
/// between requests, it is retried once on a new connection.
pub fn kept_alive_get(
    addr: SocketAddr,
    connection: &mut Option<KeptAlive>,
) -> Result<http::Response, String> {
    let reused = connection.is_some();
    if connection.is_none() {
        *connection = Some(KeptAlive::open(addr).map_err(|e| format!("open: {e}"))?);
    }
    let result = connection.as_mut().expect("opened above").get("/");
    match result {
        Ok(response) => {
            if response.header("connection") == Some("close") {
                *connection = None;
            }
            Ok(response)
        }
        Err(e) if reused => {
            // The server closed it between two requests: what a client retries.
            let mut fresh = KeptAlive::open(addr).map_err(|e2| format!("retry after {e}: {e2}"))?;
            let response = fresh
                .get("/")
                .map_err(|e2| format!("retry after {e}: {e2}"))?;
            *connection = (response.header("connection") != Some("close")).then_some(fresh);
            Ok(response)
        }
        Err(e) => {
            *connection = None;
            Err(format!("kept-alive, first request: {e}"))
        }
    }
}
