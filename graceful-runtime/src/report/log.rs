//! The shutdown's log: a tracing event for each thing that happens (the start, each step,
//! the summary, what went wrong), mirrored on stderr as readable lines when the program
//! installed no tracing subscriber.

use std::time::Duration;

use super::{millis, Exit, HookReport, Outcome, Report};
use crate::sync::bounded;
use crate::trigger::{Signal, Trigger};

/// The tracing target of every event the shutdown emits.
pub(crate) const TARGET: &str = "graceful";

/// Emits a tracing event of the shutdown. A subscriber that panics (a writer whose output
/// went away with the signal) loses the event: the sequence, the report and the exit go on.
macro_rules! emit {
    ($level:ident, $($field:tt)+) => {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tracing::$level!(
                target: TARGET,
                process_id = std::process::id(),
                upgrade_role = role(),
                $($field)+
            )
        }));
    };
}

/// This process's part in an upgrade in place, for its log: two processes write one log
/// then, and a line of the new one that is rolled back ("shutdown started … exit code
/// 101") must not read as the service's end.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The process that started the new one, and hands over to it.
    Old = 1,
    /// A process an upgrade started.
    New = 2,
}

static ROLE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Marks this process's part in an upgrade: from then on each event says it, and the
/// process's id. A new process that upgrades in turn becomes the old one; one whose
/// upgrade failed is what it was before.
#[cfg(unix)]
pub(crate) fn set_role(role: Option<Role>) {
    ROLE.store(
        role.map_or(0, |r| r as u8),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// This process's part in an upgrade, if it has one.
#[cfg(unix)]
pub(crate) fn current_role() -> Option<Role> {
    match ROLE.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Some(Role::Old),
        2 => Some(Role::New),
        _ => None,
    }
}

/// `old` or `new` during an upgrade; outside one, nothing (the event has no such field).
fn role() -> Option<&'static str> {
    match ROLE.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Some("old"),
        2 => Some("new"),
        _ => None,
    }
}

/// True when no tracing subscriber would record our events.
fn no_subscriber() -> bool {
    tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>())
}

fn stderr_line(line: std::fmt::Arguments<'_>) {
    if no_subscriber() {
        write_stderr(format_args!("graceful: {line}"));
    }
}

