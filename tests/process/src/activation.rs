//! Starting a service as systemd's socket activation does: a listening socket as
//! descriptor 3, `LISTEN_FDS` and `LISTEN_FDNAMES` in the environment, and `LISTEN_PID`
//! the service's own process id.
//!
//! The id is only known once the child exists, so the child is `fixture-activate`, which
//! sets `LISTEN_PID` to its own id and `exec`s the service in its place (the id stays),
//! as `systemd-socket-activate` does. The socket is put at descriptor 3 between `fork`
//! and `exec`, with `dup2`, which is async-signal-safe.
#![allow(unsafe_code)] // the `pre_exec` hook below, and nothing else

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::Service;

/// Starts `service` through the `fixture-activate` program at `activate`, with `socket`
/// as descriptor 3 and the `LISTEN_*` variables of `envs` (`LISTEN_PID` is set by the
/// wrapper unless `envs` names one, which it then keeps).
pub fn start_activated(
    activate: &str,
    service: &str,
    socket: OwnedFd,
    envs: &[(&str, &str)],
) -> Service {
    let mut cmd = Command::new(activate);
    cmd.arg(service);
    let fd = socket.as_raw_fd();
    // SAFETY: the hook runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: `dup2` and `fcntl` are, and the closure
    // touches no memory but the integer it captured. `socket` outlives the spawn below,
    // so `fd` is open when the child is forked.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: clear the flag instead.
            let status = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if status == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = super::start_command(cmd, envs);
    drop(socket);
    started
}
