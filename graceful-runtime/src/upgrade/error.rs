//! Why an upgrade in place did not happen.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why [`upgrade`](crate::upgrade) did not hand over. In every case this process goes on
/// serving; a new process that was started has been stopped (`SIGTERM`, then `SIGKILL`
/// after five seconds) and reaped.
///
/// Its `Display` says what went wrong in the upgrade; the cause beneath, where there is
/// one (the system's error, the new process's exit status), is its
/// [`source`](std::error::Error::source), so that a chain printed whole (anyhow's
/// `{:#}`, or walking `source()`) says each part once: `the new process (pid 4394)
/// ended before it said it was ready: exited with 3`.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The program did not opt in (`#[graceful::main(upgrade)]`,
    /// [`Main::upgrade`](crate::Main::upgrade)), or runs where upgrades do not exist.
    NotEnabled,
    /// Another upgrade is under way, to this process id once started.
    AlreadyUnderWay {
        /// The new process of that upgrade, once started.
        pid: Option<u32>,
    },
    /// This process was started by an upgrade, and the process it replaces still drains.
    PreviousStillDraining {
        /// The process that still drains.
        pid: u32,
    },
    /// The shutdown has started: there is nothing left to hand over.
    ShuttingDown,
    /// The binary could not be started.
    CannotStart {
        /// Where it was looked for.
        path: Option<PathBuf>,
        /// What was being done (`cannot hand the sockets over`; empty for the start
        /// itself), or, without a system's error, what went wrong.
        reason: String,
        /// The system's error, when there is one: the error's
        /// [`source`](std::error::Error::source).
        error: Option<io::Error>,
    },
    /// The new process ended before it said it was ready, or in the second after.
    Exited {
        /// Its id.
        pid: u32,
        /// How it ended, in words: `exited with 3`, `killed by SIGSEGV`, or `could not be
        /// waited for: …`.
        how: String,
        /// Its exit status, unless it could not be waited for: the error's
        /// [`source`](std::error::Error::source).
        exit: Option<ProcessExit>,
        /// Whether it had said it was ready: it ended in the second of probation after.
        after_ready: bool,
    },
    /// The new process closed its end of the channel without saying it was ready.
    ClosedWithoutReady {
        /// Its id.
        pid: u32,
    },
    /// The new process wrote on the upgrade's channel what it does not carry.
    BadChannel {
        /// Its id.
        pid: u32,
        /// What was wrong: `a line of more than 256 bytes`.
        reason: String,
    },
    /// The new process did not say it was ready in time.
    NotReady {
        /// Its id.
        pid: u32,
        /// The time it had (`GRACEFUL_UPGRADE_TIMEOUT`).
        after: Duration,
    },
    /// A stop signal (or another trigger of the shutdown) came during the upgrade: the new
    /// process was told to stop too.
    Stopped {
        /// The new process.
        pid: u32,
        /// How it ended: `exited with 0` once it has stopped as a service does.
        how: String,
        /// Its exit status, unless it could not be waited for: the error's
        /// [`source`](std::error::Error::source).
        exit: Option<ProcessExit>,
    },
}

/// How a process ended, as the [`source`](std::error::Error::source) of an
/// [`UpgradeError`]: its [`ExitStatus`], said as people say it (`exited with 3`,
/// `was killed by SIGSEGV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessExit(ExitStatus);

impl ProcessExit {
    /// The exit status, as the system gave it.
    pub fn status(&self) -> ExitStatus {
        self.0
    }
}

impl fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        return f.write_str(&how_it_ended(self.0));
        #[cfg(not(unix))]
        return write!(f, "ended ({})", self.0);
    }
}

impl std::error::Error for ProcessExit {}

/// How a process ended, in words and as the error's source; in words only when it could
/// not be waited for.
#[cfg(unix)]
pub(crate) fn ended(status: io::Result<ExitStatus>) -> (String, Option<ProcessExit>) {
    match status {
        Ok(status) => (how_it_ended(status), Some(ProcessExit(status))),
        Err(e) => (format!("could not be waited for: {e}"), None),
    }
}

impl UpgradeError {
    /// True when nothing was started: the trigger was refused.
    #[cfg(unix)]
    pub(crate) fn was_refused(&self) -> bool {
        matches!(
            self,
            UpgradeError::NotEnabled
                | UpgradeError::AlreadyUnderWay { .. }
                | UpgradeError::PreviousStillDraining { .. }
                | UpgradeError::ShuttingDown
        )
    }
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::NotEnabled => f.write_str(
                "upgrade in place is not enabled: use `#[graceful::main(upgrade)]` or \
                 `graceful::Main::new().upgrade(..)`, on Unix",
            ),
            UpgradeError::AlreadyUnderWay { pid: Some(pid) } => {
                write!(f, "an upgrade is under way already, to pid {pid}")
            }
            UpgradeError::AlreadyUnderWay { pid: None } => {
                f.write_str("an upgrade is under way already")
            }
            UpgradeError::PreviousStillDraining { pid } => write!(
                f,
                "the process this one replaced (pid {pid}) still drains: try again once it has exited"
            ),
            UpgradeError::ShuttingDown => f.write_str("the shutdown has started"),
            UpgradeError::CannotStart {
                path: Some(path),
                reason,
                ..
            } if reason.is_empty() => write!(f, "cannot start {}", path.display()),
            UpgradeError::CannotStart {
                path: Some(path),
                reason,
                ..
            } => write!(f, "cannot start {}: {reason}", path.display()),
            UpgradeError::CannotStart {
                path: None, reason, ..
            } => f.write_str(reason),
            // How it ended is the source, when it could be waited for.
            UpgradeError::Exited {
                pid,
                how,
                exit,
                after_ready,
            } => {
                let when = if *after_ready {
                    " right after it said it was ready"
                } else {
                    " before it said it was ready"
                };
                match exit {
                    Some(_) => write!(f, "the new process (pid {pid}) ended{when}"),
                    None => write!(f, "the new process (pid {pid}) {how}{when}"),
                }
            }
            UpgradeError::ClosedWithoutReady { pid } => write!(
                f,
                "the new process (pid {pid}) closed the upgrade's channel without saying it is \
                 ready; stopped"
            ),
            UpgradeError::BadChannel { pid, reason } => write!(
                f,
                "the new process (pid {pid}) wrote on the upgrade's channel what it does not \
                 carry ({reason}); stopped"
            ),
            UpgradeError::NotReady { pid, after } => write!(
                f,
                "the new process (pid {pid}) was not ready after {after:?}: did it call \
                 graceful::ready()? stopped (GRACEFUL_UPGRADE_TIMEOUT sets the time)"
            ),
            UpgradeError::Stopped {
                pid, exit: Some(_), ..
            } => write!(
                f,
                "a stop came during the upgrade: the new process (pid {pid}) was told to stop \
                 too"
            ),
            UpgradeError::Stopped { pid, how, .. } => write!(
                f,
                "a stop came during the upgrade: the new process (pid {pid}) was told to stop \
                 too, and {how}"
            ),
        }
    }
}

