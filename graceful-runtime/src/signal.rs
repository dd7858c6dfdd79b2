//! The signals that start a shutdown, and listening for them.

use std::fmt;

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
    /// Every signal, in the order of the attribute's documentation.
    pub const ALL: [Signal; 10] = [
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
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
            Signal::Quit => "SIGQUIT",
            Signal::User1 => "SIGUSR1",
            Signal::User2 => "SIGUSR2",
            Signal::CtrlC => "ctrl_c",
            Signal::CtrlBreak => "ctrl_break",
            Signal::CtrlClose => "ctrl_close",
            Signal::CtrlShutdown => "ctrl_shutdown",
        }
    }

    /// The signal with that name, as written in the attribute.
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The Unix signal number (`SIGTERM` is 15), or `None` for a Windows console event.
    ///
    /// The numbers are the Linux and BSD ones for the signals listed here.
    pub const fn number(self) -> Option<i32> {
        match self {
            Signal::Interrupt => Some(2),
            Signal::Terminate => Some(15),
            Signal::Hangup => Some(1),
            Signal::Quit => Some(3),
            Signal::User1 => Some(if cfg!(target_os = "linux") { 10 } else { 30 }),
            Signal::User2 => Some(if cfg!(target_os = "linux") { 12 } else { 31 }),
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

/// Starts one listener task per signal; each delivery calls `on_signal`.
///
/// Must be called inside a tokio runtime. Returns an error naming the signal that could
/// not be installed (unsupported on this platform, or refused by the OS).
pub(crate) fn listen(
    signals: &[Signal],
    on_signal: impl Fn(Signal) + Send + Sync + Clone + 'static,
) -> Result<(), String> {
    for &signal in signals {
        let mut stream =
            os::Listener::new(signal).map_err(|e| format!("cannot listen for {signal}: {e}"))?;
        let on_signal = on_signal.clone();
        tokio::spawn(async move {
            while stream.recv().await {
                on_signal(signal);
            }
        });
    }
    Ok(())
}

#[cfg(unix)]
mod os {
    use super::Signal;
    use tokio::signal::unix::{signal, SignalKind};

    pub(super) struct Listener(tokio::signal::unix::Signal);

    impl Listener {
        pub(super) fn new(sig: Signal) -> std::io::Result<Self> {
            let kind = match sig {
                Signal::Interrupt => SignalKind::interrupt(),
                Signal::Terminate => SignalKind::terminate(),
                Signal::Hangup => SignalKind::hangup(),
                Signal::Quit => SignalKind::quit(),
                Signal::User1 => SignalKind::user_defined1(),
                Signal::User2 => SignalKind::user_defined2(),
                Signal::CtrlC | Signal::CtrlBreak | Signal::CtrlClose | Signal::CtrlShutdown => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Unsupported,
                        "Windows console events are not available on Unix",
                    ))
                }
            };
            signal(kind).map(Listener)
        }

        /// Waits for the next delivery; false once the listener is gone.
        pub(super) async fn recv(&mut self) -> bool {
            self.0.recv().await.is_some()
        }
    }
}

#[cfg(windows)]
mod os {
    use super::Signal;
    use tokio::signal::windows;

    pub(super) enum Listener {
        CtrlC(windows::CtrlC),
        CtrlBreak(windows::CtrlBreak),
        CtrlClose(windows::CtrlClose),
        CtrlShutdown(windows::CtrlShutdown),
    }

    impl Listener {
        pub(super) fn new(sig: Signal) -> std::io::Result<Self> {
            Ok(match sig {
                Signal::CtrlC => Listener::CtrlC(windows::ctrl_c()?),
                Signal::CtrlBreak => Listener::CtrlBreak(windows::ctrl_break()?),
                Signal::CtrlClose => Listener::CtrlClose(windows::ctrl_close()?),
                Signal::CtrlShutdown => Listener::CtrlShutdown(windows::ctrl_shutdown()?),
                _ => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Unsupported,
                        "Unix signals are not available on Windows",
                    ))
                }
            })
        }

        pub(super) async fn recv(&mut self) -> bool {
            match self {
                Listener::CtrlC(s) => s.recv().await.is_some(),
                Listener::CtrlBreak(s) => s.recv().await.is_some(),
                Listener::CtrlClose(s) => s.recv().await.is_some(),
                Listener::CtrlShutdown(s) => s.recv().await.is_some(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Signal::ALL {
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
