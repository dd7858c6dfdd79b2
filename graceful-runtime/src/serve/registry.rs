//! Every listener the program has taken, by name: its kind, its origin, its address, and
//! while the program serves, a close-on-exec copy of its socket.
//!
//! A name is reserved before its socket is looked for or bound, so that a name asked for
//! twice (even by two calls at once) is refused, and released if that fails. The copies
//! are what an in-place upgrade hands to the next process, by name: each is owned here,
//! once, and never closed by number. They are closed when the shutdown is requested, so
//! that a listener the program drops then is closed for good and new connections are
//! refused, not left in a backlog nobody accepts; no upgrade starts once the shutdown has.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::api;
use crate::sync::lock;

/// What kind of socket a listener is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Unix,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tcp => "TCP",
            Kind::Unix => "Unix",
        })
    }
}

/// Where a listener's socket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Bound by this process.
    Bound,
    /// Passed by systemd (socket activation: `LISTEN_FDS`).
    Systemd,
    /// Handed over by the process this one replaced, during an upgrade in place.
    Upgrade,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Bound => "bound by this process",
            Origin::Systemd => "passed by systemd (socket activation)",
            Origin::Upgrade => "handed over by the previous process (upgrade in place)",
        })
    }
}

/// A listener the program has taken, as [`listeners`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerInfo {
    name: String,
    address: String,
    origin: Origin,
    unix: bool,
}

impl ListenerInfo {
    /// The name it was asked for by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its local address: `127.0.0.1:3000`, or a Unix socket's path.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Where its socket came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Whether it is a Unix socket rather than a TCP one.
    pub fn is_unix(&self) -> bool {
        self.unix
    }
}

/// One entry: reserved while its socket is found, then taken.
enum Entry {
    Reserved,
    Taken {
        kind: Kind,
        origin: Origin,
        address: String,
        /// `None` once the shutdown was requested.
        socket: Option<socket2::Socket>,
    },
}

static REGISTRY: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());

/// The listeners the program has taken so far, by name: for a status page or a log line.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// let http = graceful::listener("http", "0.0.0.0:3000").await?;
/// for l in graceful::listeners() {
///     println!("{}: {} ({})", l.name(), l.address(), l.origin());
/// }
/// # Ok(()) }
/// ```
pub fn listeners() -> Vec<ListenerInfo> {
    lock(&REGISTRY)
        .iter()
        .filter_map(|(name, entry)| match entry {
            Entry::Reserved => None,
            Entry::Taken {
                kind,
                origin,
                address,
                ..
            } => Some(ListenerInfo {
                name: name.clone(),
                address: address.clone(),
                origin: *origin,
                unix: *kind == Kind::Unix,
            }),
        })
        .collect()
}

/// A socket's local address as people write it.
pub(crate) fn address_of(socket: &socket2::Socket) -> String {
    match socket.local_addr() {
        Ok(addr) => {
            if let Some(inet) = addr.as_socket() {
                return inet.to_string();
            }
            #[cfg(unix)]
            if let Some(path) = addr.as_pathname() {
                return path.display().to_string();
            }
            "(unnamed)".to_owned()
        }
        Err(e) => format!("(address unknown: {e})"),
    }
}

/// A name reserved for a listener; released on drop unless [`Reservation::take`] filled it.
pub(crate) struct Reservation {
    name: Option<String>,
}

/// Reserves `name`, or fails if a listener has it already.
pub(crate) fn reserve(name: &str) -> io::Result<Reservation> {
    // Names travel `:`-separated, as systemd's `LISTEN_FDNAMES` and an upgrade's
    // announcement carry them: one with a `:`, or none at all, would not come back whole.
    if name.is_empty() || name.contains(':') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the name {name:?} cannot be handed over (systemd and an upgrade in place pass \
                 names `:`-separated): give the listener a name, without `:`"
            ),
        ));
    }
    let mut registry = lock(&REGISTRY);
    if registry.contains_key(name) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("the name {name:?} was asked for twice: each listener needs a name of its own"),
        ));
    }
    registry.insert(name.to_owned(), Entry::Reserved);
    Ok(Reservation {
        name: Some(name.to_owned()),
    })
}