/// Writes a line on stderr, whatever became of it. `eprintln!` panics when stderr is
/// closed or its reader has gone (`2>&1 | head -1`): here that would kill the sequence or
/// the watchdog and leave the process running. The line is dropped instead.
///
/// The line goes out in one write: stderr has no buffer, so formatting straight into it
/// costs a system call per piece, and on a pipe that other processes share (a container's
/// log) a line written in pieces can be torn by theirs.
fn write_stderr(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut text = line.to_string();
    if let Some(role) = role() {
        if let Some(rest) = text.strip_prefix("graceful: ") {
            text = format!("graceful (pid {}, {role}): {rest}", std::process::id());
        }
    }
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// How long a line written just before the exit may take.
const LAST_WORDS_PATIENCE: Duration = Duration::from_millis(500);

/// Writes a line on stderr just before the process exits, and waits for it no longer
/// than [`LAST_WORDS_PATIENCE`]: a stderr that blocks (a full pipe nobody reads, a
/// stalled journald) must not keep the watchdog or a second signal from ending the
/// process. The line is lost then.
fn last_words(line: String) {
    let _ = bounded::run("graceful-stderr", LAST_WORDS_PATIENCE, move || {
        write_stderr(format_args!("{line}"));
    });
}

pub(crate) fn shutdown_started(trigger: &Trigger, deadline: Duration, drain_delay: Duration) {
    emit!(
        info,
        trigger = %trigger,
        deadline_ms = deadline.as_millis() as u64,
        drain_delay_ms = drain_delay.as_millis() as u64,
        "shutdown started"
    );
    if drain_delay.is_zero() {
        stderr_line(format_args!(
            "{trigger}: shutting down (deadline {deadline:?})"
        ));
    } else {
        stderr_line(format_args!(
            "{trigger}: shutting down (deadline {deadline:?}, draining for {drain_delay:?} first)"
        ));
    }
}

pub(crate) fn signal_during_shutdown(signal: Signal) {
    emit!(info, signal = %signal, "signal received while already shutting down; send it again to force the exit");
    stderr_line(format_args!(
        "{signal} received while already shutting down; send it again to force the exit"
    ));
}

pub(crate) fn step_finished(step: &HookReport) {
    let name = step.name();
    let order = step.order();
    let duration_ms = millis(step.duration());
    let outcome = step.outcome();
    match outcome {
        Outcome::Completed => {
            emit!(info, hook = name, order, duration_ms, outcome = %outcome, "teardown step finished");
        }
        Outcome::Skipped | Outcome::Interrupted | Outcome::NotStarted => {
            emit!(warn, hook = name, order, duration_ms, outcome = %outcome, "teardown step finished");
        }
        Outcome::Failed(_) | Outcome::Panicked(_) | Outcome::TimedOut { .. } => {
            emit!(error, hook = name, order, duration_ms, outcome = %outcome, "teardown step finished");
        }
    }
    if step.started_after().is_some() {
        stderr_line(format_args!(
            "[order {order}] {name}: {outcome} ({})",
            Millis(step.duration())
        ));
    } else {
        // It never started: it took no time.
        stderr_line(format_args!("[order {order}] {name}: {outcome}"));
    }
}

/// `SIGTERM received again`, or `SIGTERM received after SIGINT`: what the second signal
/// was, told truly.
fn second_signal(first: Option<Signal>, second: Signal) -> String {
    match first {
        Some(first) if first != second => format!("{second} received after {first}"),
        _ => format!("{second} received again"),
    }
}

pub(crate) fn forced(
    first: Option<Signal>,
    signal: Signal,
    still_running: &[String],
    not_started: &[String],
) {
    let what = second_signal(first, signal);
    emit!(error, signal = %signal, first_signal = first.map(Signal::name), still_running = ?still_running,
        not_started = ?not_started, "second signal: exiting at once");
    stderr_line(format_args!(
        "{what}: exiting at once; still running: {}; not started: {}",
        list(still_running),
        list(not_started)
    ));
}

/// A second signal, and the sequence did not report within `grace`: its thread is
/// blocked. Always on stderr: no subscriber may get to run. The process exits next.
pub(crate) fn forced_without_runtime(
    first: Option<Signal>,
    signal: Signal,
    grace: Duration,
    tasks: &[String],
) {
    last_words(format!(
        "graceful: {}: exiting at once (the shutdown did not answer within {grace:?}: its thread is blocked); tasks still running: {}",
        second_signal(first, signal),
        list(tasks)
    ));
}

/// A tracked task panicked: said at once, with its name, whatever the shutdown makes of
/// it (`stops`: it starts the shutdown, unless one is under way).
pub(crate) fn task_panicked(task: &str, message: &str, stops: bool) {
    emit!(error, task, panic = message, "a tracked task panicked");
    let then = if stops {
        "the program stops (on_task_panic = \"shutdown\")"
    } else {
        "the program goes on without it (on_task_panic = \"continue\")"
    };
    stderr_line(format_args!(
        "a tracked task panicked ({task}): {message}; {then}"
    ));
}

/// The sequence itself failed: a bug in graceful.
pub(crate) fn sequence_failed(message: &str) {
    emit!(error, "the shutdown sequence failed: {message}");
    last_words(format!("graceful: the shutdown sequence failed: {message}"));
}

pub(crate) fn summary(report: &Report) {
    let counts = report.counts();
    let exit_code = report.exit_code();
    let total_ms = millis(report.duration());
    let trigger = report.trigger();
    let still_running = report.tasks_still_running();
    let panicked: Vec<&str> = report.tasks_panicked().iter().map(|t| t.name()).collect();
    let tasks_panicked = report.tasks_panicked_count();
    let cut_at_hard_stop = report.cut_at_hard_stop();
    // A second signal ended it before its end: it did not complete.
    let headline = match report.exit() {
        Exit::Forced(_) => "shutdown interrupted",
        _ => "shutdown complete",
    };
    macro_rules! summary_event {
        ($level:ident) => {
            emit!($level, trigger = %trigger, total_ms, completed = counts.completed, failed = counts.failed,
                panicked = counts.panicked, timed_out = counts.timed_out,
                cut_by_deadline = counts.cut_by_deadline, skipped = counts.skipped,
                interrupted = counts.interrupted, not_started = counts.not_started,
                still_running = ?still_running, tasks_panicked, cut_at_hard_stop, exit_code,
                "{headline}");
        };
    }
    if report.exit() == Exit::Clean {
        summary_event!(info);
    } else {
        summary_event!(warn);
    }
    let took = Millis(report.duration());
    let took = match report.exit() {
        Exit::Forced(_) => format!("after {took}"),
        _ => format!("in {took}"),
    };
    stderr_line(format_args!(
        "{headline} {took}: trigger {trigger}; steps: {counts}; exit code {}",
        report.exit()
    ));
    if !still_running.is_empty() {
        stderr_line(format_args!(
            "tasks still running at exit: {}",
            list(still_running)
        ));
    }
    if !panicked.is_empty() {
        let left_out = tasks_panicked.saturating_sub(panicked.len());
        let more = if left_out > 0 {
            format!(" (and {left_out} more between the first and the last)")
        } else {
            String::new()
        };
        stderr_line(format_args!(
            "tasks that panicked: {}{more}",
            panicked.join(", ")
        ));
    }
    if cut_at_hard_stop > 0 {
        stderr_line(format_args!(
            "work cut short at the hard stop: {cut_at_hard_stop} `until_hard_stop` call(s) gave up, a margin before the deadline"
        ));
    }
    for consumer in report.consumers() {
        let c = consumer.counts();
        emit!(
            info,
            consumer = consumer.name(),
            taken = c.taken,
            done = c.done,
            failed = c.failed,
            panicked = c.panicked,
            retried = c.retried,
            rejected = c.rejected,
            handed_back_unstarted = c.handed_back_unstarted,
            handed_back_cut = c.handed_back_cut,
            settle_failed = c.settle_failed,
            "consumer summary"
        );
        stderr_line(format_args!("consumer {:?}: {c}", consumer.name()));
    }
}

/// A consumer's source failed to give the next delivery: it is asked again after `pause`.
pub(crate) fn consume_next_failed(consumer: &str, error: &str, pause: Duration) {
    emit!(
        warn,
        consumer,
        error,
        pause_ms = pause.as_millis() as u64,
        "cannot take the next message"
    );
    stderr_line(format_args!(
        "consumer {consumer:?}: cannot take the next message: {error}; trying again in {}",
        Millis(pause)
    ));
}

/// A handler failed (returned an error or panicked) on a message; `then` says what
/// becomes of it.
pub(crate) fn consume_failed(consumer: &str, id: &str, attempt: u32, error: &str, then: &str) {
    emit!(warn, consumer, id, attempt, error, then, "message failed");
    stderr_line(format_args!(
        "consumer {consumer:?}: message {id} failed (attempt {attempt}): {error}; {then}"
    ));
}

/// A settlement of a message failed: the broker has it to deliver again.
pub(crate) fn consume_settle_failed(consumer: &str, id: &str, what: &str, error: &str) {
    emit!(
        error,
        consumer,
        id,
        settlement = what,
        error,
        "settlement failed"
    );
    stderr_line(format_args!(
        "consumer {consumer:?}: cannot {what} message {id}: {error}; the broker will deliver it again"
    ));
}

/// A consumer's source failed to stop or to close.
pub(crate) fn consume_source_failed(consumer: &str, what: &str, error: &str) {
    emit!(error, consumer, error, "cannot {what} the source");
    stderr_line(format_args!(
        "consumer {consumer:?}: cannot {what} the source: {error}"
    ));
}

/// What a source did that is worth a line: messages reclaimed from a killed process, a
/// heartbeat that failed.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn consume_note(message: &str) {
    emit!(info, "{message}");
    stderr_line(format_args!("{message}"));
}

