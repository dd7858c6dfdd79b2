//! systemd's socket activation: the sockets a service manager opened for this process,
//! passed as file descriptors 3, 4, ... and announced in `LISTEN_PID` (the process they
//! are for), `LISTEN_FDS` (how many) and `LISTEN_FDNAMES` (their names, `:`-separated).
//!
//! The variables are read once and left in the environment (as
//! `sd_listen_fds(unset_environment = 0)` does): `std::env::remove_var` races with any
//! other thread reading the environment (and is `unsafe` from edition 2024 on for that
//! reason), and this may run after threads started (lazily, from the first `listener`
//! call). A program this one starts does not take the sockets: `LISTEN_PID` names this
//! process, not it, and the descriptors are close-on-exec once taken. The new process of
//! an upgrade in place is started without them, so that its id, were it this one's
//! reused, cannot take them for its own.
//!
//! What is not for this process is not an error: variables left by a parent for itself
//! (`LISTEN_PID` another process's, as when a socket-activated shell starts this
//! service) are ignored, as systemd's own library does, and the listeners are bound
//! afresh. What cannot be read is an error, returned to the first
//! [`graceful::listener`](crate::serve::listener::listener) call: a `LISTEN_FDS` that is
//! no number, a `LISTEN_PID` that is no process id, names that do not match the count, a
//! descriptor that is not open.

use std::os::fd::OwnedFd;

use crate::sys;

const LISTEN_PID: &str = "LISTEN_PID";
const LISTEN_FDS: &str = "LISTEN_FDS";
const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";

/// What the environment said about sockets passed to this process.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Announced {
    /// Nothing: `LISTEN_FDS` or `LISTEN_PID` is unset.
    Nothing,
    /// The sockets are for another process (its id): this one ignores them.
    ForAnotherProcess(u32),
    /// This many sockets from descriptor 3 on, each with its name if it has one.
    Sockets(Vec<Option<String>>),
}

/// One socket taken from the service manager; they come in the order passed.
#[derive(Debug)]
pub(crate) struct Passed {
    /// Its `FileDescriptorName=`, unless it has none (see [`unit_default`]).
    pub(crate) name: Option<String>,
    pub(crate) fd: OwnedFd,
}

/// The variables of socket activation, which the new process of an upgrade is started
/// without.
pub(crate) const VARIABLES: [&str; 3] = [LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES];

/// Reads the variables, leaving them in the environment, and takes the sockets they
/// announce for this process; once per process (the caller's `OnceLock`).
pub(crate) fn take_from_env() -> Result<(Announced, Vec<Passed>), String> {
    let read = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let (pid, fds, names) = (read(LISTEN_PID), read(LISTEN_FDS), read(LISTEN_FDNAMES));
    let announced = parse(
        pid.as_deref(),
        fds.as_deref(),
        names.as_deref(),
        std::process::id(),
    )?;
    let mut passed = Vec::new();
    if let Announced::Sockets(names) = &announced {
        #[allow(unsafe_code)] // the one call of `sys::adopt_all` for this protocol
        // SAFETY: the service manager handed these numbers to this process for it to own:
        // `LISTEN_PID` is this process's id (`parse`), and the caller reads them once per
        // process; `adopt_all` refuses a number taken before.
        let fds = unsafe { sys::adopt_all(sys::FIRST, names.len()) }
            .map_err(|e| format!("{LISTEN_FDS}={}: {e}", names.len()))?;
        passed.extend(names.iter().zip(fds).map(|(name, fd)| Passed {
            name: name.clone(),
            fd,
        }));
    }
    Ok((announced, passed))
}

