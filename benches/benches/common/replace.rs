//! A service put through new binaries, the way a deploy does it: an upgrade in place
//! (deploy the fresh binary by rename, `SIGHUP`) or a restart (`SIGTERM`, wait for the
//! exit, start again). Every generation's exit is waited for and must be 0: the first is
//! this process's child, the later ones are reaped here as orphans (the benchmark is the
//! subreaper). Shared by the `upgrade` and `consume` benchmarks.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use graceful_benches as support;
use graceful_process_tests::upgrade::{deploy, exit_code, scratch};
use support::subject::{self, Ended, Signal, Subject};

/// How long a process may take to start, hand over or exit.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The two ways to put a new binary in service.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Upgrade,
    Restart,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Upgrade => "upgrade",
            Mode::Restart => "restart",
        }
    }
}

/// The generations of a subject: the first is a child of this process, with its stdout
/// (which every later one inherits); the later ones are reaped here as orphans.
struct Generations {
    first: Subject,
    current: u32,
}

impl Generations {
    fn start(bin: &str, envs: &[(&str, &str)]) -> Generations {
        let first = Subject::start(bin, &[], envs);
        let current = first.pid() as u32;
        Generations { first, current }
    }

    /// Waits for `pid`'s exit, which must be 0.
    fn exited(&self, pid: u32) {
        let name = self.first.name().to_owned();
        if pid == self.first.pid() as u32 {
            match self.first.wait_for_exit(PATIENCE) {
                Ended::Exited { status, .. } if status.success() => {}
                other => support::fail(&format!("{name} (pid {pid}) did not exit 0: {other:?}")),
            }
        } else {
            match exit_code(pid, PATIENCE) {
                Some(0) => {}
                Some(code) => support::fail(&format!("{name} (pid {pid}) exited {code}")),
                None => {
                    subject::send(pid as i32, Signal::Kill);
                    support::fail(&format!(
                        "{name} (pid {pid}) had not exited after {PATIENCE:?}"
                    ))
                }
            }
        }
    }

    /// Stops the current generation, which must exit 0.
    fn stop(self) {
        subject::send(self.current as i32, Signal::Term);
        self.exited(self.current);
    }
}

/// The running subject of one mode, and the way it is replaced.
pub(crate) struct Service {
    mode: Mode,
    bin: &'static str,
    envs: Vec<(&'static str, String)>,
    /// Upgrade: the path it runs from, where each new binary is deployed.
    path: Option<(PathBuf, PathBuf)>,
    generations: Generations,
}

impl Service {
    pub(crate) fn start(
        mode: Mode,
        bin: &'static str,
        envs: Vec<(&'static str, String)>,
    ) -> Service {
        let (path, started) = match mode {
            Mode::Upgrade => {
                let dir = scratch(&format!("bench-{}", file_name(bin)));
                let path = dir.join(file_name(bin));
                deploy(bin, &path);
                (Some((dir, path.clone())), path)
            }
            Mode::Restart => (None, PathBuf::from(bin)),
        };
        let generations =
            Generations::start(started.to_str().expect("a UTF-8 path"), &borrow(&envs));
        Service {
            mode,
            bin,
            envs,
            path,
            generations,
        }
    }

    pub(crate) fn lines(&self) -> &Subject {
        &self.generations.first
    }

    /// Puts a new process in service; returns when the signal went, and the new pid, once
    /// the new process said `ready` and the old one exited 0.
    pub(crate) fn replace(&mut self) -> (Instant, u32) {
        let old = self.generations.current;
        match self.mode {
            Mode::Upgrade => {
                let (_, path) = self.path.as_ref().expect("an upgraded service's path");
                deploy(self.bin, path);
                let at = Instant::now();
                subject::send(old as i32, Signal::Hup);
                let line = self.generations.first.wait_for_line("ready ", PATIENCE);
                let new = line["ready ".len()..]
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| support::fail(&format!("no pid in {line:?}")));
                self.generations.exited(old);
                self.generations.current = new;
                (at, new)
            }
            Mode::Restart => {
                let at = Instant::now();
                subject::send(old as i32, Signal::Term);
                self.generations.exited(old);
                self.generations = Generations::start(self.bin, &borrow(&self.envs));
                (at, self.generations.current)
            }
        }
    }

    /// The process in service now.
    pub(crate) fn current(&self) -> u32 {
        self.generations.current
    }

    /// Deploys a fresh copy of the binary at the path an upgraded service runs from.
    pub(crate) fn deploy(&self) {
        let (_, path) = self.path.as_ref().expect("an upgraded service's path");
        deploy(self.bin, path);
    }

    /// `new` serves now, and `old` must exit 0: an upgrade asked for from outside.
    pub(crate) fn handed_over(&mut self, old: u32, new: u32) {
        self.generations.exited(old);
        self.generations.current = new;
    }

    pub(crate) fn stop(self) {
        self.generations.stop();
        if let Some((dir, _)) = self.path {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn file_name(bin: &str) -> &str {
    Path::new(bin)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(bin)
}

fn borrow<'a>(envs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sleeps until `at`.
pub(crate) fn until(at: Instant) {
    thread::sleep(at.saturating_duration_since(Instant::now()));
}