/// A consumer stopped taking messages, and handed back what it had taken but not started.
pub(crate) fn consume_intake_stopped(consumer: &str, under_way: usize, handed_back: usize) {
    emit!(info, consumer, under_way, handed_back, "intake stopped");
    stderr_line(format_args!(
        "consumer {consumer:?}: intake stopped; {under_way} message(s) under way, {handed_back} handed back unstarted"
    ));
}

/// `graceful::ready()` found a hook that needs a `State` nobody provided: said now, so
/// the hook does not fail unnoticed at the shutdown.
pub(crate) fn missing_state(hook: &str, type_name: &str) {
    emit!(
        warn,
        hook,
        state = type_name,
        "a teardown hook needs a state that was not provided"
    );
    stderr_line(format_args!(
        "warning: hook `{hook}` takes `graceful::State<{type_name}>`, and nothing of that type was given to `graceful::provide`: it would fail at the shutdown"
    ));
}

/// `graceful::ready()` did what it does; debug level only: a program says it once.
pub(crate) fn ready(told: &str) {
    emit!(debug, told, "ready");
}

/// `graceful::ready()` could not reach whom it tells.
#[cfg(unix)]
pub(crate) fn ready_not_told(why: &str) {
    emit!(warn, why, "graceful::ready() could not tell");
    stderr_line(format_args!("graceful::ready() could not tell {why}"));
}

