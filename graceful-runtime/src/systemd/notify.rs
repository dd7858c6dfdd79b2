//! The notification protocol, spoken when `NOTIFY_SOCKET` is set: `READY=1` when the
//! program says it is ready (`graceful::ready()`, for `Type=notify`), `STOPPING=1` when
//! the shutdown starts, and `EXTEND_TIMEOUT_USEC=` so that `TimeoutStopSec=` does not cut
//! a shutdown that keeps to its own deadline. During an upgrade in place: `RELOADING=1`
//! with `MONOTONIC_USEC=` at its start (for `Type=notify-reload`), then `MAINPID=` of
//! the new process and `READY=1` at the handover, or `READY=1` and a `STATUS=` saying
//! why when it fails; nothing after a handover, when this process is no longer the
//! service's main one.
//!
//! systemd counts an `EXTEND_TIMEOUT_USEC=` from the moment it receives it, and only
//! ever moves its kill later. So each message carries what is left from now until the
//! process is sure to have exited (the deadline, the `always` hooks' time, the
//! watchdog's slack), never the whole budget again: that would push the kill past the
//! end with each message. One goes with `STOPPING=1`, and one after each step that ends
//! before the deadline, as a sign of progress.
//!
//! The address is a path (`/run/systemd/notify`) or, on Linux, an abstract socket
//! (`@name`). A failure to notify is logged, once, and never stops the shutdown.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::report::log;

/// The variable systemd sets for services that may notify it.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// A connection to the service manager.
pub(crate) struct Notifier {
    socket: os::Socket,
    /// The variable's value, for messages.
    address: String,
    failed: AtomicBool,
}

impl Notifier {
    /// The notifier `NOTIFY_SOCKET` asks for; `None` when it is unset or empty, or (with
    /// a warning) when its address cannot be used.
    pub(crate) fn from_env() -> Option<Notifier> {
        Notifier::from_value(std::env::var_os(NOTIFY_SOCKET)?)
    }

    fn from_value(value: OsString) -> Option<Notifier> {
        if value.is_empty() {
            return None;
        }
        let address = value.to_string_lossy().into_owned();
        match os::Socket::open(&value) {
            Ok(socket) => Some(Notifier {
                socket,
                address,
                failed: AtomicBool::new(false),
            }),
            Err(reason) => {
                log::notify_failed(&format!("{NOTIFY_SOCKET}={address:?}: {reason}"));
                None
            }
        }
    }

    /// The program is ready to serve: what `Type=notify` waits for.
    pub(crate) fn ready(&self) {
        self.send("READY=1");
    }

    /// An upgrade in place has started: for `Type=notify-reload`, the service is
    /// reloading, as of this moment on the monotonic clock.
    #[cfg(unix)]
    pub(crate) fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}",
            crate::sys::monotonic_usec()
        ));
    }

    #[cfg(unix)]
    /// The upgrade handed over: the new process `pid` is the service's main process
    /// now, and ready.
    pub(crate) fn handed_over(&self, pid: u32) {
        self.send(&format!("MAINPID={pid}\nREADY=1"));
    }

    #[cfg(unix)]
    /// The upgrade failed: this process goes on serving, as ready as before.
    pub(crate) fn upgrade_failed(&self, why: &str) {
        let why = why.replace('\n', " ");
        self.send(&format!("READY=1\nSTATUS=upgrade failed: {why}"));
    }

    /// The shutdown has started; the process is done within `left` from now.
    pub(crate) fn stopping(&self, left: Duration) {
        self.send(&format!(
            "STOPPING=1\nEXTEND_TIMEOUT_USEC={}",
            left.as_micros()
        ));
    }

    /// A step ended; the process is done within `left` from now.
    pub(crate) fn extend(&self, left: Duration) {
        self.send(&format!("EXTEND_TIMEOUT_USEC={}", left.as_micros()));
    }

    fn send(&self, message: &str) {
        if let Err(e) = self.socket.send(message.as_bytes()) {
            if !self.failed.swap(true, Ordering::Relaxed) {
                log::notify_failed(&format!(
                    "{NOTIFY_SOCKET}={:?}: {e} (further failures are not logged)",
                    self.address
                ));
            }
        }
    }
}

#[cfg(unix)]
mod os {
    use std::ffi::OsStr;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;
    use std::path::PathBuf;

    pub(super) struct Socket {
        socket: UnixDatagram,
        to: Address,
    }

    enum Address {
        Path(PathBuf),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Abstract(std::os::unix::net::SocketAddr),
    }

    impl Socket {
        pub(super) fn open(value: &OsStr) -> Result<Socket, String> {
            let to = match value.as_bytes() {
                [b'/', ..] => Address::Path(PathBuf::from(value)),
                [b'@', name @ ..] => abstract_address(name)?,
                _ => {
                    return Err(
                        "not a socket graceful can reach: expected an absolute path or `@` and an abstract name"
                            .to_owned(),
                    )
                }
            };
            let socket =
                UnixDatagram::unbound().map_err(|e| format!("cannot open a socket: {e}"))?;
            // A full queue must not hold the shutdown: the message is dropped instead.
            socket
                .set_nonblocking(true)
                .map_err(|e| format!("cannot open a socket: {e}"))?;
            Ok(Socket { socket, to })
        }

        pub(super) fn send(&self, message: &[u8]) -> io::Result<()> {
            let sent = match &self.to {
                Address::Path(path) => self.socket.send_to(message, path),
                #[cfg(any(target_os = "linux", target_os = "android"))]
                Address::Abstract(addr) => self.socket.send_to_addr(message, addr),
            }?;
            if sent == message.len() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the message was cut",
                ))
            }
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn abstract_address(name: &[u8]) -> Result<Address, String> {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .map(Address::Abstract)
            .map_err(|e| format!("not a valid abstract socket name: {e}"))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn abstract_address(_: &[u8]) -> Result<Address, String> {
        Err("abstract sockets exist only on Linux".to_owned())
    }
}

/// No service manager speaks this protocol here: `NOTIFY_SOCKET` is ignored.
#[cfg(not(unix))]
mod os {
    use std::ffi::OsStr;
    use std::io;

    pub(super) enum Socket {}

    impl Socket {
        pub(super) fn open(_: &OsStr) -> Result<Socket, String> {
            Err("systemd notifications exist only on Unix".to_owned())
        }

        pub(super) fn send(&self, _: &[u8]) -> io::Result<()> {
            match *self {}
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn messages_reach_a_path_socket() {
        let path =
            std::env::temp_dir().join(format!("graceful-notify-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::from_value(path.clone().into()).unwrap();
        notifier.ready();
        notifier.stopping(Duration::from_millis(2500));
        notifier.extend(Duration::from_micros(1_234_567));
        assert_eq!(received(&socket), "READY=1");
        assert_eq!(received(&socket), "STOPPING=1\nEXTEND_TIMEOUT_USEC=2500000");
        assert_eq!(received(&socket), "EXTEND_TIMEOUT_USEC=1234567");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_unset_or_unusable_address_gives_no_notifier() {
        assert!(Notifier::from_value(OsString::new()).is_none());
        assert!(Notifier::from_value("relative/notify".into()).is_none());
        assert!(Notifier::from_value("vsock:2:1234".into()).is_none());
    }

    #[test]
    fn a_socket_nobody_listens_on_is_not_an_error_for_the_caller() {
        let notifier = Notifier::from_value("/nonexistent/graceful/notify".into()).unwrap();
        notifier.stopping(Duration::from_secs(1));
        notifier.extend(Duration::from_secs(1));
        assert!(notifier.failed.load(Ordering::Relaxed));
    }
}
