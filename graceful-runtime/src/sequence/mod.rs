//! The shutdown sequence: from the trigger to the report.
//!
//! First trigger → `is_shutting_down()` → drain delay → `shutdown_requested()` fires →
//! steps by ascending `order` (equal orders concurrently; the built-in drain of the body
//! and the tracked tasks is one of them) → a last wait for tasks spawned after that drain
//! → report. The deadline bounds it all: at `deadline - margin` the hard stop fires, at
//! the deadline the remaining steps are cut or skipped and only `always` hooks still run.
//! A second signal ends it at once.
//!
//! The sequence runs apart from the body of `main` (on a thread of its own under
//! `#[graceful::main]`, as a task of its own in a test harness), so a body that blocks
//! its thread does not hold it.

mod step;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout_at, Instant};

use crate::config::{self, Config};
use crate::controller::Controller;
use crate::hook::{self, HookDef};
use crate::report::{log, Exit, HookReport, Outcome, Report, TASKS_STEP};
use crate::systemd::Notifier;
use crate::trigger::body::BodyOutcome;
use crate::trigger::{Signal, Trigger};

use step::{run_step, AbortOnDrop};

/// Waits for the shutdown to start, carries it out, and returns the report. When the
/// program has a service manager, it hears of the start and of each step's end.
pub(crate) async fn run(ctl: &'static Controller, config: Config, hooks: Vec<HookDef>) -> Report {
    ctl.initiated.wait().await;
    let end = sequence(ctl, &config, hooks, ctl.notifier()).await;

    let body = ctl.body_outcome();
    let body_still_running = body.is_none();
    let cut_at_hard_stop = ctl.cut_at_hard_stop.load(Ordering::Relaxed);
    let tasks_panicked = ctl.panicked_tasks();
    let exit = if let Some(signal) = end.forced {
        Exit::Forced(signal)
    } else if body_still_running
        || !end.tasks_still_running.is_empty()
        || cut_at_hard_stop > 0
        || end.hooks.iter().any(|h| h.outcome.hit_deadline())
    {
        Exit::DeadlineExceeded
    } else if matches!(body, Some(BodyOutcome::Panicked(_)))
        || (!tasks_panicked.is_empty() && ctl.task_panics_fail())
    {
        Exit::Panicked
    } else if matches!(body, Some(BodyOutcome::Err(_)))
        || end.hooks.iter().any(|h| h.outcome.is_failure())
    {
        Exit::Failed
    } else {
        Exit::Clean
    };
    Report {
        trigger: end.trigger,
        deadline: config.deadline,
        drain_delay: end.drain_delay,
        duration: end.duration,
        ended_at: std::time::SystemTime::now(),
        hooks: end.hooks,
        tasks_still_running: end.tasks_still_running,
        tasks_panicked,
        cut_at_hard_stop,
        body_still_running,
        main_error: match body {
            Some(BodyOutcome::Err(e) | BodyOutcome::Panicked(e)) => Some(e),
            _ => None,
        },
        consumers: ctl.consumers.reports(),
        exit,
    }
}

/// What the sequence found, before the body's outcome is folded in.
struct End {
    trigger: Trigger,
    drain_delay: Duration,
    duration: Duration,
    hooks: Vec<HookReport>,
    tasks_still_running: Vec<String>,
    forced: Option<Signal>,
}

/// One step of the plan.
#[derive(Clone)]
enum Step {
    Hook(HookDef),
    /// Wait for the body and the tracked tasks.
    Tasks,
}

impl Step {
    fn name(&self) -> String {
        match self {
            Step::Hook(h) => h.name.clone().into_owned(),
            Step::Tasks => TASKS_STEP.to_owned(),
        }
    }

    fn always(&self) -> bool {
        matches!(self, Step::Hook(h) if h.always)
    }

