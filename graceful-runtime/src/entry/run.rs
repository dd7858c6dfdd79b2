//! What [`Main::run`](crate::Main::run), and so `#[graceful::main]`, runs: the
//! environment, the runtime, the signals, the sequence, the report, the last word, the
//! exit.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::last_word;
use crate::api;
use crate::config::env::Environment;
use crate::config::{Config, Flavor};
use crate::controller::{self, Controller, SignalEffect};
use crate::hook::{self, HookDef};
use crate::report::{self, log, Exit};
use crate::sequence;
use crate::systemd::Notifier;
use crate::trigger::body::MainOutput;
use crate::trigger::panic::{self, CatchUnwind};
use crate::trigger::{self, Signal};

/// How long a second signal waits for the sequence to report and exit before the signal
/// thread exits by itself (a runtime whose threads are all blocked cannot).
const FORCE_GRACE: Duration = Duration::from_millis(200);

/// Runs the program and its shutdown, then exits the process with the report's code.
///
/// The environment is read first: it overrides what was set, and a bad value stops the
/// program with code 2 before anything runs. The body runs on this thread; the sequence
/// runs on a thread of its own and ends the process when it is done, whatever the body is
/// doing. The process exits with [`std::process::exit`] rather than by dropping the
/// runtime: a blocking thread that never returns would keep a dropped runtime waiting
/// forever.
pub(super) fn run<F>(config: Config, body: F) -> !
where
    F: Future,
    F::Output: MainOutput,
{
    let ctl = controller::global();
    if tokio::runtime::Handle::try_current().is_ok() {
        refuse(
            ctl,
            "graceful builds its own tokio runtime and cannot run inside another: call \
             `graceful::Main::run` from a plain `fn main`, or use `#[graceful::main]` instead of \
             `#[tokio::main]`",
        );
    }
    let config = match Environment::read() {
        Ok(env) => config.with_env(env),
        Err(errors) => {
            for message in &errors[..errors.len() - 1] {
                log::config_error(message);
            }
            refuse(ctl, &errors[errors.len() - 1]);
        }
    };
    if let Err(message) = config.validate() {
        refuse(ctl, &message);
    }
    // The sockets passed to the process, and the variables that announce them, are taken
    // while this is its only thread: see `serve/inherited.rs`.
    crate::serve::inherited::take_all();
    let runtime = match build_runtime(&config) {
        Ok(rt) => rt,
        Err(e) => refuse(ctl, &format!("cannot start the tokio runtime: {e}")),
    };
    let hooks = hook::registered();
    ctl.prepare(
        config.drain_delay,
        config.on_task_panic,
        hook::needs(&hooks),
        Notifier::from_env(),
    );
    // A `ready()` called before `run`, from a plain `fn main`, is said now.
    api::ready::announce_if_prepared(ctl);
    warn_before_start(&config, &hooks);
    #[cfg(unix)]
    if config.upgrade.is_some() {
        crate::upgrade::prepare(config.upgrade_timeout);
        crate::upgrade::control::listen(ctl, runtime.handle());
    }
    let always_budget = hook::always_budget(&hooks);
    let exit_limit = config.exit_limit(always_budget);
    // When the process must be gone: what the last word may use, and no more.
    let gone_by = config.deadline.saturating_add(always_budget);
    let report_path = config.report_path.clone();
    // Armed before the body runs, on a thread of its own: it counts from the moment the
    // shutdown starts even if every runtime thread is blocked then.
    arm_watchdog(ctl, exit_limit);
    // The sequence runs on a thread of its own, in the runtime's context: the first
    // trigger wakes it as a parked thread, in a few microseconds, where a runtime worker
    // asleep in its I/O driver takes several times as long to reach; and it reports and
    // exits from there, with no hop to another thread in between.
    let signals = config.signals.clone();
    let upgrade_signal = config.upgrade;
    let handle = runtime.handle().clone();
    let upgrades = runtime.handle().clone();
    let spawned = std::thread::Builder::new()
        .name("graceful-sequence".into())
        .spawn(move || {
            let sequence = CatchUnwind::new(sequence::run(ctl, config, hooks));
            match handle.block_on(sequence) {
                Ok(report) => {
                    // From here on the exit code is the report's, whatever signal comes.
                    ctl.reported.set();
                    // A logger that panics on the summary loses the line, not the report
                    // file: the log never passes a subscriber's panic on.
                    log::summary(&report);
                    let started = ctl.started_at().map(tokio::time::Instant::into_std);
                    if let Some(path) = &report_path {
                        report::save(path, &report, started.map(|at| at + exit_limit));
                    }
                    let forced = matches!(report.exit(), Exit::Forced(_));
                    let until = last_word::until(started.map(|at| at + gone_by), forced);
                    last_word::run(ctl, Some(handle), until);
                    exit_process(report.exit_code());
                }
                Err(payload) => {
                    ctl.reported.set();
                    log::sequence_failed(&panic::message(&*payload));
                    last_word::run(ctl, Some(handle), last_word::until(None, true));
                    exit_process(Exit::Panicked.code());
                }
            }
        });
    if let Err(e) = spawned {
        refuse(ctl, &format!("cannot start the shutdown's thread: {e}"));
    }
    let body_then_wait = async move {
        // Before the body runs, so that no signal finds the default action in place.
        let listened: Vec<Signal> = signals.iter().copied().chain(upgrade_signal).collect();
        let listening = trigger::listen(&listened, move |s| {
            if Some(s) == upgrade_signal {
                on_upgrade_signal(ctl, &upgrades);
            } else {
                on_signal(ctl, s);
            }
        });
        if let Err(message) = listening {
            refuse(ctl, &message);
        }
        controller::run_body(ctl, body).await;
        // The sequence's thread ends the process.
        std::future::pending::<()>().await;
    };
    runtime.block_on(body_then_wait);
    unreachable!("the body's future never completes: the sequence's thread exits the process")
}

