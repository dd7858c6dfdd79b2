//! What `#[graceful::main(...)]` and [`Main`](crate::Main) configure, what the
//! environment overrides, and the checks made before the body runs.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

mod duration;
pub(crate) mod env;
mod options;

use crate::shared::limits::{DEFAULT_DEADLINE, LONGEST};
use crate::trigger::Signal;
pub use duration::{parse_duration, DurationError};
use env::{EnvDuration, Environment};
pub use options::{Flavor, TaskPanic};

/// The time an `always` hook without a `timeout` gets once the deadline has passed.
pub(crate) const ALWAYS_DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long an upgrade in place waits for the new process to say it is ready, unless
/// `GRACEFUL_UPGRADE_TIMEOUT` says otherwise.
pub(crate) const DEFAULT_UPGRADE_TIMEOUT: Duration = Duration::from_secs(60);

/// The watchdog's slack past the deadline and the `always` hooks' time.
pub(crate) const WATCHDOG_SLACK: Duration = Duration::from_millis(500);

/// `start + d`, with `d` capped at [`LONGEST`].
pub(crate) fn after(start: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    start + d.min(LONGEST)
}

/// How the program and its shutdown are set up: what [`Main`](crate::Main) (and so
/// `#[graceful::main]`) sets, then what the environment overrides.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) deadline: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) signals: Cow<'static, [Signal]>,
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) tasks_order: i32,
    pub(crate) on_task_panic: TaskPanic,
    /// The `GRACEFUL_DEADLINE` that overrode the attribute, for messages.
    pub(crate) deadline_from_env: Option<EnvDuration>,
    /// The `GRACEFUL_DRAIN_DELAY` that overrode the attribute, for messages.
    pub(crate) drain_delay_from_env: Option<EnvDuration>,
    /// `GRACEFUL_GRACE_PERIOD`: the time the orchestrator gives before it kills.
    pub(crate) grace_period: Option<EnvDuration>,
    /// `GRACEFUL_REPORT`: where the report is written as JSON.
    pub(crate) report_path: Option<PathBuf>,
    /// The signal that starts an upgrade in place, if the program opted in.
    pub(crate) upgrade: Option<Signal>,
    /// How long an upgrade waits for the new process to be ready.
    pub(crate) upgrade_timeout: Duration,
    /// The `GRACEFUL_UPGRADE_TIMEOUT` that set it, for messages.
    pub(crate) upgrade_timeout_from_env: Option<EnvDuration>,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// Deadline 30 s, no drain delay, the platform's default signals, a multi-thread
    /// runtime, tracked tasks drained at order 0, a panicking task stops the program.
    pub(crate) const fn new() -> Self {
        Config {
            deadline: DEFAULT_DEADLINE,
            drain_delay: Duration::ZERO,
            signals: Cow::Borrowed(Signal::DEFAULT),
            flavor: Flavor::MultiThread,
            worker_threads: None,
            tasks_order: 0,
            on_task_panic: TaskPanic::Shutdown,
            deadline_from_env: None,
            drain_delay_from_env: None,
            grace_period: None,
            report_path: None,
            upgrade: None,
            upgrade_timeout: DEFAULT_UPGRADE_TIMEOUT,
            upgrade_timeout_from_env: None,
        }
    }

    /// The whole shutdown budget, from the first signal to process exit.
    pub(crate) fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The time between the first signal and the start of teardown.
    pub(crate) fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// Applies what the environment sets: it wins over the attribute, which wins over
    /// the defaults.
    pub(crate) fn with_env(mut self, env: Environment) -> Self {
        if let Some(deadline) = env.deadline {
            self.deadline = deadline.value;
            self.deadline_from_env = Some(deadline);
        }
        if let Some(delay) = env.drain_delay {
            self.drain_delay = delay.value;
            self.drain_delay_from_env = Some(delay);
        }
        self.grace_period = env.grace_period;
        self.report_path = env.report;
        if let Some(timeout) = env.upgrade_timeout {
            self.upgrade_timeout = timeout.value;
            self.upgrade_timeout_from_env = Some(timeout);
        }
        self
    }

    /// The margin before the deadline at which [`until_hard_stop`](crate::until_hard_stop)
    /// gives up: a tenth of the deadline, at most one second.
    pub(crate) fn hard_stop_margin(&self) -> Duration {
        (self.deadline / 10).min(Duration::from_secs(1))
    }

    /// What the sequence leaves of the deadline to the program's last word (its
    /// [`at_exit`](crate::at_exit) work, a log flush) when it has some: a twentieth of the
    /// deadline, at most 250 ms. A shutdown that uses all its time would leave it none,
    /// and the flush that says what went wrong would be lost.
    pub(crate) fn last_word_slice(&self) -> Duration {
        (self.deadline / 20).min(Duration::from_millis(250))
    }

    /// The longest the process lives once the shutdown has started, whatever blocks: the
    /// deadline, what the `always` hooks may add after it, and the watchdog's slack.
    pub(crate) fn exit_limit(&self, always_budget: Duration) -> Duration {
        self.deadline
            .saturating_add(always_budget)
            .saturating_add(WATCHDOG_SLACK)
    }

    /// Checks what the attribute checks at compile time, for values set from code, and
    /// what no one can check before run time: the values from the environment and what
    /// they combine with.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let deadline = shown(self.deadline, &self.deadline_from_env);
        if self.deadline.is_zero() {
            return Err(format!(
                "the shutdown deadline ({deadline}) must be longer than zero"
            ));
        }
        if self.deadline > LONGEST {
            return Err(format!(
                "the shutdown deadline ({deadline}) is longer than a year; no orchestrator waits that long"
            ));
        }
        if self.drain_delay >= self.deadline {
            return Err(format!(
                "the drain delay ({}) must be shorter than the deadline ({deadline}): it counts against it",
                shown(self.drain_delay, &self.drain_delay_from_env),
            ));
        }
        if self.signals.is_empty() {
            return Err("at least one signal must start the shutdown".into());
        }
        if let Some(s) = self.signals.iter().find(|s| !s.is_supported()) {
            return Err(format!("{s} is not available on this platform"));
        }
        if let Some(upgrade) = self.upgrade {
            if !cfg!(unix) {
                return Err(
                    "upgrade in place is available on Unix only: it hands sockets to a new process by descriptor"
                        .into(),
                );
            }
            if !upgrade.is_supported() {
                return Err(format!("{upgrade} is not available on this platform"));
            }
            if self.signals.contains(&upgrade) {
                return Err(format!(
                    "{upgrade} cannot both start the shutdown and an upgrade in place: \
                     take it out of the signals, or pick another upgrade signal"
                ));
            }
            if self.upgrade_timeout.is_zero() || self.upgrade_timeout > LONGEST {
                return Err(format!(
                    "the upgrade timeout ({}) must be longer than zero and at most a year",
                    shown(self.upgrade_timeout, &self.upgrade_timeout_from_env)
                ));
            }
        }
        match (self.worker_threads, self.flavor) {
            (Some(0), _) => return Err("worker_threads must be at least 1".into()),
            (Some(n), Flavor::CurrentThread) => {
                return Err(format!(
                    "worker_threads ({n}) cannot be used with the current-thread runtime, \
                     which has exactly one thread; leave worker_threads out or use Flavor::MultiThread"
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// A warning when the shutdown may outlast `GRACEFUL_GRACE_PERIOD`: the deadline plus
    /// `always_budget`, what the `always` hooks may add after it.
    pub(crate) fn grace_period_warning(&self, always_budget: Duration) -> Option<String> {
        let grace = self.grace_period.as_ref()?;
        let longest = self.deadline.saturating_add(always_budget);
        if longest <= grace.value {
            return None;
        }
        let deadline = shown(self.deadline, &self.deadline_from_env);
        Some(format!(
            "the shutdown may take up to {longest:?} (deadline {deadline} + `always` hooks {always_budget:?}), \
             longer than the grace period ({grace}, {:?}): the process would be killed before it ends; \
             lower the deadline or raise the grace period",
            grace.value
        ))
    }
}

/// A value for a message: how the operator wrote it when it came from the environment.
fn shown(value: Duration, from_env: &Option<EnvDuration>) -> String {
    match from_env {
        Some(var) => var.to_string(),
        None => format!("{value:?}"),
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

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).into())
        })
        .unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn an_upgrade_signal_that_also_stops_is_refused() {
        let mut c = Config::new();
        c.upgrade = Some(Signal::Terminate);
        assert_eq!(
            c.validate().unwrap_err(),
            "SIGTERM cannot both start the shutdown and an upgrade in place: take it out of \
             the signals, or pick another upgrade signal"
        );
        c.upgrade = Some(Signal::Hangup);
        assert!(c.validate().is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn an_upgrade_timeout_of_zero_or_over_a_year_is_refused_naming_the_variable() {
        let mut c = Config::new().with_env(env(&[("GRACEFUL_UPGRADE_TIMEOUT", "0s")]));
        c.upgrade = Some(Signal::Hangup);
        assert_eq!(
            c.validate().unwrap_err(),
            "the upgrade timeout (GRACEFUL_UPGRADE_TIMEOUT=\"0s\") must be longer than zero and \
             at most a year"
        );
        let mut c = Config::new().with_env(env(&[("GRACEFUL_UPGRADE_TIMEOUT", "9000h")]));
        c.upgrade = Some(Signal::Hangup);
        assert!(c.validate().unwrap_err().contains("at most a year"));
        let mut c = Config::new().with_env(env(&[("GRACEFUL_UPGRADE_TIMEOUT", "90s")]));
        c.upgrade = Some(Signal::Hangup);
        assert!(c.validate().is_ok());
        assert_eq!(c.upgrade_timeout, Duration::from_secs(90));
    }

    #[test]
    fn the_environment_wins_over_the_attribute_which_wins_over_the_default() {
        let attribute = Config::new().deadline(Duration::from_secs(20));
        let c = attribute.clone().with_env(env(&[]));
        assert_eq!(c.deadline, Duration::from_secs(20));
        assert_eq!(c.drain_delay, Duration::ZERO);
        let c = attribute.with_env(env(&[
            ("GRACEFUL_DEADLINE", "25s"),
            ("GRACEFUL_DRAIN_DELAY", "5s"),
        ]));
        assert_eq!(c.deadline, Duration::from_secs(25));
        assert_eq!(c.drain_delay, Duration::from_secs(5));
        assert!(c.validate().is_ok());
        let c = Config::new().with_env(env(&[("GRACEFUL_DRAIN_DELAY", "2s")]));
        assert_eq!(c.deadline, DEFAULT_DEADLINE);
    }

    #[test]
    fn a_bad_combination_names_the_variables_and_their_values() {
        let c = Config::new()
            .deadline(Duration::from_secs(3))
            .with_env(env(&[("GRACEFUL_DRAIN_DELAY", "3000ms")]));
        assert_eq!(
            c.validate().unwrap_err(),
            "the drain delay (GRACEFUL_DRAIN_DELAY=\"3000ms\") must be shorter than the deadline (3s): it counts against it"
        );
        let c = Config::new()
            .drain_delay(Duration::from_secs(5))
            .with_env(env(&[("GRACEFUL_DEADLINE", "5s")]));
        assert_eq!(
            c.validate().unwrap_err(),
            "the drain delay (5s) must be shorter than the deadline (GRACEFUL_DEADLINE=\"5s\"): it counts against it"
        );
        let c = Config::new().with_env(env(&[("GRACEFUL_DEADLINE", "0ms")]));
        assert_eq!(
            c.validate().unwrap_err(),
            "the shutdown deadline (GRACEFUL_DEADLINE=\"0ms\") must be longer than zero"
        );
    }

    #[test]
    fn the_grace_period_must_hold_the_deadline_and_the_always_hooks() {
        let c = Config::new().with_env(env(&[
            ("GRACEFUL_DEADLINE", "28s"),
            ("GRACEFUL_GRACE_PERIOD", "30"),
        ]));
        assert_eq!(c.grace_period_warning(Duration::from_secs(2)), None);
        assert_eq!(
            c.grace_period_warning(Duration::from_secs(3)).unwrap(),
            "the shutdown may take up to 31s (deadline GRACEFUL_DEADLINE=\"28s\" + `always` hooks 3s), \
             longer than the grace period (GRACEFUL_GRACE_PERIOD=\"30\", 30s): the process would be \
             killed before it ends; lower the deadline or raise the grace period"
        );
        // Nothing to check against without the variable.
        assert_eq!(
            Config::new().grace_period_warning(Duration::from_secs(3600)),
            None
        );
    }

    #[test]
    fn margin_is_a_tenth_capped_at_one_second() {
        assert_eq!(Config::new().hard_stop_margin(), Duration::from_secs(1));
        let short = Config::new().deadline(Duration::from_secs(2));
        assert_eq!(short.hard_stop_margin(), Duration::from_millis(200));
    }
}
