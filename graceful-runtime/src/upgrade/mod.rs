//! Upgrade in place: this process starts the binary now on disk, hands it its listening
//! sockets, and once the new process says it is ready, stops accepting and drains, with
//! no connection refused in between. The old side of the handover; the protocol and the
//! new side are in `handover/`.
//!
//! One at a time: a trigger while an upgrade is under way, or in a process whose own
//! predecessor is still draining, is refused with a log line. The new process is given
//! [`GRACEFUL_UPGRADE_TIMEOUT`](crate::config::env::UPGRADE_TIMEOUT) to say it is ready;
//! failing that, or if it exits first, it is stopped and reaped, and this process goes on
//! serving as if nothing had happened. Once it is ready, it is watched for [`SETTLE`]
//! more, both serving, so that a program that dies as soon as it has said it is ready is
//! rolled back too.

#[cfg(unix)]
pub(crate) mod control;
mod error;
#[cfg(unix)]
mod exe;
#[cfg(unix)]
mod start;

#[cfg(unix)]
use std::sync::{Mutex, OnceLock};
#[cfg(unix)]
use std::time::{Duration, SystemTime};

#[cfg(unix)]
use crate::controller::{self, Controller};
#[cfg(unix)]
use crate::report::log;
#[cfg(unix)]
use crate::sync::lock;

pub use error::{ProcessExit, UpgradeError};

/// How long the new process is watched once it said it is ready, both processes
/// serving, before this one hands over.
#[cfg(unix)]
pub(crate) const SETTLE: Duration = Duration::from_secs(1);

/// What the program set up for its upgrades, once, when it started.
#[cfg(unix)]
struct Plan {
    /// The binary to start; or why it cannot be found.
    exe: Result<exe::Executable, String>,
    timeout: Duration,
}

#[cfg(unix)]
static PLAN: OnceLock<Plan> = OnceLock::new();

/// An upgrade under way: the new process's id once it is started, and since when.
#[cfg(unix)]
static UNDER_WAY: Mutex<Option<(Option<u32>, SystemTime)>> = Mutex::new(None);

/// Sets upgrades up for this program, when it starts: the binary to start is the one at
/// the path this process was started from, resolved now.
#[cfg(unix)]
pub(crate) fn prepare(timeout: Duration) {
    let exe = exe::this_program().map_err(|e| format!("cannot tell which binary to start: {e}"));
    if let Err(why) = &exe {
        log::upgrade_unavailable(why);
    }
    let _ = PLAN.set(Plan { exe, timeout });
}

/// Starts the binary now at the path this program was started from, hands it every
/// [`listener`](crate::listener), and, once it says it is [`ready`](crate::ready) (and
/// holds up for a second), starts this process's shutdown with the trigger
/// [`Trigger::Upgrade`](crate::Trigger::Upgrade): it stops accepting, drains, runs its
/// hooks and exits. Returns the new process's id then.
///
/// The same as the upgrade signal (`#[graceful::main(upgrade)]`: `SIGHUP`), for an admin
/// endpoint or a deploy tool that speaks to the program. The program must have opted in
/// (`upgrade` on the attribute, or [`Main::upgrade`](crate::Main::upgrade)).
///
/// On failure this process goes on serving, and the error says why; it is logged too. A
/// new process that exits, is killed by a signal, or does not call
/// [`ready`](crate::ready) within `GRACEFUL_UPGRADE_TIMEOUT` (60 s unless set) is
/// stopped (`SIGTERM`, then `SIGKILL` after five seconds) and reaped. It runs in a process
/// group of its own, which is ended then too: what it forked holds no socket afterwards.
/// (So a terminal's Ctrl-C, sent to the old process's group, does not reach it: stop an
/// upgraded service with a signal to its pid, as a service manager does.)
///
/// # Cancel safety
///
/// The upgrade runs as a task of its own (a tracked one: a shutdown waits for it), which
/// this future only awaits. Dropping the future (a `tokio::time::timeout`, an admin
/// handler whose client hung up) cancels nothing: the upgrade goes on to its end, the new
/// process is adopted or rolled back, the outcome is logged, and the service manager
/// hears `READY=1` after its `RELOADING=1` as ever. The next trigger is refused only
/// while that upgrade is still under way.
///
/// Call it from within the program's tokio runtime.
///
/// ```no_run
/// # async fn doc() {
/// match graceful::upgrade().await {
///     Ok(pid) => println!("pid {pid} serves now; this process drains"),
///     Err(e) => {
///         // What went wrong, then its cause (the system's error, the exit status), as
///         // anyhow's `{:#}` would say it.
///         let mut said = e.to_string();
///         let mut cause = std::error::Error::source(&e);
///         while let Some(c) = cause {
///             said = format!("{said}: {c}");
///             cause = c.source();
///         }
///         eprintln!("still serving here: {said}");
///     }
/// }
/// # }
/// ```
pub async fn upgrade() -> Result<u32, UpgradeError> {
    #[cfg(unix)]
    return match spawn(controller::current()).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Aborted: the process ends, and the upgrade with it.
        Err(_) => Err(UpgradeError::ShuttingDown),
    };
    #[cfg(not(unix))]
    Err(UpgradeError::NotEnabled)
}

