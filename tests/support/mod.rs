//! Starting a fixture service as a child process, signalling it and reading what it did.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a child before calling it stuck. Generous: CI machines are slow.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

pub(crate) struct Service {
    child: std::process::Child,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
    signalled_at: Option<Instant>,
}

/// What the service did, once it exited.
#[derive(Debug)]
pub(crate) struct Exited {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: String,
    /// From the first signal sent (or the start) to the exit.
    pub(crate) elapsed: Duration,
}

impl Exited {
    /// The index of the first stdout line that starts with `prefix`.
    pub(crate) fn line(&self, prefix: &str) -> usize {
        self.stdout
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no stdout line starts with {prefix:?}:\n{self:#?}"))
    }

    pub(crate) fn has_line(&self, prefix: &str) -> bool {
        self.stdout.iter().any(|l| l.starts_with(prefix))
    }

    /// Asserts that stderr holds `needle`, showing stderr otherwise.
    #[track_caller]
    pub(crate) fn assert_stderr(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
    }
}

/// Starts the binary of this package named `bin`, with extra environment variables.
pub(crate) fn start(bin: &str, envs: &[(&str, &str)]) -> Service {
    launch(bin, envs, true)
}

/// Starts `bin` with a stderr whose reader is gone at once, so that every write to it
/// fails, as under `service 2>&1 | head -1` once `head` has exited.
pub(crate) fn start_with_stderr_closed(bin: &str, envs: &[(&str, &str)]) -> Service {
    launch(bin, envs, false)
}

fn launch(bin: &str, envs: &[(&str, &str)], read_stderr: bool) -> Service {
    let mut cmd = Command::new(bin);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let (tx, lines) = channel();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let seen = stdout.clone();
    let out_reader = thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            seen.lock().unwrap().push(line.clone());
            let _ = tx.send(line);
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let mut readers = vec![out_reader];
    if read_stderr {
        let errors = stderr.clone();
        readers.push(thread::spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            errors.lock().unwrap().push_str(&buf);
        }));
    } else {
        drop(err);
    }
    Service {
        child,
        lines,
        stdout,
        stderr,
        readers,
        signalled_at: None,
    }
}

impl Service {
    /// Waits for a stdout line starting with `prefix`.
    pub(crate) fn wait_for(&mut self, prefix: &str) {
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
    pub(crate) fn signal(&mut self, name: &str) {
        self.signalled_at.get_or_insert_with(Instant::now);
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) is available");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit and returns what the service did.
    pub(crate) fn exited(mut self) -> Exited {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!(
                    "the service did not exit within {PATIENCE:?}; stdout: {:#?}\nstderr: {}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.signalled_at.unwrap_or(started).elapsed();
        // The readers finish once the pipes close with the process.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
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
}

/// One move of a test against a running service.
pub(crate) enum Step<'a> {
    /// Wait for a stdout line starting with this.
    Line(&'a str),
    /// Send this signal (`TERM`, `INT`, `HUP`).
    Signal(&'a str),
}

/// Starts `bin`, waits until it is `ready`, plays `steps`, and returns how it exited.
pub(crate) fn scripted(bin: &str, envs: &[(&str, &str)], steps: &[Step<'_>]) -> Exited {
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
pub(crate) fn stopped_by(bin: &str, signal: &str, envs: &[(&str, &str)]) -> Exited {
    scripted(bin, envs, &[Step::Signal(signal)])
}

mod cleanup;
mod examples;
pub(crate) mod http;
mod poll;
#[allow(unused_imports)] // each test file uses a part
pub(crate) use {examples::example, poll::eventually};
