//! The control socket: where `graceful-ctl` asks a running service for an upgrade and
//! learns its outcome, or asks what the service is doing. A deploy pipeline that sends
//! the upgrade signal learns nothing; one that asks here gets the new process's id, or
//! why it was rolled back.
//!
//! Made at start when the program opted in to upgrades (the socket only ever triggers
//! one, and a program without upgrades has nothing to be asked): a Unix socket named by
//! the process's id, `graceful-<pid>.sock`, in the first directory of
//! `$XDG_RUNTIME_DIR`, `/run/graceful` and the temporary directory where it can be made;
//! mode 0600, and removed at the exit. Only this service's user and root may reach it:
//! the file's mode says so to the kernel, and each client's credentials
//! (`SO_PEERCRED`) are checked again, for the moment between the bind and the `chmod`
//! and for a directory others may write to.
//!
//! The protocol is a line each way. The client writes `upgrade` or `status`; the service
//! answers one line: for an upgrade `ok <pid>`, `refused <why>`, `failed <why>` (rolled
//! back, this process serves on) or `abandoned <why>` (a stop came meanwhile); for
//! the status `<state>\t<since, unix seconds>\t<detail>`, the state one of `starting`,
//! `serving`, `upgrading`, `draining`; to a client it refuses, `denied <why>`.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::controller::{self, Controller};
use crate::report::log;
use crate::sync::lock;

/// The socket's path once it is made: removed at the exit.
static SOCKET: Mutex<Option<PathBuf>> = Mutex::new(None);

/// How long a client has to say what it wants.
const ASK_WITHIN: Duration = Duration::from_secs(5);

/// How long the answer to an upgrade may take to write, once the upgrade has ended.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// The longest request line read.
const LONGEST_REQUEST: u64 = 64;

/// The socket's file name for the process `pid`.
pub(crate) fn file_name(pid: u32) -> String {
    format!("graceful-{pid}.sock")
}

/// The directories the socket may be made in, first choice first.
fn directories() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("/run/graceful"));
    dirs.push(std::env::temp_dir());
    dirs
}

/// Makes the control socket and serves it on `runtime` until the process exits. A
/// socket that cannot be made is logged: the upgrade signal still works.
pub(crate) fn listen(ctl: &'static Controller, runtime: &tokio::runtime::Handle) {
    let started = SystemTime::now();
    let _entered = runtime.enter();
    let mut failures = Vec::new();
    for dir in directories() {
        let path = dir.join(file_name(std::process::id()));
        match bind(&dir, &path) {
            Ok((listener, uid)) => {
                *lock(&SOCKET) = Some(path);
                runtime.spawn(accept(ctl, listener, uid, started));
                return;
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    log::control_unavailable(&failures.join("; "));
}

/// Binds the socket at `path`, mode 0600; returns it and the uid it belongs to (this
/// process's).
fn bind(dir: &Path, path: &Path) -> io::Result<(UnixListener, u32)> {
    if dir == Path::new("/run/graceful") {
        std::fs::create_dir_all(dir)?;
    }
    let listener = match std::os::unix::net::UnixListener::bind(path) {
        Ok(listener) => listener,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            remove_if_stale(path)?;
            std::os::unix::net::UnixListener::bind(path)?
        }
        Err(e) => return Err(e),
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let uid = std::fs::metadata(path)?.uid();
    listener.set_nonblocking(true)?;
    Ok((UnixListener::from_std(listener)?, uid))
}

/// A socket left at this process's path by a process that had its id before: removed
/// if it is this user's and nobody answers on it.
fn remove_if_stale(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let ours = own_uid_from_proc() == Some(meta.uid());
    if !ours || std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "held by someone else; left as it is",
        ));
    }
    std::fs::remove_file(path)
}

/// This process's uid, as `/proc` shows it; `None` where there is no `/proc`.
fn own_uid_from_proc() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Removes the socket: the process exits.
pub(crate) fn remove() {
    if let Some(path) = lock(&SOCKET).take() {
        let _ = std::fs::remove_file(path);
    }
}

async fn accept(ctl: &'static Controller, listener: UnixListener, uid: u32, started: SystemTime) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(ctl, stream, uid, started));
            }
            // Out of descriptors, say: the next accept may do.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One client: checked, asked, answered.
