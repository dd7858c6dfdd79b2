//! A subject: a program the benchmark starts, signals, and times to its exit.
//!
//! A subject prints `ready` on stdout once its signal handlers are in place; what else it
//! prints is read line by line, each with the time it was read.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::{clock, fail};

/// How long a subject may take to say `ready`.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// How long the last lines of a subject that has ended may take to be read.
const LAST_LINES_PATIENCE: Duration = Duration::from_secs(5);

/// After `ready`, before the signal: room for a subject's last set-up (a peer may install
/// its handlers from a task that has not run yet) and for its threads to go idle.
pub const SETTLE: Duration = Duration::from_millis(100);

/// A subject started by a benchmark: its stdout read line by line, its exit awaited.
pub struct Subject {
    name: String,
    pid: i32,
    lines: Receiver<String>,
    exited: Receiver<(u64, ExitStatus)>,
}

/// How a subject ended after a signal.
#[derive(Debug)]
pub enum Ended {
    /// It exited on its own.
    Exited {
        /// When it exited, on [`clock`](crate::clock).
        at_ns: u64,
        /// How it exited.
        status: ExitStatus,
    },
    /// It was still running when the patience ran out, and was killed.
    Hung,
}

impl Subject {
    /// Starts `bin` (a path from `env!("CARGO_BIN_EXE_..")`) and waits for `ready`.
    /// stderr is discarded: writing it is part of what a subject does, reading it is not.
    pub fn start(bin: &str, args: &[&str], envs: &[(&str, &str)]) -> Subject {
        if cfg!(not(unix)) {
            crate::unix_only("kill(2), to signal the programs it measures");
        }
        let name = bin.rsplit('/').next().unwrap_or(bin).to_owned();
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env_remove("RUST_LOG")
            .env_remove("GRACEFUL_DEADLINE")
            .env_remove("GRACEFUL_DRAIN_DELAY")
            .env_remove("GRACEFUL_REPORT")
            .env_remove("NOTIFY_SOCKET");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {bin}: {e}")));
        let pid = i32::try_from(child.id()).expect("a pid fits in i32");
        let (line_tx, lines) = channel();
        let out = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // A thread of its own blocks in waitpid and reads the clock as soon as it returns.
        let (exit_tx, exited) = channel();
        thread::spawn(move || {
            let status = child.wait().expect("waitpid on a child of ours");
            let _ = exit_tx.send((clock::now_ns(), status));
        });
        let subject = Subject {
            name,
            pid,
            lines,
            exited,
        };
        subject.wait_for_line("ready", START_PATIENCE);
        subject
    }

    /// Names it in the benchmark's messages as `name` rather than its program's file name
    /// (which mode of a program, on which source).
    pub fn named(mut self, name: impl Into<String>) -> Subject {
        self.name = name.into();
        self
    }

    /// The file name of its program, or the name [`named`](Subject::named) gave it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lines the subject printed after `ready`, as they come.
    pub fn lines(&self) -> &Receiver<String> {
        &self.lines
    }

