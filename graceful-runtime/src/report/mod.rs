//! What happened during a shutdown: per-hook outcomes, the trigger, the exit code; and
//! the same as JSON, written to a file.

mod file;
mod json;
mod timestamp;

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::Signal;

pub(crate) use file::{check as check_path, save};

/// Why the shutdown started.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// A signal arrived (the first one; a second forces the exit).
    Signal(Signal),
    /// The program called [`shutdown`](crate::shutdown) with this reason.
    Requested(String),
    /// The body of `main` returned `Ok` or `()`.
    BodyReturned,
    /// The body of `main` returned an error.
    BodyFailed,
    /// The body of `main` panicked.
    BodyPanicked,
}

impl Trigger {
    /// Whether the drain delay applies: load balancers need it to move traffic away from
    /// an instance told to stop, not from one whose `main` has ended.
    pub(crate) fn drains(&self) -> bool {
        matches!(self, Trigger::Signal(_) | Trigger::Requested(_))
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Signal(s) => write!(f, "{s}"),
            Trigger::Requested(reason) => write!(f, "shutdown requested: {reason}"),
            Trigger::BodyReturned => f.write_str("main returned"),
            Trigger::BodyFailed => f.write_str("main returned an error"),
            Trigger::BodyPanicked => f.write_str("main panicked"),
        }
    }
}

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

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed => f.write_str("ok"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            Outcome::Panicked(m) => write!(f, "panicked: {m}"),
            Outcome::TimedOut {
                after,
                by_deadline: false,
            } => write!(f, "timed out after {after:?}"),
            Outcome::TimedOut {
                after,
                by_deadline: true,
            } => write!(f, "cut by the deadline after {after:?}"),
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
    pub(crate) started_after: Duration,
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
    /// When it started, counted from the start of the shutdown.
    pub fn started_after(&self) -> Duration {
        self.started_after
    }
    /// How long it ran (zero when skipped).
    pub fn duration(&self) -> Duration {
        self.duration
    }
    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
}

/// How the process ends, and with which exit code.
///
/// | code | meaning |
/// |---|---|
/// | 0 | clean: a signal or `main` returning `Ok`, every hook completed |
/// | 1 | `main` returned `Err`, or a hook failed (error, panic, own timeout, missing state) |
/// | 2 | bad configuration (a `GRACEFUL_*` variable that does not parse, among others), found before the body ran |
/// | 101 | `main` panicked (Rust's own code for a panic) |
/// | 124 | the deadline was exceeded (as `timeout(1)` reports): a step was cut or skipped, tasks or `main` were still running, or [`until_deadline`](crate::until_deadline) handed work back |
/// | 128 + n | a second signal n forced the exit: 130 for `SIGINT`, 143 for `SIGTERM` |
///
/// When several apply, the first in this order wins: forced, deadline, panic, failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// Code 0.
    Clean,
    /// Code 1.
    Failed,
    /// Code 2.
    Config,
    /// Code 101.
    Panicked,
    /// Code 124.
    DeadlineExceeded,
    /// Code 128 + the signal's number.
    Forced(Signal),
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> i32 {
        match self {
            Exit::Clean => 0,
            Exit::Failed => 1,
            Exit::Config => 2,
            Exit::Panicked => 101,
            Exit::DeadlineExceeded => 124,
            Exit::Forced(signal) => signal.forced_exit_code(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Exit::Clean => "clean",
            Exit::Failed => "failed",
            Exit::Config => "bad configuration",
            Exit::Panicked => "panicked",
            Exit::DeadlineExceeded => "deadline exceeded",
            Exit::Forced(_) => "forced by a second signal",
        };
        write!(f, "{} ({what})", self.code())
    }
}

/// The whole shutdown, as it happened.
#[derive(Clone, Debug)]
pub struct Report {
    pub(crate) trigger: Trigger,
    pub(crate) deadline: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) duration: Duration,
    pub(crate) ended_at: SystemTime,
    pub(crate) hooks: Vec<HookReport>,
    pub(crate) tasks_still_running: Vec<String>,
    pub(crate) cut_at_hard_stop: usize,
    pub(crate) body_still_running: bool,
    pub(crate) main_error: Option<String>,
    pub(crate) exit: Exit,
}