impl Reservation {
    /// Records the listener under its name, with a close-on-exec copy of `socket`.
    pub(crate) fn take(
        mut self,
        kind: Kind,
        origin: Origin,
        socket: socket2::SockRef<'_>,
    ) -> io::Result<()> {
        let copy = socket.try_clone()?;
        let name = self.name.take().expect("taken once");
        let address = address_of(&copy);
        lock(&REGISTRY).insert(
            name,
            Entry::Taken {
                kind,
                origin,
                address,
                socket: Some(copy),
            },
        );
        close_copies_at_shutdown();
        Ok(())
    }
}

/// Closes the copies once the shutdown is requested: from then on the program's own
/// listeners decide when the sockets close. Armed once, by the first listener taken.
fn close_copies_at_shutdown() {
    static ARMED: AtomicBool = AtomicBool::new(false);
    if ARMED.swap(true, Ordering::AcqRel) {
        return;
    }
    let requested = api::shutdown_requested();
    let spawned = tokio::runtime::Handle::try_current().map(|runtime| {
        runtime.spawn(async move {
            requested.await;
            close_copies();
        })
    });
    if spawned.is_err() {
        // No runtime: nothing can wait for the shutdown; the next listener arms it.
        ARMED.store(false, Ordering::Release);
    }
}

#[cfg(unix)]
/// Copies of every listener's socket, by name, for an upgrade in place to hand to the
/// next process: none once the shutdown was requested.
pub(crate) fn for_handover() -> io::Result<Vec<(String, socket2::Socket)>> {
    lock(&REGISTRY)
        .iter()
        .filter_map(|(name, entry)| match entry {
            Entry::Taken {
                socket: Some(socket),
                ..
            } => Some(socket.try_clone().map(|copy| (name.clone(), copy))),
            _ => None,
        })
        .collect()
}

/// Closes every copy: the listeners are the program's own from now on.
pub(crate) fn close_copies() {
    let copies: Vec<socket2::Socket> = lock(&REGISTRY)
        .values_mut()
        .filter_map(|entry| match entry {
            Entry::Taken { socket, .. } => socket.take(),
            Entry::Reserved => None,
        })
        .collect();
    // Closed outside the lock.
    drop(copies);
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            lock(&REGISTRY).remove(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_refused_while_reserved_or_taken_and_free_again_if_released() {
        let first = reserve("registry-test-a").unwrap();
        let err = reserve("registry-test-a").err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            err.to_string(),
            "the name \"registry-test-a\" was asked for twice: each listener needs a name of its own"
        );
        drop(first);
        let again = reserve("registry-test-a").expect("released when its socket was not found");
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        again
            .take(Kind::Tcp, Origin::Bound, socket2::SockRef::from(&socket))
            .unwrap();
        assert!(reserve("registry-test-a").is_err());
        let listed = listeners()
            .into_iter()
            .find(|l| l.name() == "registry-test-a")
            .unwrap();
        assert_eq!(listed.address(), addr.to_string());
        assert_eq!(listed.origin(), Origin::Bound);
        assert!(!listed.is_unix());
        // The registry's copy is its own: closing the program's leaves it open.
        drop(socket);
        assert_eq!(
            listeners()
                .iter()
                .find(|l| l.name() == "registry-test-a")
                .unwrap()
                .address(),
            addr.to_string()
        );
    }

    #[test]
    fn a_name_that_cannot_be_handed_over_is_refused() {
        for name in ["", "api:v1"] {
            let err = reserve(name).err().unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert_eq!(
                err.to_string(),
                format!(
                    "the name {name:?} cannot be handed over (systemd and an upgrade in place \
                     pass names `:`-separated): give the listener a name, without `:`"
                )
            );
        }
        assert!(reserve("api-v1").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn the_copies_are_close_on_exec() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        reserve("registry-test-b")
            .unwrap()
            .take(Kind::Tcp, Origin::Bound, socket2::SockRef::from(&socket))
            .unwrap();
        let registry = lock(&REGISTRY);
        let Some(Entry::Taken {
            socket: Some(copy), ..
        }) = registry.get("registry-test-b")
        else {
            panic!("not taken");
        };
        assert!(!crate::sys::leaks_into_a_child(
            std::os::fd::AsRawFd::as_raw_fd(copy)
        ));
    }
}