async fn answer(ctl: &'static Controller, stream: UnixStream, uid: u32, started: SystemTime) {
    let Ok(peer) = stream.peer_cred() else {
        return;
    };
    let (read, mut write) = stream.into_split();
    if !may_control(peer.uid(), uid) {
        log::control_denied(peer.uid(), peer.pid());
        let line = format!(
            "denied uid {} may not control this service: only uid {uid} (its user) and root \
             may\n",
            peer.uid()
        );
        let _ = tokio::time::timeout(ANSWER_WITHIN, write.write_all(line.as_bytes())).await;
        return;
    }
    let mut request = String::new();
    let mut reader = BufReader::new(read.take(LONGEST_REQUEST));
    match tokio::time::timeout(ASK_WITHIN, reader.read_line(&mut request)).await {
        Ok(Ok(_)) => {}
        _ => return,
    }
    match request.trim() {
        "status" => {
            let line = format!("{}\n", status(ctl, started));
            let _ = tokio::time::timeout(ANSWER_WITHIN, write.write_all(line.as_bytes())).await;
        }
        "upgrade" => {
            log::control_upgrade(peer.uid(), peer.pid());
            // Tracked, with the upgrade: the answer is written before the shutdown that a
            // stop during the upgrade starts lets the process exit.
            controller::tasks::spawn_in(
                ctl,
                controller::tasks::TaskName::Named("control socket: upgrade".into()),
                async move {
                    let line = match super::spawn(ctl).await {
                        Ok(Ok(pid)) => format!("ok {pid}\n"),
                        Ok(Err(e)) if e.was_refused() => {
                            format!("refused {}\n", one_line(&crate::trigger::body::chain(&e)))
                        }
                        // A stop came during the upgrade: this process does not serve on.
                        Ok(Err(e)) if ctl.is_shutting_down() => {
                            format!("abandoned {}\n", one_line(&crate::trigger::body::chain(&e)))
                        }
                        Ok(Err(e)) => {
                            format!("failed {}\n", one_line(&crate::trigger::body::chain(&e)))
                        }
                        Err(e) => format!("failed the upgrade's task ended: {e}\n"),
                    };
                    let _ =
                        tokio::time::timeout(ANSWER_WITHIN, write.write_all(line.as_bytes())).await;
                },
            );
        }
        other => {
            let line = format!("unknown {other:?}: ask for status or upgrade\n");
            let _ = tokio::time::timeout(ANSWER_WITHIN, write.write_all(line.as_bytes())).await;
        }
    }
}

/// Whether a client of `peer` uid may control a service of `own` uid: its own user and
/// root.
fn may_control(peer: u32, own: u32) -> bool {
    peer == own || peer == 0
}

fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

/// What the service does, and since when: `<state>\t<unix seconds>\t<detail>`.
fn status(ctl: &Controller, started: SystemTime) -> String {
    let now = SystemTime::now();
    let (state, since, detail) = if ctl.is_shutting_down() {
        let since = ctl.started_at().map_or(now, |at| now - at.elapsed());
        let why = ctl.trigger().map(|t| t.to_string()).unwrap_or_default();
        ("draining", since, why)
    } else if let Some((pid, since)) = super::under_way() {
        let detail = match pid {
            Some(pid) => format!("to pid {pid}, waiting for it to be ready"),
            None => "starting the new process".to_owned(),
        };
        ("upgrading", since, detail)
    } else if !ctl.is_ready() {
        (
            "starting",
            started,
            "graceful::ready() not called yet".to_owned(),
        )
    } else {
        let detail = match crate::handover::previous() {
            Some(pid) if !crate::handover::previous_gone() => {
                format!("the process it replaced (pid {pid}) still drains")
            }
            _ => String::new(),
        };
        ("serving", started, detail)
    };
    let secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{state}\t{secs}\t{detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_user_and_root_may_control_it_and_no_one_else() {
        assert!(may_control(1000, 1000));
        assert!(may_control(0, 1000));
        assert!(may_control(0, 0));
        assert!(!may_control(1001, 1000));
        assert!(!may_control(65534, 0));
    }

    #[test]
    fn a_socket_nobody_answers_on_is_replaced_and_one_in_use_is_left() {
        let dir = std::env::temp_dir().join(format!("graceful-control-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file_name(1));
        // In use: left as it is.
        let live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let err = remove_if_stale(&path).unwrap_err();
        assert_eq!(err.to_string(), "held by someone else; left as it is");
        assert!(path.exists());
        // Its process gone: removed, and the path can be bound again.
        drop(live);
        remove_if_stale(&path).unwrap();
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
