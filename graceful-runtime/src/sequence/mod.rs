//! The shutdown sequence: from the trigger to the report.
//!
//! First trigger → `is_shutting_down()` → drain delay → `shutdown_requested()` fires →
//! steps by ascending `order` (equal orders concurrently; the built-in drain of the body
//! and the tracked tasks is one of them) → report. The deadline bounds it all: at
//! `deadline - margin` the hard stop fires, at the deadline the remaining steps are cut or
//! skipped and only `always` hooks still run. A second signal ends it at once.

mod step;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::body::{body_ended, BodyOutcome, MainOutput};
use crate::config::Config;
use crate::controller::Controller;
use crate::hook::HookDef;
use crate::panic::CatchUnwind;
use crate::report::{HookReport, Outcome, Report, TASKS_STEP};
use crate::{events, Exit, Signal, Trigger};

use step::{run_step, AbortOnDrop};

/// Runs the body until a trigger, then the sequence (still polling the body, which the
/// drain step waits for), and returns the report.
pub(crate) async fn drive<F>(
    ctl: &'static Controller,
    config: Config,
    hooks: Vec<HookDef>,
    body: F,
) -> Report
where
    F: Future,
    F::Output: MainOutput,
{
    let mut body = pin!(CatchUnwind::new(body));
    let mut body_outcome = tokio::select! {
        biased;
        out = &mut body => Some(body_ended(out)),
        () = ctl.initiated.wait() => None,
    };
    let body_done = CancellationToken::new();
    if let Some(out) = &body_outcome {
        ctl.initiate(out.trigger());
        body_done.cancel();
    }

    let mut sequence = pin!(sequence(ctl, &config, hooks, body_done.clone()));
    let end = loop {
        tokio::select! {
            biased;
            end = &mut sequence => break end,
            out = &mut body, if body_outcome.is_none() => {
                body_outcome = Some(body_ended(out));
                body_done.cancel();
            }
        }
    };

    let body_still_running = body_outcome.is_none();
    let exit = if let Some(signal) = end.forced {
        Exit::Forced(signal)
    } else if body_still_running || end.hooks.iter().any(|h| h.outcome.hit_deadline()) {
        Exit::DeadlineExceeded
    } else if matches!(body_outcome, Some(BodyOutcome::Panicked(_))) {
        Exit::Panicked
    } else if matches!(body_outcome, Some(BodyOutcome::Err(_)))
        || end.hooks.iter().any(|h| h.outcome.is_failure())
    {
        Exit::Failed
    } else {
        Exit::Clean
    };
    Report {
        trigger: end.trigger,
        deadline: config.deadline,
        duration: end.duration,
        hooks: end.hooks,
        tasks_still_running: end.tasks_still_running,
        body_still_running,
        main_error: match body_outcome {
            Some(BodyOutcome::Err(e) | BodyOutcome::Panicked(e)) => Some(e),
            _ => None,
        },
        exit,
    }
}

/// What the sequence found, before the body's outcome is folded in.
struct End {
    trigger: Trigger,
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
}

/// What every step of one shutdown shares.
#[derive(Clone)]
struct Env {
    ctl: &'static Controller,
    trigger: Trigger,
    start: Instant,
    deadline: Instant,
    tasks_order: i32,
    body_done: CancellationToken,
}

async fn sequence(
    ctl: &'static Controller,
    config: &Config,
    hooks: Vec<HookDef>,
    body_done: CancellationToken,
) -> End {
    let trigger = ctl
        .trigger()
        .unwrap_or_else(|| Trigger::Requested("unknown".into()));
    let start = Instant::now();
    let env = Env {
        ctl,
        trigger: trigger.clone(),
        start,
        deadline: start + config.deadline,
        tasks_order: config.tasks_order,
        body_done,
    };
    let hard_stop_at = env.deadline - config.hard_stop_margin();
    let _hard_stop = AbortOnDrop(tokio::spawn(async move {
        sleep_until(hard_stop_at).await;
        ctl.hard_stop.set();
    }));

    // The drain delay lets load balancers deregister the instance; it has no use when the
    // body itself has ended.
    let drain_delay = match trigger {
        Trigger::Signal(_) | Trigger::Requested(_) => config.drain_delay,
        _ => Duration::ZERO,
    };
    events::shutdown_started(&trigger, config.deadline, drain_delay);
    let mut end = End {
        trigger,
        duration: Duration::ZERO,
        hooks: Vec::new(),
        tasks_still_running: Vec::new(),
        forced: None,
    };
    if !drain_delay.is_zero() {
        tokio::select! {
            biased;
            () = ctl.forced.wait() => return forced(end, &env, Vec::new()),
            () = tokio::time::sleep(drain_delay) => {}
        }
    }
    ctl.requested.set();

    for (order, group) in plan(hooks, config.tasks_order) {
        let names: Vec<String> = group.iter().map(Step::name).collect();
        let mut done: Vec<Option<HookReport>> = vec![None; group.len()];
        let mut running = JoinSet::new();
        for (i, step) in group.into_iter().enumerate() {
            let env = env.clone();
            running.spawn(async move { (i, run_step(step, env).await) });
        }
        loop {
            tokio::select! {
                biased;
                () = ctl.forced.wait() => {
                    running.abort_all();
                    let interrupted = interrupted(&names, &done, order, &env);
                    end.hooks.extend(done.into_iter().flatten());
                    return forced(end, &env, interrupted);
                }
                next = running.join_next() => match next {
                    None => break,
                    Some(Ok((i, report))) => {
                        events::step_finished(&report);
                        done[i] = Some(report);
                    }
                    // `run_step` turns the hook's own panics into outcomes; a panic here is
                    // ours, and the step's slot stays empty rather than hiding it.
                    Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                },
            }
        }
        end.hooks.extend(done.into_iter().flatten());
    }
    end.duration = start.elapsed();
    end.tasks_still_running = ctl.tasks.live_names();
    end
}

/// The steps grouped by order, ascending; within a group, by name.
fn plan(hooks: Vec<HookDef>, tasks_order: i32) -> BTreeMap<i32, Vec<Step>> {
    let mut groups: BTreeMap<i32, Vec<Step>> = BTreeMap::new();
    for hook in hooks {
        groups.entry(hook.order).or_default().push(Step::Hook(hook));
    }
    groups.entry(tasks_order).or_default().push(Step::Tasks);
    for group in groups.values_mut() {
        group.sort_by_key(Step::name);
    }
    groups
}

fn interrupted(
    names: &[String],
    done: &[Option<HookReport>],
    order: i32,
    env: &Env,
) -> Vec<HookReport> {
    let now = Instant::now();
    names
        .iter()
        .zip(done)
        .filter(|(_, d)| d.is_none())
        .map(|(name, _)| HookReport {
            name: name.clone().into(),
            order,
            always: false,
            started_after: Duration::ZERO,
            duration: now - env.start,
            outcome: Outcome::Interrupted,
        })
        .collect()
}

fn forced(mut end: End, env: &Env, interrupted: Vec<HookReport>) -> End {
    let signal = env.ctl.forced_by().unwrap_or(Signal::Interrupt);
    let mut still_running: Vec<String> = interrupted.iter().map(|h| h.name.to_string()).collect();
    if !env.body_done.is_cancelled() {
        still_running.push("main".to_owned());
    }
    let tasks = env.ctl.tasks.live_names();
    still_running.extend(tasks.iter().cloned());
    events::forced(signal, &still_running);
    end.hooks.extend(interrupted);
    end.duration = env.start.elapsed();
    end.tasks_still_running = tasks;
    end.forced = Some(signal);
    end
}
