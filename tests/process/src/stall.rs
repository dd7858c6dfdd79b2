//! A stdout that nobody reads and that stays full: the child's writes block, as behind a
//! pager left unscrolled or a terminal paused with Ctrl-S.
#![allow(unsafe_code)] // `pipe2`, below, and nothing else

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

/// A pipe, both ends close-on-exec: (read end, write end).
pub(crate) fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is an array of two descriptors for `pipe2` to fill; on success both
    // are open and owned by nobody else, and each is given one owner below.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(made, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: see above: each descriptor is owned once, here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (File::from(read), File::from(write))
}

/// Fills the pipe behind `write` on a thread of its own and keeps it full, until its read
/// end is closed.
pub(crate) fn fill(mut write: File) {
    std::thread::spawn(move || {
        let junk = [b'.'; 4096];
        while write.write_all(&junk).is_ok() {}
    });
}
