//! The service's end of the line: its control socket, found and checked to be held by
//! the process asked for. Unix only: elsewhere there is no upgrade in place to control.

#[cfg(unix)]
use std::io::{self, BufRead, BufReader, Write};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::path::PathBuf;

use crate::Failure;

/// Sends `command` to the control socket of `pid` and returns its one-line answer.
#[cfg(unix)]
pub(crate) fn ask(pid: u32, command: &str) -> Result<String, Failure> {
    let mut stream = connect(pid)?;
    let lost = |e: io::Error| {
        Failure::Outcome(format!(
            "pid {pid} closed the control connection before it answered: {e}"
        ))
    };
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(lost)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(lost)?;
    if answer.is_empty() {
        return Err(lost(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(answer.trim_end_matches('\n').to_owned())
}

/// Without Unix a graceful service has no upgrade in place, and so no control socket.
#[cfg(not(unix))]
pub(crate) fn ask(pid: u32, _command: &str) -> Result<String, Failure> {
    Err(Failure::Reach(format!(
        "cannot reach pid {pid}: upgrades in place, and graceful-ctl, need Unix"
    )))
}

/// The directories the service may have made its socket in, in the order it tries them;
/// `/run/user/<uid>` stands for a service whose `$XDG_RUNTIME_DIR` is not the caller's.
#[cfg(unix)]
fn directories(pid: u32) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(uid) = owner(pid) {
        let dir = PathBuf::from(format!("/run/user/{uid}"));
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.push(PathBuf::from("/run/graceful"));
    dirs.push(std::env::temp_dir());
    dirs
}

/// The uid a process runs as, where `/proc` tells it.
#[cfg(unix)]
fn owner(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// Connects to the control socket of `pid`, and checks that `pid` holds it.
#[cfg(unix)]
fn connect(pid: u32) -> Result<UnixStream, Failure> {
    let name = format!("graceful-{pid}.sock");
    let mut looked = Vec::new();
    for dir in directories(pid) {
        let path = dir.join(&name);
        match UnixStream::connect(&path) {
            Ok(stream) => {
                return match crate::peer::pid(&stream) {
                    Ok(holder) if holder == pid => Ok(stream),
                    Ok(holder) => Err(Failure::Reach(format!(
                        "{} is held by pid {holder}, not by pid {pid}: not its control socket",
                        path.display()
                    ))),
                    Err(e) => Err(Failure::Reach(format!(
                        "{}: cannot tell who holds it: {e}",
                        path.display()
                    ))),
                };
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(Failure::Reach(format!(
                    "you may not control pid {pid}: {}: permission denied (only the \
                     service's user and root may)",
                    path.display()
                )));
            }
            Err(_) => looked.push(dir.display().to_string()),
        }
    }
    let what = if cfg!(target_os = "linux") && owner(pid).is_none() {
        format!("no process has pid {pid}")
    } else {
        format!(
            "pid {pid} is no graceful service with upgrades in place: no control socket \
             {name} in {}",
            looked.join(", ")
        )
    };
    Err(Failure::Reach(what))
}
