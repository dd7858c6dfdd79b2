//! Windows: the console events, received by tokio tasks.

use super::Signal;
use tokio::signal::windows;

// The conventional numbers, for the exit code of a forced stop.
pub(super) const SIGINT: i32 = 2;
pub(super) const SIGTERM: i32 = 15;
pub(super) const SIGHUP: i32 = 1;
pub(super) const SIGQUIT: i32 = 3;
pub(super) const SIGUSR1: i32 = 10;
pub(super) const SIGUSR2: i32 = 12;

enum Listener {
    CtrlC(windows::CtrlC),
    CtrlBreak(windows::CtrlBreak),
    CtrlClose(windows::CtrlClose),
    CtrlShutdown(windows::CtrlShutdown),
}

impl Listener {
    fn new(sig: Signal) -> std::io::Result<Self> {
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

    async fn recv(&mut self) -> bool {
        match self {
            Listener::CtrlC(s) => s.recv().await.is_some(),
            Listener::CtrlBreak(s) => s.recv().await.is_some(),
            Listener::CtrlClose(s) => s.recv().await.is_some(),
            Listener::CtrlShutdown(s) => s.recv().await.is_some(),
        }
    }
}

pub(super) fn listen(
    signals: &[Signal],
    on_signal: impl Fn(Signal) + Send + Sync + 'static,
) -> Result<(), String> {
    let on_signal = std::sync::Arc::new(on_signal);
    for &signal in signals {
        let mut listener =
            Listener::new(signal).map_err(|e| format!("cannot listen for {signal}: {e}"))?;
        let on_signal = on_signal.clone();
        tokio::spawn(async move {
            while listener.recv().await {
                on_signal(signal);
            }
        });
    }
    Ok(())
}
