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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

/// The numbers [`adopt_all`] has taken in this process: none is taken twice, whichever
/// protocol announces it.
static ADOPTED: std::sync::Mutex<Vec<RawFd>> = std::sync::Mutex::new(Vec::new());

/// Takes the `count` descriptors from `first` on, which the protocol that announced them
/// hands to this process, in order. Fails, taking none and leaving each as it was, when
/// one of them is not open, is not a socket, or was taken already by an earlier call; the
/// error names it.
///
/// # Safety
///
/// The caller asserts that the numbers were handed to this process, for it to own, by
/// the protocol that announced them (its announcement checked as being for this process),
/// and that no code of this process holds them as its own: nothing opened since the start
/// can have landed on them while they were open, but a number announced and not open may
/// be reused, which the check here refuses. A second call for a number taken already
/// fails instead of owning it twice.
pub(crate) unsafe fn adopt_all(first: RawFd, count: usize) -> io::Result<Vec<OwnedFd>> {
    let numbers: Vec<RawFd> = (0..count)
        .map(|i| RawFd::try_from(i).ok().and_then(|i| first.checked_add(i)))
        .collect::<Option<_>>()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;
    let mut adopted = ADOPTED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fd) = numbers.iter().find(|fd| adopted.contains(fd)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} was taken already, by another announcement"),
        ));
    }
    for &fd in &numbers {
        check(fd)?;
    }
    // Close-on-exec on all, before any is owned: a failure midway puts back the flags it
    // changed, and owns none.
    let mut before: Vec<(RawFd, libc::c_int)> = Vec::with_capacity(numbers.len());
    for &fd in &numbers {
        // SAFETY: `fcntl` reads and sets the flags of a number checked open above; it
        // touches no memory.
        let set = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) == 0 {
                Some(flags)
            } else {
                None
            }
        };
        match set {
            Some(flags) => before.push((fd, flags)),
            None => {
                let e = io::Error::last_os_error();
                for &(fd, flags) in &before {
                    // SAFETY: as above: the flags of a number this call changed, put back.
                    unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
                }
                return Err(e);
            }
        }
    }
    adopted.extend_from_slice(&numbers);
    Ok(numbers
        .into_iter()
        .map(|fd| {
            // SAFETY: the number is open (checked above), was handed to this process for
            // it to own (the caller's condition), and was never taken before in this
            // process (`ADOPTED`, checked and updated under one lock): it is owned once,
            // here.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect())
}

/// The id of the process at the other end of the Unix socket `fd` as the kernel recorded
/// it when the socket was made (for a socket pair, the process that made the pair), without
/// taking `fd`. An error when `fd` is not open or not a socket; `Ok(None)` where the
/// platform does not say.
pub(crate) fn peer_pid(fd: RawFd) -> io::Result<Option<u32>> {
    check(fd)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>())
            .expect("a ucred's size fits");
        // SAFETY: `getsockopt` writes at most `len` bytes into `cred`, a `ucred` of that
        // size that lives for the call; `fd` is open (checked above) and not taken.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                std::ptr::addr_of_mut!(cred).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(u32::try_from(cred.pid).ok().filter(|&pid| pid != 0))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        Ok(None)
    }
}

/// Checks that `fd` is open and a socket, without taking it.
fn check(fd: RawFd) -> io::Result<()> {
    // SAFETY: `stat` is a plain C struct of integers, for which all zeroes is a value.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fstat` writes into the `stat` it is given, which lives for the call, and
    // only reads the descriptor's metadata; a number that is not open gives `EBADF`.
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

/// What tells one open socket from another while it is open: its device and inode
/// numbers, which a socket made later at the same descriptor number does not share.
pub(crate) type SocketId = (u64, u64);

/// The [`SocketId`] of the socket at `fd`.
pub(crate) fn socket_id(fd: BorrowedFd<'_>) -> io::Result<SocketId> {
    id_of(fd.as_raw_fd())
}

fn id_of(fd: RawFd) -> io::Result<SocketId> {
    // SAFETY: `stat` is a plain C struct of integers, for which all zeroes is a value.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fstat` writes into the `stat` it is given, which lives for the call, and
    // only reads the metadata of the number; one that is not open gives `EBADF`.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)] // their types vary by platform
    Ok((u64::from(stat.st_dev as u64), u64::from(stat.st_ino as u64)))
}

/// Whether the number `fd`, owned elsewhere in this process, still holds the socket `id`:
/// false once its owner closed it, even if the number was reused since.
pub(crate) fn still_holds(fd: RawFd, id: SocketId) -> bool {
    id_of(fd).is_ok_and(|now| now == id)
}

/// A close-on-exec copy of the socket `id` at the number `fd`, owned elsewhere in this
/// process, if it still holds that socket; `None` once its owner closed it.
pub(crate) fn copy_if_still(fd: RawFd, id: SocketId) -> Option<OwnedFd> {
    // SAFETY: `F_DUPFD_CLOEXEC` makes a new descriptor from the number, or fails with
    // `EBADF` if it is not open; it touches no memory and changes nothing of the number
    // itself. Its owner may close it meanwhile, and the number may hold another file by
    // then: the copy is checked against `id` below, and dropped if it is not the socket.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, FIRST) };
    if copy < 0 {
        return None;
    }
    // SAFETY: `copy` was just made by this call, open, and owned by nothing else.
    let copy = unsafe { OwnedFd::from_raw_fd(copy) };
    (socket_id(copy.as_fd()).ok()? == id).then_some(copy)
}

/// The first descriptor handed to a program: after stdin, stdout and stderr; where
/// systemd's sockets start (`SD_LISTEN_FDS_START`), and an upgrade's.
pub(crate) const FIRST: RawFd = 3;

/// Makes `cmd` start its program with `fds[i]` as descriptor `FIRST + i`, and no other
/// descriptor but the standard three. Every other descriptor the child holds is made
/// close-on-exec before the `exec`, not only those this process opened so: a C library
/// that opens one without the flag would otherwise leak it into every new process, one
/// more at each upgrade (Linux's `close_range(CLOSE_RANGE_CLOEXEC)`, or where the kernel
/// lacks it a loop up to the limit of open descriptors). Made close-on-exec rather than
/// closed, so that the pipe on which the standard library learns of a failed `exec` is
/// left to it.
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
            // SAFETY: `copy` was just made by this call, open, and owned by nothing else.
            Ok(unsafe { OwnedFd::from_raw_fd(copy) })
        })
        .collect::<io::Result<_>>()?;
    let sources: Vec<RawFd> = copies.iter().map(AsRawFd::as_raw_fd).collect();
    let limit = open_limit();
    // SAFETY: the hook runs in the child between `fork` and `exec`, where only
    // async-signal-safe calls are allowed: it calls `dup2`, `close_range` and `fcntl`
    // alone, over a vector and a number made before the fork, and allocates nothing.
    // `dup2` clears close-on-exec on its target, which is what hands it over; every number
    // above the targets (the sources among them) is then made close-on-exec, and closes at
    // the `exec`. The child's numbers are its own: nothing of this process is touched.
    unsafe {
        cmd.pre_exec(move || {
            for (target, &source) in (FIRST..).zip(&sources) {
                if libc::dup2(source, target) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            cloexec_from(above, limit);
            Ok(())
        });
    }
    Ok(copies)
}

