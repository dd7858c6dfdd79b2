//! Every listener the program has taken, by name: its kind, its origin, its address, and
//! while the program serves, a close-on-exec copy of its socket.
//!
//! A name is reserved before its socket is looked for or bound, so that a name asked for
//! twice (even by two calls at once) is refused, and released if that fails.
//!
//! The registry holds no socket of its own: a copy kept here would keep a listener the
//! program dropped listening, its backlog filling with connections nobody accepts. It
//! keeps the listener's descriptor number and what tells its socket from another (device
//! and inode); a listener whose number no longer holds that socket was dropped, and its
//! name is forgotten: it is no longer listed, and may be asked for again. An in-place
//! upgrade takes, by name, a close-on-exec copy of each listener still open, made when
//! it starts and checked to be that socket (`sys::copy_if_still`).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Mutex;

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
        /// Where the program's listener is, while it is open.
        held: Held,
    },
}

/// The program's listener: its descriptor number and its socket's identity.
#[cfg(unix)]
#[derive(Clone, Copy)]
struct Held {
    fd: std::os::fd::RawFd,
    id: crate::sys::SocketId,
}

#[cfg(unix)]
impl Held {
    fn of(socket: &socket2::SockRef<'_>) -> io::Result<Held> {
        use std::os::fd::AsFd;
        let fd = socket.as_fd();
        Ok(Held {
            fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
            id: crate::sys::socket_id(fd)?,
        })
    }

    fn is_open(self) -> bool {
        crate::sys::still_holds(self.fd, self.id)
    }
}

/// Elsewhere, no upgrade in place: a listener is taken as open for the process's life.
#[cfg(not(unix))]
#[derive(Clone, Copy)]
struct Held;

#[cfg(not(unix))]
impl Held {
    fn of(_: &socket2::SockRef<'_>) -> io::Result<Held> {
        Ok(Held)
    }

    fn is_open(self) -> bool {
        true
    }
}

impl Entry {
    /// False for a listener the program has dropped.
    fn is_live(&self) -> bool {
        match self {
            Entry::Reserved => true,
            Entry::Taken { held, .. } => held.is_open(),
        }
    }
}

static REGISTRY: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());

/// The registry, without the listeners the program has dropped.
fn live() -> std::sync::MutexGuard<'static, BTreeMap<String, Entry>> {
    let mut registry = lock(&REGISTRY);
    registry.retain(|_, entry| entry.is_live());
    registry
}

/// The listeners the program has taken and not dropped, by name: for a status page or a
/// log line.
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
    live()
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
    let mut registry = live();
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
    /// Records the listener `socket` under its name; the program owns it, and the
    /// registry forgets the name once the program drops it.
    pub(crate) fn take(
        mut self,
        kind: Kind,
        origin: Origin,
        socket: socket2::SockRef<'_>,
    ) -> io::Result<()> {
        let held = Held::of(&socket)?;
        let name = self.name.take().expect("taken once");
        let address = address_of(&socket);
        lock(&REGISTRY).insert(
            name,
            Entry::Taken {
                kind,
                origin,
                address,
                held,
            },
        );
        Ok(())
    }
}

#[cfg(unix)]
/// Close-on-exec copies of the listeners the program still has, by name, for an upgrade
/// in place to hand to the next process.
pub(crate) fn for_handover() -> io::Result<Vec<(String, socket2::Socket)>> {
    Ok(live()
        .iter()
        .filter_map(|(name, entry)| match entry {
            Entry::Taken { held, .. } => crate::sys::copy_if_still(held.fd, held.id)
                .map(|copy| (name.clone(), socket2::Socket::from(copy))),
            Entry::Reserved => None,
        })
        .collect())
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
        // The registry holds no socket: the program's dropped, the name is forgotten.
        drop(socket);
        assert!(listeners().iter().all(|l| l.name() != "registry-test-a"));
        drop(reserve("registry-test-a").expect("free again once the listener is dropped"));
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
    fn the_copies_handed_over_are_close_on_exec_and_only_of_live_listeners() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        reserve("registry-test-b")
            .unwrap()
            .take(Kind::Tcp, Origin::Bound, socket2::SockRef::from(&socket))
            .unwrap();
        let copies = for_handover().unwrap();
        let (_, copy) = copies
            .iter()
            .find(|(name, _)| name == "registry-test-b")
            .expect("handed over while open");
        assert_eq!(
            copy.local_addr().unwrap().as_socket(),
            Some(socket.local_addr().unwrap())
        );
        assert!(!crate::sys::leaks_into_a_child(
            std::os::fd::AsRawFd::as_raw_fd(copy)
        ));
        drop(copies);
        drop(socket);
        // Whatever reuses the number now is not that listener.
        let _other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(for_handover()
            .unwrap()
            .iter()
            .all(|(name, _)| name != "registry-test-b"));
    }
}