/// Starts an upgrade as a tracked task of its own, which runs to its end whether or not
/// its outcome is awaited: what the upgrade signal and [`upgrade`] both do.
#[cfg(unix)]
pub(crate) fn spawn(
    ctl: &'static Controller,
) -> tokio::task::JoinHandle<Result<u32, UpgradeError>> {
    controller::tasks::spawn_in(
        ctl,
        controller::tasks::TaskName::Named("upgrade in place".into()),
        upgrade_here(ctl),
    )
}

#[cfg(unix)]
async fn upgrade_here(ctl: &'static Controller) -> Result<u32, UpgradeError> {
    let role = log::current_role();
    let result = match begin(ctl) {
        Ok(plan) => {
            let result = start::start(ctl, plan).await;
            *lock(&UNDER_WAY) = None;
            result
        }
        Err(e) => Err(e),
    };
    match &result {
        Ok(_) => {}
        Err(e) if e.was_refused() => log::upgrade_refused(&crate::trigger::body::chain(e)),
        Err(e) => {
            // Serving on, systemd hears READY=1 again; once the shutdown has started (a
            // stop came during the upgrade), it has heard STOPPING=1, and nothing more
            // of the upgrade.
            let serving_on = ctl.unless_shutting_down(|| {
                if let Some(notifier) = ctl.notifier() {
                    notifier.upgrade_failed(&crate::trigger::body::chain(e));
                }
            });
            match serving_on {
                Some(()) => log::upgrade_failed(&crate::trigger::body::chain(e)),
                None => log::upgrade_abandoned(&crate::trigger::body::chain(e)),
            }
            // Its log no longer speaks of an old process.
            log::set_role(role);
        }
    }
    result
}

/// The checks before an upgrade starts; marks it under way.
#[cfg(unix)]
fn begin(ctl: &'static Controller) -> Result<&'static Plan, UpgradeError> {
    let plan = PLAN.get().ok_or(UpgradeError::NotEnabled)?;
    if ctl.is_shutting_down() {
        return Err(UpgradeError::ShuttingDown);
    }
    if let Some(pid) = crate::handover::previous() {
        if !crate::handover::previous_gone() {
            return Err(UpgradeError::PreviousStillDraining { pid });
        }
    }
    let mut under_way = lock(&UNDER_WAY);
    if let Some((pid, _)) = *under_way {
        return Err(UpgradeError::AlreadyUnderWay { pid });
    }
    *under_way = Some((None, SystemTime::now()));
    Ok(plan)
}

/// Records the new process's id, for the refusal of a second trigger.
#[cfg(unix)]
fn started(pid: u32) {
    if let Some((slot, _)) = lock(&UNDER_WAY).as_mut() {
        *slot = Some(pid);
    }
}

/// The upgrade under way, if one is: its new process once started, and since when.
#[cfg(unix)]
fn under_way() -> Option<(Option<u32>, SystemTime)> {
    *lock(&UNDER_WAY)
}

/// The id of the process this one replaced, when an upgrade in place started it; until
/// that process has exited, this one refuses an upgrade of its own.
///
/// For a program that must tell an upgrade from a fresh start: a queue consumer that, at a
/// fresh start, takes back the messages a crashed predecessor of its name held, must not
/// take those of a predecessor that is still finishing them.
pub fn upgraded_from() -> Option<u32> {
    #[cfg(unix)]
    return crate::handover::previous();
    #[cfg(not(unix))]
    None
}
