//! The signals that start a shutdown, and listening for them.

use std::fmt;

use crate::shared::signals::SIGNALS;

/// A process signal (or Windows console event) that can start a shutdown.
///
/// Chosen with `#[graceful::main(signals = [...])]` by name: `"SIGINT"`, `"SIGTERM"`,
/// `"SIGHUP"`, `"SIGQUIT"`, `"SIGUSR1"`, `"SIGUSR2"` on Unix; `"ctrl_c"`, `"ctrl_break"`,
/// `"ctrl_close"`, `"ctrl_shutdown"` on Windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGINT`: Ctrl-C in a terminal.
    Interrupt,
    /// `SIGTERM`: the polite stop sent by Kubernetes, systemd, `docker stop` and `kill`.
    Terminate,
    /// `SIGHUP`: the controlling terminal went away.
    Hangup,
    /// `SIGQUIT`: Ctrl-\ in a terminal.
    Quit,
    /// `SIGUSR1`.
    User1,
    /// `SIGUSR2`.
    User2,
    /// Windows: Ctrl-C in the console.
    CtrlC,
    /// Windows: Ctrl-Break in the console.
    CtrlBreak,
    /// Windows: the console window is being closed.
    CtrlClose,
    /// Windows: the system is shutting down.
    CtrlShutdown,
}

impl Signal {
    /// Every signal, in the order of the attribute's documentation. A slice, like
    /// [`DEFAULT`](Signal::DEFAULT): a signal added later does not change its type.
    pub const ALL: &'static [Signal] = &[
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Hangup,
        Signal::Quit,
        Signal::User1,
        Signal::User2,
        Signal::CtrlC,
        Signal::CtrlBreak,
        Signal::CtrlClose,
        Signal::CtrlShutdown,
    ];

    /// The signals that start a shutdown when none are named: `SIGINT` and `SIGTERM` on
    /// Unix; Ctrl-C, Ctrl-Break, close and shutdown on Windows.
    pub const DEFAULT: &'static [Signal] = if cfg!(windows) {
        &[
            Signal::CtrlC,
            Signal::CtrlBreak,
            Signal::CtrlClose,
            Signal::CtrlShutdown,
        ]
    } else {
        &[Signal::Interrupt, Signal::Terminate]
    };

    /// The name used in the attribute and in logs (`"SIGTERM"`, `"ctrl_c"`).
    pub const fn name(self) -> &'static str {
        // The table the attribute checks names against, indexed by declaration order.
        SIGNALS[self as usize].0
    }

    /// The signal with that name, as written in the attribute.
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The Unix signal number on this platform (`SIGTERM` is 15), or `None` for a Windows
    /// console event.
    pub const fn number(self) -> Option<i32> {
        match self {
            Signal::Interrupt => Some(os::SIGINT),
            Signal::Terminate => Some(os::SIGTERM),
            Signal::Hangup => Some(os::SIGHUP),
            Signal::Quit => Some(os::SIGQUIT),
            Signal::User1 => Some(os::SIGUSR1),
            Signal::User2 => Some(os::SIGUSR2),
            Signal::CtrlC | Signal::CtrlBreak | Signal::CtrlClose | Signal::CtrlShutdown => None,
        }
    }

    /// The exit code of a process forced to stop by this signal arriving a second time:
    /// 128 + the signal number, as a shell reports death by that signal (130 for `SIGINT`,
    /// 143 for `SIGTERM`). Windows console events use 130.
    pub const fn forced_exit_code(self) -> i32 {
        match self.number() {
            Some(n) => 128 + n,
            None => 130,
        }
    }

    /// Whether this platform can deliver the signal.
    pub const fn is_supported(self) -> bool {
        match self {
            Signal::Interrupt
            | Signal::Terminate
            | Signal::Hangup
            | Signal::Quit
            | Signal::User1
            | Signal::User2 => cfg!(unix),
            Signal::CtrlC | Signal::CtrlBreak | Signal::CtrlClose | Signal::CtrlShutdown => {
                cfg!(windows)
            }
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Calls `on_signal` for each delivery of one of `signals`, from now on.
///
/// On Unix the signals are received on a thread of their own, independent of the tokio
/// runtime: a second signal is seen even when every runtime thread is blocked. On Windows
/// the console events are received by tokio tasks, so this must be called inside a
/// runtime. Returns an error naming a signal that could not be installed.
pub(crate) fn listen(
    signals: &[Signal],
    on_signal: impl Fn(Signal) + Send + Sync + 'static,
) -> Result<(), String> {
    os::listen(signals, on_signal)
}

#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_table_follows_the_declaration_order() {
        assert_eq!(Signal::ALL.len(), SIGNALS.len());
        for (i, &signal) in Signal::ALL.iter().enumerate() {
            assert_eq!(signal as usize, i);
            assert_eq!(format!("{signal:?}"), SIGNALS[i].1);
        }
    }

    #[test]
    fn names_round_trip() {
        for &s in Signal::ALL {
            assert_eq!(Signal::from_name(s.name()), Some(s));
        }
        assert_eq!(Signal::from_name("SIGKILL"), None);
    }

    #[test]
    fn forced_exit_codes_follow_the_shell_convention() {
        assert_eq!(Signal::Interrupt.forced_exit_code(), 130);
        assert_eq!(Signal::Terminate.forced_exit_code(), 143);
        assert_eq!(Signal::Hangup.forced_exit_code(), 129);
    }
}