/// `graceful::ready()` called again, or once the shutdown had started: nothing done.
pub(crate) fn ready_ignored(why: &str) {
    emit!(debug, "graceful::ready() {why}: nothing to do");
}

/// The program's own last word (`at_exit`) panicked: the rest of it still runs, and
/// the exit code stands.
pub(crate) fn at_exit_panicked(message: &str) {
    emit!(error, panic = message, "an at-exit function panicked");
    write_stderr(format_args!(
        "graceful: an at-exit function panicked: {message}"
    ));
}

/// The program's own last word did not end in its time: the process exits without it.
/// On stderr whatever the subscriber: it may be what is stuck.
pub(crate) fn at_exit_late(waited: Duration) {
    last_words(format!(
        "graceful: the at-exit work did not end within {}; exiting without it",
        Millis(waited)
    ));
}

/// A second signal once the shutdown was reported: the at-exit work, if any, gets what
/// is left of half a second, and the exit code stays the report's.
pub(crate) fn forced_during_last_word(signal: Signal) {
    last_words(format!(
        "graceful: {signal} received after the shutdown was reported: exiting within half a second, with the report's exit code"
    ));
}

/// A configuration error stops the program before its body runs: always on stderr.
pub(crate) fn config_error(message: &str) {
    emit!(error, "{message}");
    write_stderr(format_args!("graceful: configuration error: {message}"));
}

/// Found before the body runs: the shutdown may outlast the orchestrator's grace period.
pub(crate) fn grace_period_too_short(message: &str) {
    emit!(warn, "{message}");
    stderr_line(format_args!("warning: {message}"));
}

/// Found before the body runs: several teardown steps carry one name.
pub(crate) fn shared_hook_name(name: &str) {
    emit!(warn, name, "several teardown steps are named alike");
    stderr_line(format_args!(
        "warning: several teardown steps are named `{name}`: the log and the report cannot tell them apart; give each its own `name = \"...\"`"
    ));
}

/// Found before the body runs: `GRACEFUL_REPORT` names a path that will not take the
/// report. Said now so the operator need not wait for a shutdown to learn it.
pub(crate) fn report_path_unusable(path: &std::path::Path, problem: &str) {
    emit!(warn, path = %path.display(), problem, "the shutdown report cannot be written there");
    stderr_line(format_args!(
        "warning: GRACEFUL_REPORT={:?} cannot take the shutdown report: {problem}",
        path.display().to_string()
    ));
}

