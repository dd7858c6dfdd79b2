//! Taking ownership of a file descriptor another process handed to this one: the only
//! `unsafe` of the crate, audited here.
//!
//! A service manager (or, during an upgrade, the previous process) passes sockets as
//! inherited file descriptors whose numbers it announces in the environment. Rust's I/O
//! safety rests on each descriptor having one owner; here that owner is made, once per
//! descriptor, from a number the protocol says is ours. The descriptor it returns is a
//! duplicate with close-on-exec set, so that it does not leak into the programs this
//! one starts, and the inherited number itself is closed: nothing else in the process
//! holds it, and nothing else ever will, since the protocol's variables are removed from
//! the environment when they are read (see `activation.rs`).
#![allow(unsafe_code)] // the module's one purpose; each block says why it holds

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Takes `fd`, which the protocol that announced it hands to this process, and returns
/// an owned, close-on-exec duplicate of it; the inherited number is closed. Fails with
/// the system's error (`EBADF`) when `fd` is not open, and then closes nothing.
///
/// Call it once per inherited number: the caller keeps the numbers it has taken.
pub(crate) fn adopt(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(9)); // EBADF
    }
    // SAFETY: the borrow lasts for the one `fcntl(F_DUPFD_CLOEXEC)` below. The number
    // was handed to this process by its parent (systemd's LISTEN_FDS, or the previous
    // process of an upgrade); no code of this process has claimed it, since the caller
    // takes each announced number once and the announcement is removed from the
    // environment. If the number is not open, the duplicate fails with `EBADF` and no
    // descriptor is touched.
    let inherited = unsafe { BorrowedFd::borrow_raw(fd) };
    let duplicate = inherited.try_clone_to_owned()?;
    // SAFETY: the duplicate above succeeded, so `fd` is open, and (as above) this
    // process has no other owner of it: closing it when this `OwnedFd` drops closes a
    // descriptor nobody else will use. Only the close-on-exec duplicate stays open.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(duplicate)
}

/// Whether a program this one starts sees `fd` open: false for a close-on-exec one.
#[cfg(test)]
pub(crate) fn leaks_into_a_child(fd: RawFd) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("test -e /dev/fd/{fd}"))
        .status()
        .expect("sh runs")
        .success()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, IntoRawFd};

    #[test]
    fn an_adopted_descriptor_is_a_close_on_exec_copy_and_the_number_is_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // As a service manager passes it: inherited by the programs it starts.
        socket2::SockRef::from(&listener)
            .set_cloexec(false)
            .unwrap();
        let raw = OwnedFd::from(listener).into_raw_fd();
        assert!(leaks_into_a_child(raw));
        let owned = adopt(raw).unwrap();
        assert_ne!(owned.as_raw_fd(), raw);
        assert!(
            !leaks_into_a_child(owned.as_raw_fd()),
            "the copy leaks into children"
        );
        let socket = socket2::Socket::from(owned);
        assert_eq!(socket.local_addr().unwrap().as_socket(), Some(addr));
    }

    #[test]
    fn a_number_that_is_not_open_is_an_error_not_a_crash() {
        // Far above anything a test process opens.
        let err = adopt(1_000_000).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(9), "{err}");
        assert!(adopt(-1).is_err());
    }
}
