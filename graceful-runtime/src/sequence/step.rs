//! One step of the sequence: a hook within its time budget, or the drain of the body and
//! the tracked tasks.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use super::{Frame, Step};
use crate::config::{self, ALWAYS_DEFAULT_TIMEOUT};
use crate::controller;
use crate::hook::{Action, Context, ContextInner, HookDef};
use crate::report::{HookReport, Outcome, TASKS_STEP};
use crate::trigger::panic;

pub(super) async fn run_step(step: Step, frame: Frame) -> HookReport {
    let started = Instant::now();
    let (name, order, always, outcome) = match step {
        Step::Tasks => (
            TASKS_STEP.into(),
            frame.tasks_order,
            false,
            drain_tasks(&frame, started).await,
        ),
        Step::Hook(hook) => {
            let outcome = run_hook(&hook, &frame, started).await;
            (hook.name, hook.order, hook.always, outcome)
        }
    };
    // A step passed by (the deadline had passed) never started, and took no time.
    let ran = outcome != Outcome::Skipped;
    HookReport {
        name,
        order,
        always,
        started_after: ran.then(|| started - frame.start),
        duration: if ran {
            started.elapsed()
        } else {
            Duration::ZERO
        },
        outcome,
    }
}

async fn drain_tasks(frame: &Frame, started: Instant) -> Outcome {
    if started >= frame.deadline {
        return Outcome::Skipped;
    }
    frame.ctl.tasks.close();
    let drained = async {
        frame.ctl.body_done.wait().await;
        frame.ctl.tasks.wait().await;
    };
    match timeout_at(frame.deadline, drained).await {
        Ok(()) => Outcome::Completed,
        Err(_) => Outcome::TimedOut {
            after: started.elapsed(),
            by_deadline: true,
        },
    }
}

/// A hook's time: its own `timeout`, never more than the deadline leaves; an `always`
/// hook gets its own `timeout` (or at least one second) even past the deadline. The
/// flag says whether running out of it is the deadline's doing: an `always` hook without
/// a `timeout` has the second only because the deadline left it less.
fn budget(hook: &HookDef, left: Duration) -> Option<(Duration, bool)> {
    if hook.always {
        return Some(match hook.timeout {
            Some(t) => (t, false),
            None => (left.max(ALWAYS_DEFAULT_TIMEOUT), true),
        });
    }
    if left.is_zero() {
        return None;
    }
    Some(match hook.timeout {
        Some(t) if t < left => (t, false),
        _ => (left, true),
    })
}

async fn run_hook(hook: &HookDef, frame: &Frame, started: Instant) -> Outcome {
    let left = frame.deadline.saturating_duration_since(started);
    let Some((budget, by_deadline)) = budget(hook, left) else {
        return Outcome::Skipped;
    };
    let ends_at = config::after(started, budget);
    let token = CancellationToken::new();
    let ctx = Context::from(ContextInner {
        hook: hook.name.clone(),
        order: hook.order,
        trigger: frame.trigger.clone(),
        deadline: frame.deadline,
        ends_at,
        token: token.clone(),
        controller: frame.ctl,
    });
    let mut task = AbortOnDrop(match &hook.action {
        // The hook's own code finds its program's controller (a test harness's, in tests).
        Action::Async(f) => tokio::spawn(controller::scope(frame.ctl, f(ctx))),
        Action::Blocking(f) => {
            let (f, ctl) = (f.clone(), frame.ctl);
            tokio::task::spawn_blocking(move || {
                let _current = controller::enter(ctl);
                f(ctx)
            })
        }
    });
    match timeout_at(ends_at, &mut task.0).await {
        Ok(Ok(Ok(()))) => Outcome::Completed,
        Ok(Ok(Err(e))) => Outcome::Failed(e.into_message()),
        Ok(Err(e)) if e.is_panic() => Outcome::Panicked(panic::message(&*e.into_panic())),
        Ok(Err(_)) => Outcome::Failed("its task was cancelled".to_owned()),
        Err(_) => {
            token.cancel();
            Outcome::TimedOut {
                after: budget,
                by_deadline,
            }
        }
    }
}

/// Aborts a task when the step that started it is dropped (timeout, second signal).
/// A blocking hook cannot be aborted: its thread is left behind and dies with the process.
pub(super) struct AbortOnDrop<T>(pub(super) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