/// The report could not be written where `GRACEFUL_REPORT` says; the exit code stands.
pub(crate) fn report_not_written(path: &std::path::Path, error: &std::io::Error) {
    emit!(warn, path = %path.display(), %error, "cannot write the shutdown report");
    stderr_line(format_args!(
        "cannot write the shutdown report to {}: {error}",
        path.display()
    ));
}

/// The service manager could not be notified; the shutdown goes on.
pub(crate) fn notify_failed(message: &str) {
    emit!(warn, "cannot notify the service manager: {message}");
    stderr_line(format_args!("cannot notify the service manager: {message}"));
}

// Serving: where each listener came from, and what the sockets passed to the process
// were not used for.

/// A listener was taken: bound afresh, or inherited (which is worth a line on stderr too).
pub(crate) fn listening(name: &str, kind: &str, address: &str, origin: &str, inherited: bool) {
    emit!(info, listener = name, kind, address, origin, "listening");
    if inherited {
        stderr_line(format_args!(
            "listener {name:?}: {kind} {address}, {origin}"
        ));
    }
}

/// What a listener did that is worth knowing: sockets passed to the process for another
/// one (by systemd, or announced by an upgrade) were left alone, a stale socket file was
/// replaced, a listener moved in an upgrade.
pub(crate) fn listener_note(message: &str) {
    emit!(info, "{message}");
    stderr_line(format_args!("{message}"));
}

/// A server could not accept a connection (a full descriptor table, say): said for the
/// first failure, then at most every few seconds with the count of those unsaid
/// (`unsaid`). It tries again after `pause`.
#[cfg(feature = "axum")]
pub(crate) fn accept_failed(server: &str, error: &std::io::Error, unsaid: u64, pause: Duration) {
    emit!(error, server, %error, unsaid, pause_ms = pause.as_millis() as u64, "cannot accept a connection");
    let more = match unsaid {
        0 => String::new(),
        n => format!(" ({n} more failures since the last line)"),
    };
    stderr_line(format_args!(
        "{server} server: cannot accept a connection: {error}{more}; trying again in {pause:?}"
    ));
}

/// A server's handler, or the body of its answer, or a connection panicked: `place`
/// says which (with the request's method and path), `outcome` what the server did. The
/// server goes on: no shutdown starts, and the exit code is not changed.
#[cfg(feature = "axum")]
pub(crate) fn serve_panicked(place: &str, message: &str, outcome: &str) {
    emit!(
        error,
        place,
        panic = message,
        outcome,
        "a panic while serving"
    );
    stderr_line(format_args!("a panic in {place}: {message}; {outcome}"));
}

/// `main` returned an error: printed like Rust's own `main` does, whatever the subscriber.
pub(crate) fn body_error(error: &str) {
    emit!(error, error, "main returned an error");
    write_stderr(format_args!("Error: {error}"));
}

pub(crate) fn watchdog_fired(limit: Duration) {
    last_words(format!(
        "graceful: the shutdown did not end within {limit:?} (the deadline and the `always` hooks' time); exiting with code 124"
    ));
}

/// The items, the first [`NAMES_SHOWN`](super::NAMES_SHOWN) of them and a count of the
/// rest: a line must stay a line when a deadline cuts thousands of connections.
fn list(items: &[String]) -> String {
    match items.len() {
        0 => "nothing".to_owned(),
        n if n <= super::NAMES_SHOWN => items.join(", "),
        n => format!(
            "{} and {} more",
            items[..super::NAMES_SHOWN].join(", "),
            n - super::NAMES_SHOWN
        ),
    }
}

/// A duration as milliseconds with one decimal, or seconds past 10 s.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs_f64();
        if secs >= 10.0 {
            write!(f, "{secs:.2}s")
        } else {
            write!(f, "{:.1}ms", secs * 1000.0)
        }
    }
}

// ---- Upgrade in place ----

