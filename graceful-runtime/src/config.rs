//! What `#[graceful::main(...)]` configures: the shutdown budget and the runtime.

use std::time::Duration;

use crate::Signal;

/// The default shutdown deadline: Kubernetes' default grace period.
pub(crate) const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The time an `always` hook without a `timeout` gets once the deadline has passed.
pub(crate) const ALWAYS_DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest duration the shutdown works with: longer timeouts are capped to it, and a
/// longer deadline is a configuration error (an instant that far ahead may not exist).
pub(crate) const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);

/// `start + d`, with `d` capped at [`LONGEST`].
pub(crate) fn after(start: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    start + d.min(LONGEST)
}

/// How the program and its shutdown are set up. Built by `#[graceful::main]`.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) deadline: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) signals: &'static [Signal],
    pub(crate) current_thread: bool,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) tasks_order: i32,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// Deadline 30 s, no drain delay, the platform's default signals, a multi-thread
    /// runtime, tracked tasks drained at order 0.
    pub const fn new() -> Self {
        Config {
            deadline: DEFAULT_DEADLINE,
            drain_delay: Duration::ZERO,
            signals: Signal::DEFAULT,
            current_thread: false,
            worker_threads: None,
            tasks_order: 0,
        }
    }

    /// The whole shutdown budget, from the first signal to process exit.
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The time between the first signal and the start of teardown.
    pub const fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// The signals that start a shutdown.
    pub const fn signals(mut self, signals: &'static [Signal]) -> Self {
        self.signals = signals;
        self
    }

    /// Run on tokio's current-thread runtime.
    pub const fn current_thread(mut self) -> Self {
        self.current_thread = true;
        self
    }

    /// The number of worker threads of the multi-thread runtime.
    pub const fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = Some(threads);
        self
    }

    /// The order at which the built-in step waits for the body and the tracked tasks.
    pub const fn tasks_order(mut self, order: i32) -> Self {
        self.tasks_order = order;
        self
    }

    /// The margin before the deadline at which [`until_deadline`](crate::until_deadline)
    /// gives up: a tenth of the deadline, at most one second.
    pub(crate) fn hard_stop_margin(&self) -> Duration {
        (self.deadline / 10).min(Duration::from_secs(1))
    }

    /// Checks what the attribute cannot check at compile time.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.deadline.is_zero() {
            return Err("the shutdown deadline must be longer than zero".into());
        }
        if self.deadline > LONGEST {
            return Err(format!(
                "the shutdown deadline ({:?}) is longer than a year; no orchestrator waits that long",
                self.deadline
            ));
        }
        if self.drain_delay >= self.deadline {
            return Err(format!(
                "the drain delay ({:?}) must be shorter than the deadline ({:?}): it counts against it",
                self.drain_delay, self.deadline
            ));
        }
        if self.signals.is_empty() {
            return Err("at least one signal must start the shutdown".into());
        }
        if let Some(s) = self.signals.iter().find(|s| !s.is_supported()) {
            return Err(format!("{s} is not available on this platform"));
        }
        if self.worker_threads == Some(0) {
            return Err("worker_threads must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_delay_must_leave_time_for_teardown() {
        let c = Config::new()
            .deadline(Duration::from_secs(5))
            .drain_delay(Duration::from_secs(5));
        assert!(c.validate().unwrap_err().contains("drain delay"));
        assert!(Config::new().validate().is_ok());
    }

    #[test]
    fn an_absurd_deadline_is_refused_instead_of_overflowing() {
        let c = Config::new().deadline(Duration::from_secs(u64::MAX));
        assert!(c.validate().unwrap_err().contains("longer than a year"));
    }

    #[test]
    fn margin_is_a_tenth_capped_at_one_second() {
        assert_eq!(Config::new().hard_stop_margin(), Duration::from_secs(1));
        let short = Config::new().deadline(Duration::from_secs(2));
        assert_eq!(short.hard_stop_margin(), Duration::from_millis(200));
    }
}
