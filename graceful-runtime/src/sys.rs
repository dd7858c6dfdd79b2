//! The system calls the standard library has no safe form of, and the crate's only
//! `unsafe`, audited here: taking the file descriptors this process inherited, placing
//! the ones it hands to a program it starts, sending that program a signal, and reading
//! the monotonic clock's absolute value for systemd.
//!
//! A service manager (or, during an upgrade, the previous process) passes sockets as
//! inherited descriptors, numbered from 3 on, whose count it announces in the
//! environment. Rust's I/O safety rests on each descriptor having one owner; here that
//! owner is made, once per number, from numbers the protocol says are this process's.
//!
//! Every announced number is checked before any is taken: it must be open and a socket.
//! Otherwise nothing is taken, and nothing is closed: a number announced but not passed
//! may already hold a descriptor of this process's own (the runtime's, once it runs),
//! which must not be closed from here. The descriptors are taken in place, as systemd's
//! `sd_listen_fds` does, and marked close-on-exec so that they do not leak into the
//! programs this one starts; no copy is made (a copy could land on a number announced
//! next, and be taken twice).
#![allow(unsafe_code)] // the module's one purpose; each block says why it holds

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

/// Takes the `count` descriptors from `first` on, which the protocol that announced them
/// hands to this process, in order. Fails, taking none, when one of them is not open or
/// is not a socket; the error names it.
///
/// Call it once per protocol: the caller removes the announcement, so that no number is
/// taken twice.
pub(crate) fn adopt_all(first: RawFd, count: usize) -> io::Result<Vec<OwnedFd>> {
    let numbers: Vec<RawFd> = (0..count)
        .map(|i| RawFd::try_from(i).map(|i| first + i))
        .collect::<Result<_, _>>()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;
    for &fd in &numbers {
        check(fd)?;
    }
    numbers
        .into_iter()
        .map(|fd| {
            // SAFETY: `fcntl` reads and sets the flags of a number checked open above; it
            // touches no memory.
            let set = unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) == 0
            };
            if !set {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: the number is open (checked above) and was handed to this process
            // by its parent under a protocol this process is the only reader of (its
            // announcement is removed from the environment when read); no code of this
            // process owns it, and it is owned once, here.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .collect()
}

/// Checks that `fd` is open and a socket, without taking it.
fn check(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fstat` writes into the zeroed `stat` it is given, and only reads the
    // descriptor's metadata; a number that is not open gives `EBADF`.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        let e = io::Error::last_os_error();
        let what = if e.raw_os_error() == Some(libc::EBADF) {
            format!("descriptor {fd} is not open")
        } else {
            format!("descriptor {fd} cannot be read: {e}")
        };
        return Err(io::Error::new(io::ErrorKind::InvalidInput, what));
    }
    if stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        let what = match stat.st_mode & libc::S_IFMT {
            libc::S_IFREG => "a regular file",
            libc::S_IFIFO => "a pipe",
            libc::S_IFCHR => "a character device",
            libc::S_IFDIR => "a directory",
            _ => "something else",
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not a socket but {what}"),
        ));
    }
    Ok(())
}

/// The first descriptor handed to a program: after stdin, stdout and stderr; where
/// systemd's sockets start (`SD_LISTEN_FDS_START`), and an upgrade's.
pub(crate) const FIRST: RawFd = 3;

/// Makes `cmd` start its program with `fds[i]` as descriptor `FIRST + i`, and no other
/// descriptor but the standard three: the others this process holds are close-on-exec.
///
/// The returned copies must live until `cmd` is spawned: they are the sources the child
/// side moves into place. Each is a close-on-exec copy numbered above every target, so
/// that no move overwrites a source still to be moved.
pub(crate) fn hand_over(
    cmd: &mut std::process::Command,
    fds: &[BorrowedFd<'_>],
) -> io::Result<Vec<OwnedFd>> {
    let above = FIRST + RawFd::try_from(fds.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let copies: Vec<OwnedFd> = fds
        .iter()
        .map(|fd| {
            // SAFETY: `F_DUPFD_CLOEXEC` makes a new descriptor from one that `fd` keeps
            // open for the call; the new number is owned by nobody else, and is owned once,
            // here.
            let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, above) };
            if copy < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(unsafe { OwnedFd::from_raw_fd(copy) })
        })
        .collect::<io::Result<_>>()?;
    let sources: Vec<RawFd> = copies.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: the hook runs in the child between `fork` and `exec`, where only
    // async-signal-safe calls are allowed: it calls `dup2` alone, over a vector made
    // before the fork, and allocates nothing. `dup2` clears close-on-exec on its target,
    // which is what hands it over; the sources, close-on-exec, close at the `exec`. The
    // child's numbers are its own: overwriting one there closes nothing of this process.
    unsafe {
        cmd.pre_exec(move || {
            for (target, &source) in (FIRST..).zip(&sources) {
                if libc::dup2(source, target) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Ok(copies)
}

/// Sends `signal` (its number) to the process `pid`, a child of this one.
pub(crate) fn send_signal(pid: u32, signal: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
    if pid <= 0 {
        // 0 and negative numbers name process groups, never one child.
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // SAFETY: `kill` touches no memory of this process; `pid` names one process.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `CLOCK_MONOTONIC` now, in microseconds: what systemd's `MONOTONIC_USEC=` carries.
pub(crate) fn monotonic_usec() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes into the `timespec` it is given; CLOCK_MONOTONIC
    // always exists on the platforms this builds for.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000
}

/// A child this process started, to signal without the hazard of a reused id: through a
/// pidfd where the kernel has them (Linux 5.3), which names the process itself and never
/// another that got its id after it was reaped; by id elsewhere.
pub(crate) struct ChildHandle {
    pid: u32,
    #[cfg(target_os = "linux")]
    pidfd: Option<OwnedFd>,
}

impl ChildHandle {
    /// Takes hold of the child `pid`, which must not have been reaped yet.
    pub(crate) fn open(pid: u32) -> io::Result<ChildHandle> {
        let id = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
        if id <= 0 {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor,
            // touching no memory of this process.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, id, 0) };
            let pidfd = match RawFd::try_from(fd) {
                // SAFETY: a descriptor the call just made, owned by nobody else, owned
                // once, here.
                Ok(fd) if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
                // An older kernel (ENOSYS), or a sandbox that forbids it: by id.
                _ => None,
            };
            Ok(ChildHandle { pid, pidfd })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(ChildHandle { pid })
    }

    /// Sends `signal` to the child; an error (`ESRCH`) once it has exited.
    pub(crate) fn signal(&self, signal: i32) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = &self.pidfd {
            // SAFETY: `pidfd_send_signal` reads the descriptor `pidfd` keeps open; the
            // null `siginfo` asks the kernel to fill it as `kill` does.
            let sent = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            return if sent == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            };
        }
        send_signal(self.pid, signal)
    }

    /// Sends `signal` to every process of the group the child leads (started with
    /// `process_group(0)`): what a child that forked left behind. The group's id stays
    /// taken while a process of it lives, so it names no other group; once none lives
    /// the call fails with `ESRCH`.
    pub(crate) fn signal_group(&self, signal: i32) -> io::Result<()> {
        let group = libc::pid_t::try_from(self.pid).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: `kill` touches no memory of this process; a negative id names the
        // child's process group.
        if unsafe { libc::kill(-group, signal) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
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
    use std::os::fd::AsRawFd;

    /// Puts `fd` at `number`, inherited by children as a parent passes it.
    fn place(fd: OwnedFd, number: RawFd) {
        // SAFETY: test code; `number` is a high number no other test uses.
        assert_eq!(unsafe { libc::dup2(fd.as_raw_fd(), number) }, number);
    }

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: reads flags only.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn adopted_descriptors_are_taken_in_place_and_close_on_exec() {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = b.local_addr().unwrap();
        place(a.into(), 900);
        place(b.into(), 901);
        assert!(leaks_into_a_child(900), "dup2 leaves it inherited");
        let taken = adopt_all(900, 2).unwrap();
        assert_eq!(
            taken.iter().map(AsRawFd::as_raw_fd).collect::<Vec<_>>(),
            [900, 901]
        );
        assert!(!leaks_into_a_child(901), "close-on-exec once taken");
        let socket = socket2::Socket::from(taken.into_iter().nth(1).unwrap());
        assert_eq!(socket.local_addr().unwrap().as_socket(), Some(addr));
    }

    #[test]
    fn a_number_announced_but_not_open_is_an_error_and_nothing_is_taken() {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        place(a.into(), 910);
        let err = adopt_all(910, 2).unwrap_err();
        assert_eq!(err.to_string(), "descriptor 911 is not open");
        assert!(is_open(910), "the open one was not taken, nor closed");
        drop(adopt_all(910, 1).unwrap());
    }

    #[test]
    fn a_descriptor_that_is_no_socket_is_named_and_left_open() {
        let file = std::fs::File::open("/dev/null").unwrap();
        place(OwnedFd::from(file), 920);
        let err = adopt_all(920, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "descriptor 920 is not a socket but a character device"
        );
        assert!(is_open(920), "someone else's descriptor is not closed");
        // SAFETY: test code: 920 is this test's.
        drop(unsafe { OwnedFd::from_raw_fd(920) });
    }
}