#[cfg(unix)]
/// An upgrade started: the binary at `path` runs as `pid`, with these listeners.
pub(crate) fn upgrade_started(path: &std::path::Path, pid: u32, listeners: &[String]) {
    emit!(info, path = %path.display(), pid, listeners = ?listeners, "upgrade in place started");
    stderr_line(format_args!(
        "upgrade: started {} as pid {pid}, handing it {}; waiting for it to be ready",
        path.display(),
        if listeners.is_empty() {
            "no listener".to_owned()
        } else {
            format!("listener(s) {}", listeners.join(", "))
        }
    ));
}

#[cfg(unix)]
/// The new process said it is ready, and held up: it serves now, this one drains.
pub(crate) fn upgrade_handed_over(pid: u32, ready_after: Duration, held_up: Duration) {
    emit!(
        info,
        pid,
        ready_ms = millis(ready_after),
        "upgrade in place: handed over"
    );
    stderr_line(format_args!(
        "upgrade: pid {pid} was ready after {} and has held up for {}; it serves now, and this process stops accepting and drains",
        Millis(ready_after),
        Millis(held_up)
    ));
}

#[cfg(unix)]
/// An upgrade did not happen: why, and that this process goes on serving.
pub(crate) fn upgrade_failed(why: &str) {
    emit!(
        error,
        why,
        "upgrade in place failed; this process goes on serving"
    );
    stderr_line(format_args!(
        "upgrade failed: {why}; this process goes on serving"
    ));
}

#[cfg(unix)]
/// An upgrade that ended with the shutdown under way: this process does not serve on.
pub(crate) fn upgrade_abandoned(why: &str) {
    emit!(
        warn,
        why,
        "upgrade in place abandoned; this process shuts down"
    );
    stderr_line(format_args!(
        "upgrade abandoned: {why}; this process shuts down"
    ));
}

#[cfg(unix)]
/// Found at start: an upgrade could not start a binary, and will be refused.
pub(crate) fn upgrade_unavailable(why: &str) {
    emit!(warn, why, "upgrade in place unavailable");
    stderr_line(format_args!(
        "upgrade in place unavailable: {why}; an upgrade will fail"
    ));
}

#[cfg(unix)]
/// A trigger that could not start an upgrade.
pub(crate) fn upgrade_refused(why: &str) {
    emit!(warn, why, "upgrade in place refused");
    stderr_line(format_args!("upgrade refused: {why}"));
}

#[cfg(unix)]
/// Found at start: the control socket `graceful-ctl` speaks to could not be made.
pub(crate) fn control_unavailable(why: &str) {
    emit!(warn, why, "control socket unavailable");
    stderr_line(format_args!(
        "control socket unavailable: {why}; graceful-ctl cannot reach this process (the \
         upgrade signal still works)"
    ));
}

#[cfg(unix)]
/// A peer the control socket refused: another user than the service's, not root.
pub(crate) fn control_denied(uid: u32, pid: Option<i32>) {
    emit!(warn, uid, pid, "control socket: peer refused");
    let pid = pid.map_or_else(String::new, |pid| format!(" (pid {pid})"));
    stderr_line(format_args!(
        "control socket: refused a client of uid {uid}{pid}: only this service's user and \
         root may control it"
    ));
}

#[cfg(unix)]
/// The control socket was asked for an upgrade.
pub(crate) fn control_upgrade(uid: u32, pid: Option<i32>) {
    emit!(info, uid, pid, "control socket: upgrade asked");
    let pid = pid.map_or_else(String::new, |pid| format!(" (pid {pid})"));
    stderr_line(format_args!(
        "control socket: upgrade asked by uid {uid}{pid}"
    ));
}

#[cfg(unix)]
/// An upgrade still waits for its new process: said every few seconds, so that a log
/// read during the wait (up to a minute) says what it waits for.
pub(crate) fn upgrade_waiting(pid: u32, waited: Duration, limit: Duration, what: &str) {
    emit!(
        info,
        pid,
        waited_ms = millis(waited),
        "upgrade in place: still waiting"
    );
    stderr_line(format_args!(
        "upgrade: still waiting for pid {pid} {what} ({}s of {}s)",
        waited.as_secs(),
        limit.as_secs()
    ));
}
