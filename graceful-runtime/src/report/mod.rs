//! What happened during a shutdown: the trigger, each step's outcome, the tracked tasks
//! that panicked, the exit code; the log lines and tracing events that tell it as it goes;
//! the same as JSON, written to a file.

mod consumers;
mod exit;
mod file;
mod json;
pub(crate) mod log;
mod step;
mod timestamp;

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::trigger::Trigger;

/// How many task names the JSON and the log lines show: the rest are counted.
const NAMES_SHOWN: usize = 20;

pub use consumers::{ConsumerCounts, ConsumerReport};
pub use exit::Exit;
pub(crate) use file::{check as check_path, save};
pub use step::{HookReport, Outcome, TASKS_STEP};

/// A duration in milliseconds to the microsecond, as the JSON and the tracing events
/// give it: `0.25`, `1500.001`. One division of two whole numbers, rounded once, so it
/// prints as written (`9.766`, not the `9.765999999999998` that `as_secs_f64() * 1000.0`
/// gives).
pub(crate) fn millis(d: Duration) -> f64 {
    // Exact below 2^53 µs, some 285 years.
    d.as_micros() as f64 / 1000.0
}

/// A task started with [`spawn`](crate::spawn) that panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanickedTask {
    pub(crate) name: String,
    pub(crate) message: String,
}

impl PanickedTask {
    /// Its name: given to [`spawn_named`](crate::spawn_named), or where it was spawned.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What it panicked with.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The tracked tasks that panicked in a program's life, kept within bounds: a program
/// that goes on after each panic (`on_task_panic = "continue"`) may see millions. The
/// count is exact; the first and the last [`PANICS_KEPT`] are kept, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Panics {
    count: usize,
    first: Vec<PanickedTask>,
    last: std::collections::VecDeque<PanickedTask>,
}

/// How many panicked tasks are kept at each end: twice this, with
/// [`NAMES_SHOWN`], is what a report shows.
pub(crate) const PANICS_KEPT: usize = NAMES_SHOWN / 2;

impl Panics {
    pub(crate) fn push(&mut self, task: PanickedTask) {
        self.count += 1;
        if self.first.len() < PANICS_KEPT {
            self.first.push(task);
            return;
        }
        if self.last.len() == PANICS_KEPT {
            self.last.pop_front();
        }
        self.last.push_back(task);
    }

