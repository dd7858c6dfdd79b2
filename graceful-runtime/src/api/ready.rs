//! The program says it is ready to serve.

use crate::controller::{self, Controller};
#[cfg(unix)]
use crate::handover;
use crate::report::log;

/// Says that the program is ready to serve: call it once it listens, is connected, and
/// has given its hooks what they need with [`provide`](crate::provide).
///
/// It does two things:
///
/// - With `NOTIFY_SOCKET` set (a systemd service with `Type=notify`), it sends
///   `READY=1`, which is what systemd waits for before it counts the service as started
///   (and starts the units ordered after it). In a process started by an
///   [`upgrade`](crate::upgrade) in place, it tells the process it replaces instead, which
///   then stops accepting and drains: call it once the new program serves.
/// - It checks that every teardown hook's [`State<T>`](crate::State) parameters have
///   been provided, and warns now, naming the hook and the type, of each that has not:
///   that hook would fail at the shutdown.
///
/// Only the first call does anything; a later one, or one once the shutdown has started,
/// is noted at debug level and ignored. Called before [`Main::run`](crate::Main::run),
/// it is carried out once `run` has set the program up, before the body runs. Without
/// `NOTIFY_SOCKET`, and with every state provided, it does nothing visible: call it
/// anyway, so the program works the same under systemd and elsewhere.
///
/// ```no_run
/// struct Pool;
/// # impl Pool { async fn connect() -> std::io::Result<Pool> { Ok(Pool) } }
///
/// #[graceful::teardown(order = 20)]
/// async fn close_pool(pool: graceful::State<Pool>) { /* ... */ }
///
/// #[graceful::main]
/// async fn main() -> std::io::Result<()> {
///     graceful::provide(Pool::connect().await?);
///     graceful::ready(); // READY=1 under systemd; every hook has its state
///     graceful::shutdown_requested().await;
///     Ok(())
/// }
/// ```
pub fn ready() {
    let ctl = controller::current();
    if !ctl.mark_ready() {
        log::ready_ignored("called again");
        return;
    }
    // Before the program is prepared (from a plain `fn main`, before `Main::run`), it
    // does not yet know its hooks and its service manager: `Main::run` announces it then.
    announce_if_prepared(ctl);
}

/// Announces the readiness the program said, once it is prepared: from [`ready`], or from
/// `Main::run` when `ready` came first.
pub(crate) fn announce_if_prepared(ctl: &'static Controller) {
    if !ctl.claim_ready_announcement() {
        return;
    }
    warn_of_missing_states(ctl);
    ctl.run_at_ready();
    announce(ctl);
}

/// Each hook's `State<T>` that nothing was provided for, said now rather than found at
/// the shutdown.
fn warn_of_missing_states(ctl: &Controller) {
    for need in ctl.needs() {
        if !ctl.provided.has(need.state) {
            log::missing_state(&need.hook, (need.state.name)());
        }
    }
}

/// Tells whoever waits for this program that it is ready: the one place where it is
/// said. The process this one replaces, when an upgrade in place started this one: it
/// hands over, and tells the service manager itself; otherwise the service manager
/// (`READY=1`). Never once the shutdown has started: the service manager would hear
/// `READY=1` after `STOPPING=1`, the old process would hand over to one that stops.
fn announce(ctl: &Controller) {
    let told = ctl.unless_shutting_down(|| {
        #[cfg(unix)]
        match handover::say_ready() {
            Ok(Some(pid)) => return format!("the process it replaces (pid {pid})"),
            Ok(None) => {}
            Err(e) => {
                log::ready_not_told(&format!("the process it replaces: {e}"));
                return "nobody: the process it replaces cannot be told".to_owned();
            }
        }
        match ctl.notifier() {
            Some(notifier) => {
                notifier.ready();
                "the service manager (READY=1)".to_owned()
            }
            None => "nobody: no NOTIFY_SOCKET".to_owned(),
        }
    });
    match told {
        Some(whom) => log::ready(&whom),
        None => log::ready_ignored("called once the shutdown had started"),
    }
}