/// How many descriptors a process may have open: the numbers the fallback of
/// [`cloexec_from`] goes through. Read before a `fork`, where `getrlimit` is no
/// async-signal-safe call to count on.
fn open_limit() -> RawFd {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the `rlimit` it is given, which lives for the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    // A soft limit lowered below descriptors opened before is rare; past a million the
    // loop would take seconds, and no process that upgrades holds that many.
    const MOST: RawFd = 1 << 20;
    if rc != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return MOST;
    }
    RawFd::try_from(limit.rlim_cur).map_or(MOST, |n| n.min(MOST))
}

/// Marks every descriptor from `first` on close-on-exec; in a child between `fork` and
/// `exec`, so async-signal-safe calls only: `close_range` where the kernel has it (Linux
/// 5.11 on), else `fcntl` on each number below `limit`.
///
/// # Safety
///
/// Only in a child between `fork` and `exec`, or where no descriptor from `first` on is
/// meant to reach a program this process starts.
unsafe fn cloexec_from(first: RawFd, limit: RawFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let first = libc::c_uint::try_from(first).unwrap_or(libc::c_uint::MAX);
        // SAFETY: `close_range` with `CLOSE_RANGE_CLOEXEC` sets a flag on descriptors of
        // this process only; it touches no memory. It fails (ENOSYS, EINVAL) on a kernel
        // without it or its flag, and the loop below does the same work.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc == 0 {
            return;
        }
    }
    for fd in first..limit {
        // SAFETY: `fcntl` reads and sets a flag of a number, and fails with EBADF for a
        // number that is not open; it touches no memory.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
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
        // SAFETY: test code: 900 and 901 are this test's.
        let taken = unsafe { adopt_all(900, 2) }.unwrap();
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
        // SAFETY: test code: 910 is this test's, 911 no one's.
        let err = unsafe { adopt_all(910, 2) }.unwrap_err();
        assert_eq!(err.to_string(), "descriptor 911 is not open");
        assert!(is_open(910), "the open one was not taken, nor closed");
        assert!(leaks_into_a_child(910), "nor were its flags changed");
        // SAFETY: as above.
        drop(unsafe { adopt_all(910, 1) }.unwrap());
    }

    #[test]
    fn a_descriptor_that_is_no_socket_is_named_and_left_open() {
        let file = std::fs::File::open("/dev/null").unwrap();
        place(OwnedFd::from(file), 920);
        // SAFETY: test code: 920 is this test's.
        let err = unsafe { adopt_all(920, 1) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "descriptor 920 is not a socket but a character device"
        );
        assert!(is_open(920), "someone else's descriptor is not closed");
        // SAFETY: test code: 920 is this test's.
        drop(unsafe { OwnedFd::from_raw_fd(920) });
    }

    #[test]
    fn a_number_taken_once_is_never_taken_again_and_nothing_is_taken_with_it() {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        place(a.into(), 930);
        // SAFETY: test code: 930 and 931 are this test's.
        let first = unsafe { adopt_all(930, 1) }.unwrap();
        place(b.into(), 931);
        // The announcement of another protocol that names 930 again, and 931 with it.
        // SAFETY: as above; the call must refuse 930.
        let err = unsafe { adopt_all(930, 2) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "descriptor 930 was taken already, by another announcement"
        );
        assert!(is_open(930) && is_open(931));
        assert!(leaks_into_a_child(931), "931 was left as it was: not taken");
        drop(first);
        // SAFETY: test code: 931 is this test's.
        drop(unsafe { OwnedFd::from_raw_fd(931) });
    }

    #[test]
    fn the_peer_of_a_socket_pair_is_the_process_that_made_it() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_pid(a.as_raw_fd()).unwrap(), Some(std::process::id()));
        drop(b);
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(matches!(peer_pid(tcp.as_raw_fd()), Ok(None) | Err(_)));
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(peer_pid(file.as_raw_fd()).is_err(), "no socket, no peer");
    }
}
