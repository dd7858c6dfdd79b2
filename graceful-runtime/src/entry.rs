//! What `#[graceful::main]` runs: the runtime, the signals, the sequence, the exit.

use std::future::Future;
use std::time::Duration;

use crate::body::MainOutput;
use crate::config::{Config, ALWAYS_DEFAULT_TIMEOUT};
use crate::hook::{self, HookDef};
use crate::sequence;
use crate::{controller, events, signal};

/// The backstop's slack past the deadline and the `always` hooks' time.
const WATCHDOG_SLACK: Duration = Duration::from_millis(500);

/// Runs the program and its shutdown, then exits the process with the report's code.
///
/// The process exits with [`std::process::exit`] rather than by dropping the runtime: a
/// blocking thread that never returns would keep a dropped runtime waiting forever.
pub fn run<F>(config: Config, body: F) -> !
where
    F: Future,
    F::Output: MainOutput,
{
    let code = run_to_exit_code(config, body);
    std::process::exit(code)
}

fn run_to_exit_code<F>(config: Config, body: F) -> i32
where
    F: Future,
    F::Output: MainOutput,
{
    if let Err(message) = config.validate() {
        events::config_error(&message);
        return crate::Exit::Config.code();
    }
    let runtime = match build_runtime(&config) {
        Ok(rt) => rt,
        Err(e) => {
            events::config_error(&format!("cannot start the tokio runtime: {e}"));
            return crate::Exit::Config.code();
        }
    };
    let ctl = controller::global();
    let hooks = hook::registered();
    let watchdog_limit = config.deadline + always_budget(&hooks) + WATCHDOG_SLACK;
    let outcome = runtime.block_on(async {
        // Before the body runs, so that no signal finds the default action in place.
        signal::listen(config.signals, move |s| ctl.on_signal(s))?;
        tokio::spawn(async move {
            ctl.initiated.wait().await;
            arm_watchdog(watchdog_limit);
        });
        Ok::<_, String>(sequence::drive(ctl, config, hooks, body).await)
    });
    // Not dropped: a stuck blocking thread would hang the drop. The process exits now.
    std::mem::forget(runtime);
    match outcome {
        Ok(report) => {
            events::summary(&report);
            report.exit_code()
        }
        Err(message) => {
            events::config_error(&message);
            crate::Exit::Config.code()
        }
    }
}

fn build_runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if config.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if let Some(n) = config.worker_threads {
        builder.worker_threads(n);
    }
    builder.enable_all().build()
}

/// The most the `always` hooks can add past the deadline.
fn always_budget(hooks: &[HookDef]) -> Duration {
    hooks
        .iter()
        .filter(|h| h.always)
        .map(|h| h.timeout.unwrap_or(ALWAYS_DEFAULT_TIMEOUT))
        .sum()
}

/// The backstop: if the runtime itself is stuck (a hook blocking a worker thread of a
/// current-thread runtime), this thread still ends the process on time.
fn arm_watchdog(limit: Duration) {
    let spawned = std::thread::Builder::new()
        .name("graceful-watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            events::watchdog_fired(limit);
            std::process::exit(crate::Exit::DeadlineExceeded.code());
        });
    if let Err(e) = spawned {
        tracing::warn!(target: events::TARGET, "cannot start the shutdown watchdog thread: {e}");
    }
}