/// What the three variables announce to the process `own_pid`.
pub(crate) fn parse(
    pid: Option<&str>,
    fds: Option<&str>,
    names: Option<&str>,
    own_pid: u32,
) -> Result<Announced, String> {
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(Announced::Nothing);
    };
    let pid: u32 = pid.trim().parse().map_err(|_| {
        format!("{LISTEN_PID}={pid:?} is not a process id (systemd socket activation)")
    })?;
    if pid != own_pid {
        return Ok(Announced::ForAnotherProcess(pid));
    }
    let count: usize = fds.trim().parse().map_err(|_| {
        format!(
            "{LISTEN_FDS}={fds:?} is not a number of file descriptors (systemd socket activation)"
        )
    })?;
    // Far more than any service listens on: a number like this is a mistake.
    if count > 4096 {
        return Err(format!(
            "{LISTEN_FDS}={fds:?} is more file descriptors than a service listens on"
        ));
    }
    let names: Vec<Option<String>> = match names {
        None => vec![None; count],
        Some(names) => {
            let names: Vec<&str> = if count == 0 {
                Vec::new()
            } else {
                names.split(':').collect()
            };
            if names.len() != count {
                return Err(format!(
                    "{LISTEN_FDNAMES}={names:?} names {} sockets, but {LISTEN_FDS}={count}",
                    names.len(),
                    names = names.join(":")
                ));
            }
            names.into_iter().map(unit_default).collect()
        }
    };
    Ok(Announced::Sockets(names))
}

/// A socket's name, or `None` for one that was given none: systemd then names it after
/// its unit (`app.socket`), and `systemd-socket-activate` calls it `unknown`. Those are
/// taken by position.
fn unit_default(name: &str) -> Option<String> {
    if name.is_empty() || name == "unknown" || name.ends_with(".socket") {
        None
    } else {
        Some(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[Option<&str>]) -> Announced {
        Announced::Sockets(names.iter().map(|n| n.map(str::to_owned)).collect())
    }

    #[test]
    fn sockets_for_this_process_are_announced_with_their_names() {
        assert_eq!(
            parse(Some("42"), Some("2"), Some("http:admin"), 42),
            Ok(named(&[Some("http"), Some("admin")]))
        );
        assert_eq!(parse(Some("42"), Some("1"), None, 42), Ok(named(&[None])));
        assert_eq!(
            parse(Some("42"), Some("3"), Some("app.socket:unknown:"), 42),
            Ok(named(&[None, None, None])),
            "systemd's default names are no names"
        );
        assert_eq!(parse(Some("42"), Some("0"), Some(""), 42), Ok(named(&[])));
    }

    #[test]
    fn unset_variables_announce_nothing() {
        assert_eq!(parse(None, None, None, 42), Ok(Announced::Nothing));
        assert_eq!(parse(None, Some("1"), None, 42), Ok(Announced::Nothing));
        assert_eq!(parse(Some("42"), None, None, 42), Ok(Announced::Nothing));
    }

    #[test]
    fn sockets_for_another_process_are_ignored() {
        assert_eq!(
            parse(Some("7"), Some("garbage"), None, 42),
            Ok(Announced::ForAnotherProcess(7)),
            "what is not ours is not read"
        );
    }

    #[test]
    fn what_cannot_be_read_is_an_error_that_names_the_variable() {
        let err = parse(Some("42"), Some("two"), None, 42).unwrap_err();
        assert_eq!(
            err,
            "LISTEN_FDS=\"two\" is not a number of file descriptors (systemd socket activation)"
        );
        let err = parse(Some("me"), Some("1"), None, 42).unwrap_err();
        assert!(
            err.starts_with("LISTEN_PID=\"me\" is not a process id"),
            "{err}"
        );
        let err = parse(Some("42"), Some("-1"), None, 42).unwrap_err();
        assert!(err.starts_with("LISTEN_FDS=\"-1\""), "{err}");
        let err = parse(Some("42"), Some("99999"), None, 42).unwrap_err();
        assert!(err.contains("more file descriptors"), "{err}");
        let err = parse(Some("42"), Some("2"), Some("http"), 42).unwrap_err();
        assert_eq!(
            err,
            "LISTEN_FDNAMES=\"http\" names 1 sockets, but LISTEN_FDS=2"
        );
    }
}
