//! The sockets this process inherited, from every source, taken once at the start and
//! given out by name to [`listener`](super::listener::listener) calls.
//!
//! The sources, first match wins:
//!
//! 1. the sockets the previous process handed over during an in-place upgrade
//!    (`handover/`), each by the name of the listener that took it there;
//! 2. the sockets systemd passes by socket activation (`systemd/activation.rs`).
//!
//! Failing both, the listener binds afresh. A socket with a name goes to the listener of
//! that name; one without a name goes, in order, to the listeners whose name no socket
//! has, of its kind (TCP or Unix).

use std::io;
use std::sync::{Mutex, OnceLock};

use crate::controller;
use crate::report::log;
use crate::sync::lock;

use super::registry::{Kind, Origin};

/// One inherited socket, until a listener takes it.
struct Inherited {
    origin: Origin,
    name: Option<String>,
    /// `None` once a listener took it.
    socket: Option<socket2::Socket>,
}

#[derive(Default)]
struct Sources {
    sockets: Vec<Inherited>,
    /// What could not be read, returned to every listener call: a service asked to listen
    /// on sockets it cannot take must not bind others instead.
    error: Option<String>,
}

static SOURCES: OnceLock<Mutex<Sources>> = OnceLock::new();

/// Takes the inherited sockets and the variables that announce them, once per process:
/// under `#[graceful::main]` before the runtime starts; otherwise at the first listener.
pub(crate) fn take_all() {
    SOURCES.get_or_init(|| {
        let sources = read_sources();
        if !sources.sockets.is_empty() {
            controller::global().at_ready(Box::new(close_leftovers));
        }
        Mutex::new(sources)
    });
}

/// Closes the inherited sockets no listener took, once the program says it is ready: it
/// has taken all it wants. Left open, such a socket would take connections that nobody
/// accepts, and hold them until the exit.
fn close_leftovers() {
    let Some(sources) = SOURCES.get() else {
        return;
    };
    let leftovers: Vec<(Origin, Option<String>, socket2::Socket)> = lock(sources)
        .sockets
        .iter_mut()
        .filter_map(|s| Some((s.origin, s.name.clone(), s.socket.take()?)))
        .collect();
    for (origin, name, socket) in leftovers {
        log::listener_note(&format!(
            "a socket {origin} ({}, {}) was not taken by any listener: closed",
            name.as_deref()
                .map_or("unnamed".to_owned(), |n| format!("named {n:?}")),
            super::registry::address_of(&socket)
        ));
    }
}

fn read_sources() -> Sources {
    let mut sources = Sources::default();
    // What cannot be read, of either source, is said to every listener.
    let mut read = |source: Result<Vec<Inherited>, String>| match source {
        Ok(passed) => sources.sockets.extend(passed),
        Err(message) => {
            sources.error.get_or_insert(message);
        }
    };
    read(handed_over());
    read(systemd());
    sources
}

/// The sockets the previous process handed over, when an upgrade started this one.
#[cfg(unix)]
fn handed_over() -> Result<Vec<Inherited>, String> {
    Ok(crate::handover::take_sockets()?
        .into_iter()
        .map(|(name, fd)| Inherited {
            origin: Origin::Upgrade,
            name: Some(name),
            socket: Some(socket2::Socket::from(fd)),
        })
        .collect())
}

/// No upgrade in place here.
#[cfg(not(unix))]
fn handed_over() -> Result<Vec<Inherited>, String> {
    Ok(Vec::new())
}

/// The sockets systemd passed to this process.
#[cfg(unix)]
fn systemd() -> Result<Vec<Inherited>, String> {
    use crate::systemd::activation::{self, Announced};
    let (announced, passed) = activation::take_from_env()?;
    if let Announced::ForAnotherProcess(pid) = announced {
        log::listener_note(&format!(
            "LISTEN_PID={pid} is not this process ({}): the sockets it announces are not for this one, and are left alone",
            std::process::id()
        ));
    }
    Ok(passed
        .into_iter()
        .map(|p| Inherited {
            origin: Origin::Systemd,
            name: p.name,
            socket: Some(socket2::Socket::from(p.fd)),
        })
        .collect())
}

/// No service manager passes sockets here.
#[cfg(not(unix))]
fn systemd() -> Result<Vec<Inherited>, String> {
    Ok(Vec::new())
}

/// The inherited socket for the listener `name` of `kind`, if there is one; taken, so
/// no other listener gets it. The caller checks that it is of the kind and address asked.
pub(crate) fn take(name: &str, kind: Kind) -> io::Result<Option<(Origin, socket2::Socket)>> {
    take_all();
    let mut sources = lock(SOURCES.get().expect("initialised just above"));
    if let Some(message) = &sources.error {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message.clone()));
    }
    let named = sources
        .sockets
        .iter()
        .position(|s| s.name.as_deref() == Some(name));
    let unnamed = || {
        sources.sockets.iter().position(|s| {
            s.name.is_none()
                && s.socket
                    .as_ref()
                    .is_some_and(|socket| kind_of(socket) == Some(kind))
        })
    };
    let Some(i) = named.or_else(unnamed) else {
        return Ok(None);
    };
    let found = &mut sources.sockets[i];
    Ok(found.socket.take().map(|socket| (found.origin, socket)))
}

/// A socket's kind, from its address: `None` for one that is neither (a netlink socket).
pub(crate) fn kind_of(socket: &socket2::Socket) -> Option<Kind> {
    let addr = socket.local_addr().ok()?;
    if addr.is_unix() {
        Some(Kind::Unix)
    } else if addr.as_socket().is_some() {
        Some(Kind::Tcp)
    } else {
        None
    }
}
