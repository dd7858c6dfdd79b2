//! Readiness: ready until the first signal, not ready from it on, with the reason. What
//! a readiness probe, a load balancer's health check and gRPC's health service report.
//!
//! The new process of an upgrade in place is not ready until it calls
//! [`ready`](crate::ready): the old process serves meanwhile, and one that never calls it
//! is rolled back. A first process is ready from its start, as before: many programs
//! never call `ready()` (it matters only under systemd), and a readiness that waited for
//! it would take each of them out of its load balancer for good.

use crate::controller;

/// Why the program is not ready: `None` while it is. From the first signal (or
/// [`request_shutdown`](crate::request_shutdown) call, or `main` ending) on, the reason,
/// such as `shutting down: SIGTERM`; in the new process of an upgrade in place, until it calls
/// [`ready`](crate::ready), `starting: …`.
///
/// It asks, where [`ready`](crate::ready) acts. One atomic load while the program runs.
/// `graceful::http::readiness` (feature `axum`) answers with it.
pub fn not_ready_reason() -> Option<String> {
    let ctl = controller::current();
    if !ctl.is_shutting_down() {
        #[cfg(unix)]
        if !ctl.is_ready() && crate::handover::previous().is_some() {
            return Some(
                "starting: the new process of an upgrade, until graceful::ready()".to_owned(),
            );
        }
        return None;
    }
    Some(match ctl.trigger() {
        Some(trigger) => format!("shutting down: {trigger}"),
        None => "shutting down".to_owned(),
    })
}

/// The former name of [`not_ready_reason`].
#[deprecated(
    note = "renamed `graceful::not_ready_reason`: it asks why, where `graceful::ready` acts"
)]
pub fn not_ready() -> Option<String> {
    not_ready_reason()
}
