//! Unix: signals received on a thread of their own (signal-hook), so that a second one
//! is seen even when every runtime thread is blocked.

use std::time::{Duration, Instant};

use super::Signal;
pub(super) use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// Two deliveries of one signal closer than this are one: a signal sent to a process
/// group as well as to the process (GNU `timeout` does both) arrives twice within
/// microseconds, and must not count as the second signal that forces the exit. No one
/// presses Ctrl-C twice this fast.
const ONE_DELIVERY: Duration = Duration::from_millis(50);

pub(super) fn listen(
    signals: &[Signal],
    on_signal: impl Fn(Signal) + Send + Sync + 'static,
) -> Result<(), String> {
    let mut numbers = Vec::with_capacity(signals.len());
    for &signal in signals {
        match signal.number() {
            Some(n) => numbers.push((n, signal)),
            None => return Err(format!("{signal} is not available on this platform")),
        }
    }
    let mut deliveries = signal_hook::iterator::Signals::new(numbers.iter().map(|(n, _)| *n))
        .map_err(|e| format!("cannot listen for {}: {e}", list(signals)))?;
    std::thread::Builder::new()
        .name("graceful-signals".into())
        .spawn(move || {
            let mut last: Option<(i32, Instant)> = None;
            for delivered in deliveries.forever() {
                let now = Instant::now();
                if matches!(last, Some((n, at)) if n == delivered && now - at < ONE_DELIVERY) {
                    continue;
                }
                last = Some((delivered, now));
                if let Some((_, signal)) = numbers.iter().find(|(n, _)| *n == delivered) {
                    on_signal(*signal);
                }
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(())
}

fn list(signals: &[Signal]) -> String {
    signals
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}