    /// The step's line in a report that ends before the step does: `started_after` is
    /// `None` for a step that never started.
    fn report(
        &self,
        order: i32,
        started_after: Option<Duration>,
        duration: Duration,
        outcome: Outcome,
    ) -> HookReport {
        HookReport {
            name: self.name().into(),
            order,
            always: self.always(),
            started_after,
            duration,
            outcome,
        }
    }
}

/// What every step of one shutdown shares: its program, why it started, when, and by
/// when it must end.
#[derive(Clone)]
struct Frame {
    ctl: &'static Controller,
    trigger: Trigger,
    start: Instant,
    deadline: Instant,
    tasks_order: i32,
}

async fn sequence(
    ctl: &'static Controller,
    config: &Config,
    hooks: Vec<HookDef>,
    notifier: Option<&Notifier>,
) -> End {
    let trigger = ctl
        .trigger()
        .unwrap_or_else(|| Trigger::Requested("unknown".into()));
    // From the trigger itself, not from when this task got to run: a runtime busy at the
    // signal does not push the deadline back.
    let start = ctl.started_at().unwrap_or_else(Instant::now);
    let frame = Frame {
        ctl,
        trigger: trigger.clone(),
        start,
        deadline: config::after(start, config.deadline),
        tasks_order: config.tasks_order,
    };

    // The drain delay lets load balancers deregister the instance; it has no use when the
    // body itself has ended.
    let drain_delay = if trigger.drains() {
        config.drain_delay
    } else {
        Duration::ZERO
    };
    // The hard stop never comes before the shutdown itself: with a drain delay close to
    // the deadline, work taken during the delay is handed back, not refused at once.
    let hard_stop_at = (frame.deadline - config.hard_stop_margin()).max(start + drain_delay);
    let _hard_stop = AbortOnDrop(tokio::spawn(async move {
        sleep_until(hard_stop_at).await;
        ctl.requested.wait().await;
        ctl.hard_stop.set();
    }));

    log::shutdown_started(&trigger, config.deadline, drain_delay);
    // The process is gone by then, whatever blocks: what the service manager may wait.
    let exit_by = config::after(start, config.exit_limit(hook::always_budget(&hooks)));
    // After an upgrade's handover the new process is the service's main one: this one,
    // draining, tells the service manager nothing more (`STOPPING=1` would stop the
    // service).
    let notifier = notifier.filter(|_| !matches!(trigger, Trigger::Upgrade { .. }));
    if let Some(notifier) = notifier {
        notifier.stopping(exit_by.saturating_duration_since(Instant::now()));
    }
    let mut end = End {
        trigger,
        drain_delay,
        duration: Duration::ZERO,
        hooks: Vec::new(),
        tasks_still_running: Vec::new(),
        forced: None,
    };
    let mut groups = plan(hooks, config.tasks_order).into_iter();
    if !drain_delay.is_zero() {
        tokio::select! {
            biased;
            () = ctl.forced.wait() => return forced(end, &frame, Vec::new(), groups),
            () = sleep_until(start + drain_delay) => {}
        }
    }
    // Set already by the trigger's thread when there was no delay to wait.
    ctl.requested.set();

    while let Some((order, group)) = groups.next() {
        let mut done: Vec<Option<HookReport>> = vec![None; group.len()];
        let group_start = Instant::now();
        // Hooks run as tasks of their own: one that blocks its thread does not stop the
        // sequence from hearing a second signal. The drain step is ours and never blocks:
        // it runs here, which spares a wake-up on another thread on every shutdown.
        let mut running = JoinSet::new();
        let mut drain_at = None;
        for (i, step) in group.iter().cloned().enumerate() {
            match step {
                Step::Tasks => drain_at = Some(i),
                Step::Hook(_) => {
                    let frame = frame.clone();
                    running.spawn(async move { (i, run_step(step, frame).await) });
                }
            }
        }
        // Built on its first poll, which only a group with the drain step makes.
        let drain = async { run_step(Step::Tasks, frame.clone()).await };
        tokio::pin!(drain);
        let mut finished = |i: usize, report: HookReport| {
            log::step_finished(&report);
            done[i] = Some(report);
            let now = Instant::now();
            if let Some(notifier) = notifier.filter(|_| now < frame.deadline) {
                notifier.extend(exit_by.saturating_duration_since(now));
            }
        };
        while drain_at.is_some() || !running.is_empty() {
            tokio::select! {
                biased;
                () = ctl.forced.wait() => {
                    running.abort_all();
                    let interrupted = interrupted(&group, &done, order, group_start, &frame);
                    end.hooks.extend(done.into_iter().flatten());
                    return forced(end, &frame, interrupted, groups);
                }
                report = &mut drain, if drain_at.is_some() => {
                    if let Some(i) = drain_at.take() {
                        finished(i, report);
                    }
                }
                Some(next) = running.join_next(), if !running.is_empty() => match next {
                    Ok((i, report)) => finished(i, report),
                    // `run_step` turns the hook's own panics into outcomes; a panic here is
                    // ours, and is not hidden.
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                },
            }
        }
        end.hooks.extend(done.into_iter().flatten());
    }

    // Tasks spawned after the drain step (by a later hook) are waited for too, within
    // the deadline.
    if ctl.tasks.any_live() {
        tokio::select! {
            biased;
            () = ctl.forced.wait() => return forced(end, &frame, Vec::new(), groups),
            _ = timeout_at(frame.deadline, ctl.tasks.wait()) => {}
        }
    }
    end.duration = start.elapsed();
    end.tasks_still_running = ctl.tasks.live_names();
    end
}