    /// How many panicked, kept or not.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The ones kept, the first then the last, in the order they panicked.
    pub(crate) fn kept(&self) -> Vec<PanickedTask> {
        self.first.iter().chain(&self.last).cloned().collect()
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
    pub(crate) tasks_panicked: Vec<PanickedTask>,
    pub(crate) tasks_panicked_count: usize,
    pub(crate) cut_at_hard_stop: usize,
    pub(crate) body_still_running: bool,
    pub(crate) main_error: Option<String>,
    pub(crate) consumers: Vec<ConsumerReport>,
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
    /// The tracked tasks that panicked in the program's life, the shutdown's included, in
    /// the order they did: the first ten and the last ten, when more did (a program that
    /// goes on after each panic keeps no more: see
    /// [`tasks_panicked_count`](Report::tasks_panicked_count)). With
    /// [`TaskPanic::Shutdown`](crate::TaskPanic::Shutdown) (the default), any makes the
    /// exit code 101.
    pub fn tasks_panicked(&self) -> &[PanickedTask] {
        &self.tasks_panicked
    }
    /// How many tracked tasks panicked in the program's life, those
    /// [`tasks_panicked`](Report::tasks_panicked) leaves out included.
    pub fn tasks_panicked_count(&self) -> usize {
        self.tasks_panicked_count
    }
    /// How many [`until_hard_stop`](crate::until_hard_stop) futures the hard stop ended:
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
    /// Each consumer of [`consume`](crate::consume) the program started, in the order
    /// it did, with what it did with its messages.
    pub fn consumers(&self) -> &[ConsumerReport] {
        &self.consumers
    }
    /// The consumer with that name (the first, if several share it).
    pub fn consumer(&self, name: &str) -> Option<&ConsumerReport> {
        self.consumers.iter().find(|c| c.name == name)
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
    ///   "tasks_still_running_count": 0,
    ///   "tasks_still_running": [],
    ///   "tasks_panicked": [],
    ///   "cut_at_hard_stop": 0,
    ///   "counts": {"completed": 2, "failed": 1, "panicked": 0, "timed_out": 0, "cut_by_deadline": 0,
    ///              "skipped": 0, "interrupted": 0, "not_started": 0},
    ///   "hooks": [
    ///     {"name": "graceful::tasks", "order": 0, "always": false, "started_after_ms": 1000,
    ///      "duration_ms": 1402.25, "outcome": "completed", "message": null},
    ///     {"name": "broker", "order": 20, "always": false, "started_after_ms": 2402.25,
    ///      "duration_ms": 10, "outcome": "failed", "message": "connection reset"},
    ///     {"name": "my_service::remove_temp_files", "order": 30, "always": true,
    ///      "started_after_ms": 2412.25, "duration_ms": 0.25, "outcome": "completed", "message": null}
    ///   ],
    ///   "consumers": [
    ///     {"name": "orders", "taken": 120, "done": 117, "failed": 2, "panicked": 0,
    ///      "retried": 2, "rejected": 0, "handed_back_unstarted": 3, "handed_back_cut": 1,
    ///      "settle_failed": 0}
    ///   ]
    /// }
    /// ```
    ///
    /// - `trigger.kind`: `signal` (with `signal`), `requested` (with `reason`, given to
    ///   [`request_shutdown`](crate::request_shutdown)), `main_returned`, `main_failed`, `main_panicked`,
    ///   `task_panicked` (with `task`, its name), `upgrade` (with `pid`, the new
    ///   process's). Other kinds may be added; each carries its own fields beside `kind`.
    /// - Timestamps are RFC 3339 in UTC, to the millisecond. Durations are milliseconds,
    ///   to the microsecond; `started_after_ms` counts from the start of the shutdown, and
    ///   is `null` for a step that never started (`skipped`, `not_started`), whose
    ///   `duration_ms` is 0.
    /// - `exit`: `clean`, `failed`, `panicked`, `deadline_exceeded`, `forced` (then
    ///   `forced_by` names the second signal), as in the exit-code table of [`Exit`]. A
    ///   configuration refused at startup (code 2) starts no shutdown and writes no report.
    /// - `hooks[].outcome`: `completed`, `failed`, `panicked` (with the `message`),
    ///   `timed_out` (its own timeout), `cut_by_deadline`, `skipped`, `interrupted`,
    ///   `not_started` (a second signal forced the exit first).
    /// - `counts`: one count per outcome, under the outcome's name; they add up to the
    ///   number of `hooks`.
    /// - `tasks_still_running`: the names of the tracked tasks the deadline cut, the first
    ///   twenty, sorted; `tasks_still_running_count`: how many there were.
    /// - `tasks_panicked`: the tracked tasks that panicked, each
    ///   `{"name": "worker-3", "message": "..."}`, in the order they did: the first ten and
    ///   the last ten; `tasks_panicked_count`: how many did, and
    ///   `tasks_panicked_left_out`: how many of them the list leaves out.
    /// - `cut_at_hard_stop`: how many `until_hard_stop` futures the hard stop ended.
    /// - `main_error`: what `main` returned as its error, or the message it panicked with.
    /// - `consumers`: each consumer of [`consume`](crate::consume), with the counts of
    ///   [`ConsumerCounts`] under their field names.
    pub fn to_json(&self) -> String {
        json::render(self)
    }
    /// How many steps ended with each kind of outcome: the counts add up to the number of
    /// [`hooks`](Report::hooks).
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for h in &self.hooks {
            *c.of(&h.outcome) += 1;
        }
        c
    }
}

/// Step counts, one per kind of [`Outcome`]: they add up to the number of steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// [`Outcome::Completed`].
    pub completed: usize,
    /// [`Outcome::Failed`]: returned an error, or could not start (a missing `State`).
    pub failed: usize,
    /// [`Outcome::Panicked`].
    pub panicked: usize,
    /// [`Outcome::TimedOut`] by the step's own `timeout`.
    pub timed_out: usize,
    /// [`Outcome::TimedOut`] by the shutdown's deadline.
    pub cut_by_deadline: usize,
    /// [`Outcome::Skipped`]: the deadline had passed.
    pub skipped: usize,
    /// [`Outcome::Interrupted`]: running when a second signal forced the exit.
    pub interrupted: usize,
    /// [`Outcome::NotStarted`]: a second signal forced the exit first.
    pub not_started: usize,
}

impl Counts {
    /// The count an outcome adds to. Exhaustive: a new kind of outcome needs its count.
    fn of(&mut self, outcome: &Outcome) -> &mut usize {
        match outcome {
            Outcome::Completed => &mut self.completed,
            Outcome::Failed(_) => &mut self.failed,
            Outcome::Panicked(_) => &mut self.panicked,
            Outcome::TimedOut {
                by_deadline: false, ..
            } => &mut self.timed_out,
            Outcome::TimedOut {
                by_deadline: true, ..
            } => &mut self.cut_by_deadline,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Interrupted => &mut self.interrupted,
            Outcome::NotStarted => &mut self.not_started,
        }
    }

    /// The sum: the number of steps.
    pub fn total(&self) -> usize {
        self.completed
            + self.failed
            + self.panicked
            + self.timed_out
            + self.cut_by_deadline
            + self.skipped
            + self.interrupted
            + self.not_started
    }
}

/// `4 ok, 0 failed, 0 timed out, 0 skipped`, then each other kind that occurred:
/// `, 1 panicked`, `, 2 cut by the deadline`, `, 1 interrupted`, `, 3 not started`.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ok, {} failed, {} timed out, {} skipped",
            self.completed, self.failed, self.timed_out, self.skipped
        )?;
        for (count, what) in [
            (self.panicked, "panicked"),
            (self.cut_by_deadline, "cut by the deadline"),
            (self.interrupted, "interrupted"),
            (self.not_started, "not started"),
        ] {
            if count > 0 {
                write!(f, ", {count} {what}")?;
            }
        }
        Ok(())
    }
}
