//! What happened during a shutdown: the trigger, each step's outcome, the exit code; the
//! log lines and tracing events that tell it as it goes; the same as JSON, written to a
//! file.

mod exit;
mod file;
mod json;
pub(crate) mod log;
mod step;
mod timestamp;

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::trigger::Trigger;

pub use exit::Exit;
pub(crate) use file::{check as check_path, save};
pub use step::{HookReport, Outcome, TASKS_STEP};

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
