//! What graceful says to systemd (or any service manager that speaks its protocols).

mod notify;

pub(crate) use notify::Notifier;