impl Report {
    /// Why the shutdown started.
    pub fn trigger(&self) -> &Trigger {
        &self.trigger
    }
    /// The deadline that was in force.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
    /// The drain delay that was waited: zero when the body of `main` ended by itself.
    pub fn drain_delay(&self) -> Duration {
        self.drain_delay
    }
    /// From the start of the shutdown to the end of the sequence.
    pub fn duration(&self) -> Duration {
        self.duration
    }
    /// The wall-clock time the shutdown started: [`Report::ended_at`] less
    /// [`Report::duration`], so the two always agree even if the system clock is stepped
    /// meanwhile.
    pub fn started_at(&self) -> SystemTime {
        self.ended_at
            .checked_sub(self.duration)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
    /// The wall-clock time the sequence ended.
    pub fn ended_at(&self) -> SystemTime {
        self.ended_at
    }
    /// Every step in the order it started, including the built-in [`TASKS_STEP`].
    pub fn hooks(&self) -> &[HookReport] {
        &self.hooks
    }
    /// The step with that name.
    pub fn hook(&self, name: &str) -> Option<&HookReport> {
        self.hooks.iter().find(|h| h.name == name)
    }
    /// The names of the tracked tasks still running when the sequence ended.
    pub fn tasks_still_running(&self) -> &[String] {
        &self.tasks_still_running
    }
    /// How many [`until_deadline`](crate::until_deadline) futures the hard stop ended:
    /// work the deadline cut short, to be handed back. Above zero, the exit code is 124.
    pub fn cut_at_hard_stop(&self) -> usize {
        self.cut_at_hard_stop
    }
    /// Whether the body of `main` was still running when the sequence ended.
    pub fn body_still_running(&self) -> bool {
        self.body_still_running
    }
    /// The error `main` returned (formatted with `{:?}`) or the message it panicked with.
    pub fn main_error(&self) -> Option<&str> {
        self.main_error.as_deref()
    }
    /// How the process ends.
    pub fn exit(&self) -> Exit {
        self.exit
    }
    /// The process exit code: `self.exit().code()`.
    pub fn exit_code(&self) -> i32 {
        self.exit.code()
    }
    /// The report as one line of JSON: what `GRACEFUL_REPORT=path` writes.
    ///
    /// The schema (`"version": 1`; fields are only ever added within a version):
    ///
    /// ```json
    /// {
    ///   "version": 1,
    ///   "trigger": {"kind": "signal", "signal": "SIGTERM"},
    ///   "started_at": "2026-11-25T09:41:07.120Z",
    ///   "ended_at": "2026-11-25T09:41:09.533Z",
    ///   "deadline_ms": 25000,
    ///   "drain_delay_ms": 1000,
    ///   "duration_ms": 2412.5,
    ///   "exit_code": 1,
    ///   "exit": "failed",
    ///   "forced_by": null,
    ///   "main_error": null,
    ///   "main_still_running": false,
    ///   "tasks_still_running": [],
    ///   "cut_at_hard_stop": 0,
    ///   "counts": {"completed": 2, "failed": 1, "timed_out": 0, "skipped": 0, "interrupted": 0, "not_started": 0},
    ///   "hooks": [
    ///     {"name": "graceful::tasks", "order": 0, "always": false, "started_after_ms": 1000,
    ///      "duration_ms": 1402.25, "outcome": "completed", "message": null},
    ///     {"name": "broker", "order": 20, "always": false, "started_after_ms": 2402.25,
    ///      "duration_ms": 10, "outcome": "failed", "message": "connection reset"},
    ///     {"name": "my_service::remove_temp_files", "order": 30, "always": true,
    ///      "started_after_ms": 2412.25, "duration_ms": 0.25, "outcome": "completed", "message": null}
    ///   ]
    /// }
    /// ```
    ///
    /// - `trigger.kind`: `signal` (with `signal`), `requested` (with `reason`, given to
    ///   [`shutdown`](crate::shutdown)), `main_returned`, `main_failed`, `main_panicked`.
    /// - Timestamps are RFC 3339 in UTC, to the millisecond. Durations are milliseconds,
    ///   to the microsecond; `started_after_ms` counts from the start of the shutdown.
    /// - `exit`: `clean`, `failed`, `panicked`, `deadline_exceeded`, `forced` (then
    ///   `forced_by` names the second signal), as in the exit-code table of [`Exit`]. A
    ///   configuration refused at startup (code 2) starts no shutdown and writes no report.
    /// - `hooks[].outcome`: `completed`, `failed`, `panicked` (with the `message`),
    ///   `timed_out` (its own timeout), `cut_by_deadline`, `skipped`, `interrupted`,
    ///   `not_started` (a second signal forced the exit first).
    /// - `cut_at_hard_stop`: how many `until_deadline` futures the hard stop ended.
    /// - `main_error`: what `main` returned as its error, or the message it panicked with.
    pub fn to_json(&self) -> String {
        json::render(self)
    }
    /// How many steps ended with each kind of outcome.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for h in &self.hooks {
            match h.outcome {
                Outcome::Completed => c.completed += 1,
                Outcome::Failed(_) | Outcome::Panicked(_) => c.failed += 1,
                Outcome::TimedOut { .. } => c.timed_out += 1,
                Outcome::Skipped => c.skipped += 1,
                Outcome::Interrupted => c.interrupted += 1,
                Outcome::NotStarted => c.not_started += 1,
            }
        }
        c
    }
}

/// Step counts by outcome, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Completed steps.
    pub completed: usize,
    /// Steps that returned an error, could not start, or panicked.
    pub failed: usize,
    /// Steps stopped by a timeout or the deadline.
    pub timed_out: usize,
    /// Steps skipped because the deadline had passed.
    pub skipped: usize,
    /// Steps running when a second signal forced the exit.
    pub interrupted: usize,
    /// Steps a second signal kept from starting.
    pub not_started: usize,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ok, {} failed, {} timed out, {} skipped",
            self.completed, self.failed, self.timed_out, self.skipped
        )?;
        if self.interrupted > 0 {
            write!(f, ", {} interrupted", self.interrupted)?;
        }
        if self.not_started > 0 {
            write!(f, ", {} not started", self.not_started)?;
        }
        Ok(())
    }
}
