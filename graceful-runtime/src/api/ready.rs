//! The program says it is ready to serve.

use crate::controller::{self, Controller};
use crate::report::log;

/// Says that the program is ready to serve: call it once it listens, is connected, and
/// has given its hooks what they need with [`provide`](crate::provide).
///
/// It does two things:
///
/// - With `NOTIFY_SOCKET` set (a systemd service with `Type=notify`), it sends
///   `READY=1`, which is what systemd waits for before it counts the service as started
///   (and starts the units ordered after it).
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
/// said. Today the service manager (`READY=1`). Never once the shutdown has started: the
/// service manager would hear `READY=1` after `STOPPING=1`.
fn announce(ctl: &Controller) {
    let told = ctl.unless_shutting_down(|| match ctl.notifier() {
        Some(notifier) => {
            notifier.ready();
            "the service manager (READY=1)"
        }
        None => "nobody: no NOTIFY_SOCKET",
    });
    match told {
        Some(whom) => log::ready(whom),
        None => log::ready_ignored("called once the shutdown had started"),
    }
}
