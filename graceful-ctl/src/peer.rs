//! Who holds the other end of a Unix socket: the one system call std has no stable form
//! of (`SO_PEERCRED`), so that a socket at the expected path, made by another process,
//! is not taken for the service's.
#![allow(unsafe_code)] // the module's one purpose

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The process id of the peer of `stream`, as the kernel recorded it at the connection.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pid(stream: &UnixStream) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>())
        .map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `getsockopt` writes at most `len` bytes into `cred`, a local of the size it
    // is told, and reads the descriptor `stream` keeps open for the call.
    let got = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            std::ptr::addr_of_mut!(cred).cast(),
            &mut len,
        )
    };
    if got != 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(cred.pid).map_err(|_| io::Error::other("the kernel did not record the peer"))
}

/// Elsewhere the peer is not checked: the socket's directory and mode are all there is.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn pid(_stream: &UnixStream) -> io::Result<u32> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "the peer's credentials cannot be read on this system",
    ))
}