impl std::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpgradeError::CannotStart {
                error: Some(error), ..
            } => Some(error),
            UpgradeError::Exited {
                exit: Some(exit), ..
            }
            | UpgradeError::Stopped {
                exit: Some(exit), ..
            } => Some(exit),
            _ => None,
        }
    }
}

/// How a process ended, as people say it: `exited with 3`, `killed by SIGSEGV`.
#[cfg(unix)]
pub(crate) fn how_it_ended(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exited with {code}");
    }
    match status.signal() {
        Some(n) => format!("was killed by {}", signal_name(n)),
        None => format!("ended ({status})"),
    }
}

/// The name of a signal that ends processes, or its number.
#[cfg(unix)]
fn signal_name(n: i32) -> String {
    let name = match n {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {n}"),
    };
    name.to_owned()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn an_end_is_told_by_its_code_or_its_signal() {
        assert_eq!(
            how_it_ended(ExitStatusExt::from_raw(3 << 8)),
            "exited with 3"
        );
        assert_eq!(
            how_it_ended(ExitStatusExt::from_raw(libc::SIGSEGV)),
            "was killed by SIGSEGV"
        );
        assert_eq!(
            how_it_ended(ExitStatusExt::from_raw(77)),
            "was killed by signal 77"
        );
    }

    #[test]
    fn a_channel_that_carries_what_it_should_not_is_said() {
        let e = UpgradeError::BadChannel {
            pid: 42,
            reason: "a line of more than 256 bytes".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "the new process (pid 42) wrote on the upgrade's channel what it does not carry \
             (a line of more than 256 bytes); stopped"
        );
    }

    #[test]
    fn the_not_ready_message_asks_the_question_that_matters() {
        let e = UpgradeError::NotReady {
            pid: 42,
            after: Duration::from_secs(60),
        };
        assert_eq!(
            e.to_string(),
            "the new process (pid 42) was not ready after 60s: did it call graceful::ready()? \
             stopped (GRACEFUL_UPGRADE_TIMEOUT sets the time)"
        );
    }

    #[test]
    fn the_cause_is_the_source_and_the_chain_says_each_part_once() {
        use std::error::Error as _;
        let (how, exit) = ended(Ok(ExitStatusExt::from_raw(3 << 8)));
        let e = UpgradeError::Exited {
            pid: 42,
            how,
            exit,
            after_ready: false,
        };
        assert_eq!(
            e.to_string(),
            "the new process (pid 42) ended before it said it was ready"
        );
        let source = e.source().expect("the exit status is the source");
        let exit = source.downcast_ref::<ProcessExit>().unwrap();
        assert_eq!(exit.status().code(), Some(3));
        assert_eq!(
            crate::trigger::body::chain(&e),
            "the new process (pid 42) ended before it said it was ready: exited with 3"
        );

        let (how, exit) = ended(Ok(ExitStatusExt::from_raw(0)));
        let e = UpgradeError::Stopped { pid: 42, how, exit };
        assert_eq!(
            crate::trigger::body::chain(&e),
            "a stop came during the upgrade: the new process (pid 42) was told to stop too: \
             exited with 0"
        );

        // Not waited for: the words are all there is, and there is no source.
        let (how, exit) = ended(Err(io::Error::from_raw_os_error(libc::ECHILD)));
        let e = UpgradeError::Stopped { pid: 42, how, exit };
        assert!(
            e.to_string()
                .ends_with("and could not be waited for: No child processes (os error 10)"),
            "{e}"
        );
        assert!(e.source().is_none());

        let e = UpgradeError::CannotStart {
            path: Some("/srv/app".into()),
            reason: String::new(),
            error: Some(io::Error::from_raw_os_error(libc::ENOENT)),
        };
        assert_eq!(e.to_string(), "cannot start /srv/app");
        let source = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            crate::trigger::body::chain(&e),
            "cannot start /srv/app: No such file or directory (os error 2)"
        );
        let e = UpgradeError::CannotStart {
            path: Some("/srv/app".into()),
            reason: "cannot hand the sockets over".to_owned(),
            error: Some(io::Error::from_raw_os_error(libc::EBADF)),
        };
        assert_eq!(
            crate::trigger::body::chain(&e),
            "cannot start /srv/app: cannot hand the sockets over: Bad file descriptor (os error 9)"
        );
    }
}
