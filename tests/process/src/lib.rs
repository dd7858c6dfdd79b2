//! Starting a fixture service or an example as a child process, signalling it and reading
//! what it did: the support of the process-level tests, here and in `graceful-examples`.
//!
//! The fixture services are the binaries of this package (`src/bin/`); a test names one
//! with `env!("CARGO_BIN_EXE_fixture-service")`, and [`example`] finds a built example.

pub mod broker;
pub mod journal;

use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a child before calling it stuck. Generous: CI machines are slow.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How long the output readers may run on after the service exited, while a process it
/// started still holds its pipes: enough to read what was written before the exit.
const INHERITED_PIPES: Duration = Duration::from_secs(1);

/// A running child, its stdout read line by line and its stderr read to the end. Dropped
/// before it has exited, it is killed.
pub struct Service {
    child: std::process::Child,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    /// With [`start_with_stderr_unread`], the end of stderr that stays open unread.
    _unread_stderr: Option<ChildStderr>,
    /// Dropped, it lets a stalled stdout's reader go.
    _release_stdout: std::sync::mpsc::Sender<()>,
    readers: Vec<thread::JoinHandle<()>>,
    signalled_at: Option<Instant>,
}

/// What the service did, once it exited.
#[derive(Debug)]
pub struct Exited {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    /// Every stdout line.
    pub stdout: Vec<String>,
    /// The whole of stderr (empty when it was closed at the start).
    pub stderr: String,
    /// From the first signal sent (or the start) to the exit.
    pub elapsed: Duration,
}