    /// Waits for a line that starts with `prefix`; a subject that exits or stays silent
    /// stops the benchmark with a message.
    pub fn wait_for_line(&self, prefix: &str, patience: Duration) -> String {
        loop {
            match self.lines.recv_timeout(patience) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    fail(&format!(
                        "{} printed no {prefix:?} line within {patience:?}",
                        self.name
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => fail(&format!(
                    "{} closed its stdout before printing {prefix:?}",
                    self.name
                )),
            }
        }
    }

    /// Peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_else(|e| fail(&format!("cannot read {}'s status: {e}", self.name)));
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| fail(&format!("no VmHWM in {}'s status", self.name)));
        kib * 1024
    }

    /// The CPU time it has used so far, user and system, every thread: `/proc/<pid>/stat`,
    /// in ticks of 10 ms (Linux's `USER_HZ`, 100 everywhere).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .unwrap_or_else(|e| fail(&format!("cannot read {}'s stat: {e}", self.name)));
        // Fields 14 and 15, counted after the command's closing parenthesis (field 2).
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
            .into_iter()
            .flatten()
            .map(|t| t.parse::<u64>().unwrap_or(0))
            .sum();
        Duration::from_millis(ticks * 10)
    }

    /// Sends `SIGTERM`; returns when it was sent (monotonic ns, read just before `kill`).
    pub fn terminate(&self) -> u64 {
        let at = clock::now_ns();
        send(self.pid, Signal::Term);
        at
    }

    /// Waits up to `patience` for the exit; kills a subject that is still running.
    pub fn ended(self, patience: Duration) -> Ended {
        self.wait_for_exit(patience)
    }

    /// [`Subject::ended`], keeping the subject: its stdout is still read, for what the
    /// processes it started print there (an upgrade in place hands them its stdout).
    pub fn wait_for_exit(&self, patience: Duration) -> Ended {
        match self.exited.recv_timeout(patience) {
            Ok((at_ns, status)) => Ended::Exited { at_ns, status },
            Err(_) => {
                self.kill();
                let _ = self.exited.recv_timeout(Duration::from_secs(10));
                Ended::Hung
            }
        }
    }

    /// Waits for the exit like [`Subject::ended`], and returns with it every line the
    /// subject printed after `ready` that [`Subject::lines`] has not handed out: all it
    /// said, up to its last line before the exit.
    pub fn ended_with_lines(mut self, patience: Duration) -> (Ended, Vec<String>) {
        let lines = std::mem::replace(&mut self.lines, channel().1);
        let name = self.name.clone();
        let ended = self.ended(patience);
        let mut said = Vec::new();
        // The reader ends at the end of the pipe, which the exit (or the kill) closes.
        loop {
            match lines.recv_timeout(LAST_LINES_PATIENCE) {
                Ok(line) => said.push(line),
                Err(RecvTimeoutError::Disconnected) => return (ended, said),
                Err(RecvTimeoutError::Timeout) => fail(&format!(
                    "{name}'s stdout stayed open {LAST_LINES_PATIENCE:?} after it ended"
                )),
            }
        }
    }

    /// Sends SIGTERM and times the exit, which must be a success: the time from the
    /// signal to the exit, in seconds.
    pub fn terminate_and_time(self, patience: Duration) -> f64 {
        let name = self.name.clone();
        let sent = self.terminate();
        match self.ended(patience) {
            Ended::Exited { at_ns, status } if status.success() => (at_ns - sent) as f64 / 1e9,
            Ended::Exited { status, .. } => {
                fail(&format!("{name} ended with {status} after SIGTERM"))
            }
            Ended::Hung => fail(&format!(
                "{name} had not exited {patience:?} after SIGTERM, and was killed"
            )),
        }
    }

    fn kill(&self) {
        send(self.pid, Signal::Kill);
    }
}

/// The signals a benchmark sends its subjects.
#[derive(Clone, Copy, Debug)]
pub enum Signal {
    /// `SIGTERM`: stop.
    Term,
    /// `SIGHUP`: upgrade in place, to a subject that opted in.
    Hup,
    /// `SIGKILL`.
    Kill,
}

/// Sends `signal` to `pid` with `kill(2)`: a subject, or a process a subject started (the
/// new process of an upgrade in place). A failure is printed, not fatal: the benchmark
/// sees what the process then does, or does not do.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn send(pid: i32, signal: Signal) {
    let signal = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Hup => libc::SIGHUP,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The pid is a
    // child of ours, or a descendant this process reaps, whose exit has not been seen yet.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        eprintln!(
            "benchmark: kill({pid}, {signal}) failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Unix only: elsewhere, the program stops with a message.
#[cfg(not(unix))]
pub fn send(_: i32, _: Signal) {
    crate::unix_only("kill(2), to signal the programs it measures")
}
