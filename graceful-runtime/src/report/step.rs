//! One step of the shutdown as it ended: a hook, or the built-in drain.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// How one teardown step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It returned `()` or `Ok(())`.
    Completed,
    /// It returned an error, or could not start (a missing [`State`](crate::State)).
    Failed(String),
    /// It panicked, with this message.
    Panicked(String),
    /// It was stopped after running for `after`: its own `timeout`, or, when
    /// `by_deadline` is true, the time the shutdown deadline left it.
    TimedOut {
        /// How long it ran.
        after: Duration,
        /// True when the global deadline, not the hook's own timeout, cut it.
        by_deadline: bool,
    },
    /// It never started: the deadline had passed (only `always` hooks run then).
    Skipped,
    /// It was running when a second signal forced the exit.
    Interrupted,
    /// It never started: a second signal forced the exit first.
    NotStarted,
}

impl Outcome {
    /// True for [`Outcome::Completed`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Completed)
    }

    /// True when the hook failed by itself: an error, a panic or its own timeout.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed(_)
                | Outcome::Panicked(_)
                | Outcome::TimedOut {
                    by_deadline: false,
                    ..
                }
        )
    }

    /// True when the deadline cut or skipped the step.
    pub fn hit_deadline(&self) -> bool {
        matches!(
            self,
            Outcome::Skipped
                | Outcome::TimedOut {
                    by_deadline: true,
                    ..
                }
        )
    }
}

/// What happened, without how long it took: the log line that shows an outcome shows the
/// step's duration beside it, in one format.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed => f.write_str("ok"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            Outcome::Panicked(m) => write!(f, "panicked: {m}"),
            Outcome::TimedOut {
                by_deadline: false, ..
            } => f.write_str("timed out"),
            Outcome::TimedOut {
                by_deadline: true, ..
            } => f.write_str("cut by the deadline"),
            Outcome::Skipped => f.write_str("skipped: the deadline had passed"),
            Outcome::Interrupted => f.write_str("interrupted by a second signal"),
            Outcome::NotStarted => f.write_str("not started: a second signal forced the exit"),
        }
    }
}

/// One step of the shutdown: a teardown hook, or the built-in drain of tracked tasks
/// (named [`TASKS_STEP`]).
#[derive(Clone, Debug)]
pub struct HookReport {
    pub(crate) name: Cow<'static, str>,
    pub(crate) order: i32,
    pub(crate) always: bool,
    pub(crate) started_after: Option<Duration>,
    pub(crate) duration: Duration,
    pub(crate) outcome: Outcome,
}

/// The name of the built-in step that waits for the body and the tracked tasks.
pub const TASKS_STEP: &str = "graceful::tasks";

impl HookReport {
    /// The hook's `name`, or its function path.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The hook's `order`.
    pub fn order(&self) -> i32 {
        self.order
    }
    /// Whether the hook is marked `always`.
    pub fn always(&self) -> bool {
        self.always
    }
    /// When it started, counted from the start of the shutdown; `None` for a step that
    /// never started ([`Outcome::Skipped`], [`Outcome::NotStarted`]).
    pub fn started_after(&self) -> Option<Duration> {
        self.started_after
    }
    /// How long it ran (zero for a step that never started).
    pub fn duration(&self) -> Duration {
        self.duration
    }
    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
}
