//! What graceful says to systemd (or any service manager that speaks its protocols), and
//! what it takes from it.

#[cfg(unix)]
pub(crate) mod activation;
mod notify;

pub(crate) use notify::Notifier;