/// The steps grouped by order, ascending; within a group, by name.
type Plan = BTreeMap<i32, Vec<Step>>;

fn plan(hooks: Vec<HookDef>, tasks_order: i32) -> Plan {
    let mut groups = Plan::new();
    for hook in hooks {
        groups.entry(hook.order).or_default().push(Step::Hook(hook));
    }
    groups.entry(tasks_order).or_default().push(Step::Tasks);
    for group in groups.values_mut() {
        group.sort_by_key(Step::name);
    }
    groups
}

/// The steps of the group that a second signal caught running.
fn interrupted(
    group: &[Step],
    done: &[Option<HookReport>],
    order: i32,
    group_start: Instant,
    frame: &Frame,
) -> Vec<HookReport> {
    group
        .iter()
        .zip(done)
        .filter(|(_, d)| d.is_none())
        .map(|(step, _)| {
            step.report(
                order,
                Some(group_start - frame.start),
                group_start.elapsed(),
                Outcome::Interrupted,
            )
        })
        .collect()
}

/// A second signal came: what ran, what it caught running, and the steps it kept from
/// starting (`rest`), so the report shows every cleanup that did not happen.
fn forced(
    mut end: End,
    frame: &Frame,
    interrupted: Vec<HookReport>,
    rest: impl Iterator<Item = (i32, Vec<Step>)>,
) -> End {
    frame.ctl.forced_seen.set();
    let signal = frame.ctl.forced_by().unwrap_or(Signal::Interrupt);
    let mut still_running: Vec<String> = interrupted.iter().map(|h| h.name.to_string()).collect();
    if !frame.ctl.body_done.is_set() {
        still_running.push("main".to_owned());
    }
    let tasks = frame.ctl.tasks.live_names();
    still_running.extend(tasks.iter().cloned());
    let now = frame.start.elapsed();
    let not_started: Vec<HookReport> = rest
        .flat_map(|(order, group)| {
            group
                .into_iter()
                .map(move |step| step.report(order, None, Duration::ZERO, Outcome::NotStarted))
        })
        .collect();
    let not_started_names: Vec<String> = not_started.iter().map(|h| h.name.to_string()).collect();
    log::forced(
        frame.ctl.first_signal(),
        signal,
        &still_running,
        &not_started_names,
    );
    end.hooks.extend(interrupted);
    end.hooks.extend(not_started);
    end.duration = now;
    end.tasks_still_running = tasks;
    end.forced = Some(signal);
    end
}