/// A configuration that cannot run: said on stderr, then the program's last word (a log
/// writer handed to `drop_at_exit` flushes the message too), then exit code 2.
fn refuse(ctl: &'static Controller, message: &str) -> ! {
    log::config_error(message);
    last_word::run(ctl, None, last_word::until(None, false));
    exit_process(Exit::Config.code())
}

/// What can be told before the body runs, and would otherwise only show at the shutdown:
/// steps named alike, a shutdown longer than the orchestrator waits, a report path that
/// cannot work. Warnings only: the program runs.
fn warn_before_start(config: &Config, hooks: &[HookDef]) {
    for name in hook::shared_names(hooks) {
        log::shared_hook_name(name);
    }
    if let Some(warning) = config.grace_period_warning(hook::always_budget(hooks)) {
        log::grace_period_too_short(&warning);
    }
    if let Some(path) = &config.report_path {
        if let Some(problem) = report::check_path(path) {
            log::report_path_unusable(path, &problem);
        }
    }
}

/// The first signal starts the shutdown; the second is reported by the sequence, which
/// exits at once, or, once the report is made, cuts the last word short. Should the
/// sequence not take it up (its thread blocked, say on a log write that never returns),
/// this exits itself.
fn on_signal(ctl: &'static Controller, signal: Signal) {
    if ctl.on_signal(signal) != SignalEffect::Forced {
        return;
    }
    let give_up = std::time::Instant::now() + FORCE_GRACE;
    while std::time::Instant::now() < give_up {
        if ctl.forced_seen.is_set() {
            return;
        }
        if ctl.reported.is_set() {
            // The shutdown is over and reported: the last word is cut short, and the
            // exit keeps the report's code.
            log::forced_during_last_word(signal);
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    log::forced_without_runtime(
        ctl.first_signal(),
        signal,
        FORCE_GRACE,
        &ctl.tasks.live_names(),
    );
    exit_process(signal.forced_exit_code());
}

/// The upgrade signal: an upgrade in place, run as a tracked task, so that a stop that
/// comes during it waits for the new process it stops too. A failure is logged there.
/// Without Unix there is no upgrade signal, so this is never called there.
fn on_upgrade_signal(ctl: &'static Controller, runtime: &tokio::runtime::Handle) {
    #[cfg(unix)]
    {
        let _runtime = runtime.enter();
        drop(crate::upgrade::spawn(ctl));
    }
    #[cfg(not(unix))]
    let _ = (ctl, runtime);
}

/// Ends the process once: a second caller (the watchdog, the signal thread and the
/// sequence may race) waits for the first to finish.
fn exit_process(code: i32) -> ! {
    static EXITING: AtomicBool = AtomicBool::new(false);
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    #[cfg(unix)]
    crate::upgrade::control::remove();
    std::process::exit(code)
}

fn build_runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match config.flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = config.worker_threads {
        builder.worker_threads(n);
    }
    builder.enable_all().build()
}

/// The backstop: if the runtime itself is stuck (a hook blocking the only thread of a
/// current-thread runtime), this thread still ends the process on time, counting from
/// the moment the shutdown started.
fn arm_watchdog(ctl: &'static Controller, limit: Duration) {
    let spawned = std::thread::Builder::new()
        .name("graceful-watchdog".into())
        .spawn(move || {
            let until = ctl.wait_started().into_std() + limit;
            std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()));
            log::watchdog_fired(limit);
            exit_process(Exit::DeadlineExceeded.code());
        });
    if let Err(e) = spawned {
        tracing::warn!(target: log::TARGET, "cannot start the shutdown watchdog thread: {e}");
    }
}