impl Exited {
    /// The index of the first stdout line that starts with `prefix`.
    pub fn line(&self, prefix: &str) -> usize {
        self.stdout
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no stdout line starts with {prefix:?}:\n{self:#?}"))
    }

    /// Whether a stdout line starts with `prefix`.
    pub fn has_line(&self, prefix: &str) -> bool {
        self.stdout.iter().any(|l| l.starts_with(prefix))
    }

    /// Asserts that stderr holds `needle`, showing stderr otherwise.
    #[track_caller]
    pub fn assert_stderr(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
    }
}

/// Starts the program at `bin` (a fixture's `CARGO_BIN_EXE_*`, or an [`example`]), with
/// extra environment variables.
pub fn start(bin: &str, envs: &[(&str, &str)]) -> Service {
    launch(bin, &[], envs, Stderr::Read, Stdout::Read)
}

/// Starts `bin` with `args` on its command line.
pub fn start_with_args(bin: &str, args: &[&str], envs: &[(&str, &str)]) -> Service {
    launch(bin, args, envs, Stderr::Read, Stdout::Read)
}

/// Starts `bin` with a stderr whose reader is gone at once, so that every write to it
/// fails, as under `service 2>&1 | head -1` once `head` has exited.
pub fn start_with_stderr_closed(bin: &str, envs: &[(&str, &str)]) -> Service {
    launch(bin, &[], envs, Stderr::Closed, Stdout::Read)
}

/// Starts `bin` with a stderr that stays open and that nobody reads: once the pipe is
/// full, every write to it blocks, as with a stalled journald or a log shipper that hangs.
pub fn start_with_stderr_unread(bin: &str, envs: &[(&str, &str)]) -> Service {
    launch(bin, &[], envs, Stderr::Unread, Stdout::Read)
}

/// Starts `bin` and closes its stdout once a line starting with `prefix` has been read:
/// every write to stdout fails from then on, as under `service | tee log` once Ctrl-C has
/// ended `tee` too.
pub fn start_closing_stdout_after(bin: &str, envs: &[(&str, &str)], prefix: &str) -> Service {
    launch(
        bin,
        &[],
        envs,
        Stderr::Read,
        Stdout::CloseAfter(prefix.to_owned()),
    )
}

/// Starts `bin` and, once a line starting with `prefix` has been read, leaves its stdout
/// unread and full: every write to stdout blocks from then on, as under `service | less`
/// left unscrolled, or a terminal paused with Ctrl-S.
#[cfg(unix)]
pub fn start_stalling_stdout_after(bin: &str, envs: &[(&str, &str)], prefix: &str) -> Service {
    launch(
        bin,
        &[],
        envs,
        Stderr::Read,
        Stdout::StallAfter(prefix.to_owned()),
    )
}

/// What becomes of a child's stdout.
enum Stdout {
    /// Read line by line to the end.
    Read,
    /// Closed once a line starting with this has been read.
    CloseAfter(String),
    /// Left unread, and kept full, once a line starting with this has been read.
    #[cfg(unix)]
    StallAfter(String),
}

/// What becomes of a child's stderr.
enum Stderr {
    /// Read to the end, for [`Exited::stderr`].
    Read,
    /// Closed at once.
    Closed,
    /// Held open, never read.
    Unread,
}

fn launch(
    bin: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    stderr_is: Stderr,
    stdout_is: Stdout,
) -> Service {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    launch_command(cmd, envs, stderr_is, stdout_is)
}

/// Starts `cmd` (made ready by the caller: arguments, what happens before the program
/// runs) as [`start`] does, its stdout and stderr read.
pub fn start_command(cmd: Command, envs: &[(&str, &str)]) -> Service {
    launch_command(cmd, envs, Stderr::Read, Stdout::Read)
}

fn launch_command(
    mut cmd: Command,
    envs: &[(&str, &str)],
    stderr_is: Stderr,
    stdout_is: Stdout,
) -> Service {
    let bin = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    // A stdout to stall is a pipe of the test's own: it keeps a write end to fill it.
    #[cfg(unix)]
    let stall = match &stdout_is {
        Stdout::StallAfter(_) => {
            let (read, write) = stall::pipe();
            cmd.stdout(write.try_clone().expect("a second write end"));
            Some((read, write))
        }
        _ => None,
    };
    #[cfg(not(unix))]
    let stall: Option<(std::fs::File, std::fs::File)> = None;
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let (tx, lines) = channel();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let (out, filler): (Box<dyn Read + Send>, _) = match stall {
        Some((read, write)) => (Box::new(read), Some(write)),
        None => (Box::new(child.stdout.take().unwrap()), None),
    };
    let seen = stdout.clone();
    let (release, released) = channel::<()>();
    let out_reader = thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut line = String::new();
        while matches!(out.read_line(&mut line), Ok(n) if n > 0) {
            let text = line.trim_end_matches('\n').to_owned();
            line.clear();
            seen.lock().unwrap().push(text.clone());
            let last = match &stdout_is {
                Stdout::Read => false,
                Stdout::CloseAfter(prefix) => text.starts_with(prefix.as_str()),
                #[cfg(unix)]
                Stdout::StallAfter(prefix) => text.starts_with(prefix.as_str()),
            };
            let _ = tx.send(text);
            if last {
                if let Some(filler) = filler {
                    #[cfg(unix)]
                    stall::fill(filler);
                    #[cfg(not(unix))]
                    drop(filler);
                    // Unread until the service is done with; then the read end goes, and
                    // the filler's write fails and ends it.
                    let _ = released.recv();
                }
                // The reader goes, and the pipe's read end with it.
                return;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let mut readers = vec![out_reader];
    let mut unread_stderr = None;
    match stderr_is {
        Stderr::Read => {
            let errors = stderr.clone();
            readers.push(thread::spawn(move || {
                // As it comes, for `wait_for_stderr`; a line cut between two reads is
                // whole once both are in.
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    let complete = match std::str::from_utf8(&pending) {
                        Ok(text) => text.len(),
                        Err(e) => e.valid_up_to(),
                    };
                    let text = String::from_utf8_lossy(&pending[..complete]).into_owned();
                    errors.lock().unwrap().push_str(&text);
                    pending.drain(..complete);
                }
                errors
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&pending));
            }));
        }
        Stderr::Closed => drop(err),
        Stderr::Unread => unread_stderr = Some(err),
    }
    Service {
        child,
        lines,
        stdout,
        stderr,
        _unread_stderr: unread_stderr,
        _release_stdout: release,
        readers,
        signalled_at: None,
    }
}

impl Service {
    /// The process id of the child.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether stderr holds `needle` by now.
    pub fn stderr_has(&self, needle: &str) -> bool {
        self.stderr.lock().unwrap().contains(needle)
    }

    /// How many times stderr holds `needle` by now.
    pub fn stderr_count(&self, needle: &str) -> usize {
        self.stderr.lock().unwrap().matches(needle).count()
    }

    /// Waits until stderr holds `needle`.
    pub fn wait_for_stderr(&mut self, needle: &str) {
        self.wait_for_stderr_times(needle, 1);
    }

    /// Waits until stderr holds `needle` at least `times` times.
    pub fn wait_for_stderr_times(&mut self, needle: &str, times: usize) {
        let until = Instant::now() + PATIENCE;
        while self.stderr_count(needle) < times {
            if Instant::now() >= until {
                let _ = self.child.kill();
                panic!(
                    "not {times} {needle:?} on the service's stderr; stdout: {:#?}\nstderr: {}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for a stdout line starting with `prefix`.
    pub fn wait_for(&mut self, prefix: &str) {
        let until = Instant::now() + PATIENCE;
        loop {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.starts_with(prefix) => return,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    thread::sleep(Duration::from_millis(100));
                    panic!(
                        "no line {prefix:?} from the service; stdout: {:#?}\nstderr: {}",
                        self.stdout.lock().unwrap(),
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Sends a real signal (`TERM`, `INT`, `HUP`, `KILL`) with `kill(1)`.
    pub fn signal(&mut self, name: &str) {
        self.signalled_at.get_or_insert_with(Instant::now);
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) is available");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit and returns what the service did.
    pub fn exited(mut self) -> Exited {
        let started = Instant::now();
        let Some(status) = self.exit_status_within(PATIENCE) else {
            let _ = self.child.kill();
            panic!(
                "the service did not exit within {PATIENCE:?}; stdout: {:#?}\nstderr: {}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
        };
        let elapsed = self.signalled_at.unwrap_or(started).elapsed();
        // A stalled stdout's reader lets go; the others finish once the pipes close with
        // the process. Unless a process it started holds them still (the new process of
        // an upgrade in place writes to the same pipes): then what the exited one wrote
        // has been read within a moment, and the readers go on for the others.
        let (release, _) = channel();
        drop(std::mem::replace(&mut self._release_stdout, release));
        let until = Instant::now() + INHERITED_PIPES;
        for reader in self.readers.drain(..) {
            while !reader.is_finished() && Instant::now() < until {
                thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        Exited {
            code: status.code(),
            stdout,
            stderr,
            elapsed,
        }
    }

    /// The exit code, if the service exits within `limit`; `None` if it was still
    /// running then, and was killed.
    pub fn exit_within(mut self, limit: Duration) -> Option<i32> {
        // Dropped while it runs, the service is killed.
        self.exit_status_within(limit)?.code()
    }

    fn exit_status_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Asserts that a stream (`ticks` messages after the signal, ended `ended_after` it) was
/// served through the drain delay and the teardown and ended at the hard stop, a margin
/// before `deadline`; then that `svc` exits cleanly, in time. Returns how it exited.
#[track_caller]
pub fn assert_ended_at_the_hard_stop(
    svc: Service,
    deadline: Duration,
    ticks: usize,
    ended_after: Duration,
) -> Exited {
    assert!(ticks >= 3, "the stream stopped early: {ticks} ticks");
    assert!(
        ended_after >= deadline - Duration::from_secs(1) && ended_after < deadline,
        "ended after {ended_after:?}, not a margin before the deadline ({deadline:?})"
    );
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("exit code 0 (clean)");
    assert!(
        out.elapsed < deadline + Duration::from_secs(1),
        "took {:?}",
        out.elapsed
    );
    out
}

/// One move of a test against a running service.
pub enum Step<'a> {
    /// Wait for a stdout line starting with this.
    Line(&'a str),
    /// Send this signal (`TERM`, `INT`, `HUP`).
    Signal(&'a str),
}

/// Starts `bin`, waits until it is `ready`, plays `steps`, and returns how it exited.
pub fn scripted(bin: &str, envs: &[(&str, &str)], steps: &[Step<'_>]) -> Exited {
    let mut svc = start(bin, envs);
    svc.wait_for("ready");
    for step in steps {
        match step {
            Step::Line(prefix) => svc.wait_for(prefix),
            Step::Signal(name) => svc.signal(name),
        }
    }
    svc.exited()
}

/// Starts `bin`, waits until it is `ready`, sends `signal` and returns how it exited.
pub fn stopped_by(bin: &str, signal: &str, envs: &[(&str, &str)]) -> Exited {
    scripted(bin, envs, &[Step::Signal(signal)])
}

#[cfg(unix)]
pub mod activation;
mod cleanup;
mod examples;
pub mod h2;
pub mod http;
mod poll;
#[cfg(unix)]
mod stall;
#[cfg(target_os = "linux")]
pub mod upgrade;
pub use {examples::example, examples::start_server, poll::eventually};
