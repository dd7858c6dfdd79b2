//! The in-place upgrade's protocol between the process that hands over (the old one) and
//! the one it starts from the binary now on disk (the new one).
//!
//! The old process starts the new one with its listening sockets at descriptors 3, 4, ...
//! and, after them, its end of a channel; it announces them in the environment:
//!
//! - `GRACEFUL_UPGRADE_FROM`: the old process's id. The new one takes what is announced
//!   only if the descriptor after the sockets is the channel that process made: a Unix
//!   socket whose peer, as the kernel recorded it when the pair was made, is that process.
//!   Not its parent: the old process may have died before the new one read this (its
//!   parent is then another), and the sockets are still the new one's to take; a program
//!   the new one starts in turn inherits the variables, not the descriptors, and is left
//!   alone.
//! - `GRACEFUL_UPGRADE_FDS`: how many sockets; `GRACEFUL_UPGRADE_FDNAMES`: their names,
//!   `:`-separated, the names of the `graceful::listener` calls that took them.
//!
//! The channel is one end of a Unix stream socket pair. The new process writes
//! `READY <pid>` on it when its program calls `graceful::ready()`; the old one keeps its
//! end open until it exits, so the new one reads the end of the stream when the old one
//! is gone, however it ended: until then the new one refuses an upgrade of its own.
//!
//! Inherited descriptors rather than descriptors sent over a socket (`SCM_RIGHTS`): the
//! sockets are in place before the new program's first line runs, with nothing to ask
//! for and no message to lose; it is what systemd does, and the new process takes them
//! through the code that takes systemd's. The sockets are never closed in between: the
//! kernel queues connections on them whichever process accepts.
//!
//! The variables are read once and left in the environment: removing them
//! (`std::env::remove_var`) races with any other thread that reads the environment, and
//! this may run after threads started (lazily, from the first `listener` call). They do
//! no harm left there: what they announce is taken only with its channel, and the old
//! process sets them afresh for each new process it starts.
//!
//! This module holds both sides of the protocol, and the new process's state: what it
//! inherited and its end of the channel. The old side's work (starting the program,
//! waiting for it) is in `upgrade/`.

mod channel;

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Mutex, OnceLock};

use crate::report::log;
use crate::sync::lock;

pub(crate) use channel::{parse_ready, Lines, HANDED_OVER};

/// The old process's id.
pub(crate) const FROM: &str = "GRACEFUL_UPGRADE_FROM";
/// How many sockets are passed, from descriptor 3 on.
pub(crate) const FDS: &str = "GRACEFUL_UPGRADE_FDS";
/// Their names, `:`-separated.
pub(crate) const FDNAMES: &str = "GRACEFUL_UPGRADE_FDNAMES";

/// What the old process announces to the new one, for `names` passed in that order.
pub(crate) fn announce(names: &[&str]) -> [(&'static str, String); 3] {
    [
        (FROM, std::process::id().to_string()),
        (FDS, names.len().to_string()),
        (FDNAMES, names.join(":")),
    ]
}

/// What this process inherited from the process it replaces, when an upgrade started it.
struct Inherited {
    /// The old process's id.
    from: u32,
    /// The sockets not yet given to a listener, by name.
    sockets: Mutex<Vec<(String, OwnedFd)>>,
    channel: channel::Channel,
}

static INHERITED: OnceLock<Result<Option<Inherited>, String>> = OnceLock::new();

/// Reads the announcement and takes what it announces for this process; once per
/// process (under `#[graceful::main]` before the runtime's threads start). The variables
/// are left in the environment (see the module's docs).
pub(crate) fn take_from_env() {
    INHERITED.get_or_init(read);
}

fn read() -> Result<Option<Inherited>, String> {
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let (from, fds, names) = (var(FROM), var(FDS), var(FDNAMES));
    let Some(from) = from else {
        return Ok(None);
    };
    let from: u32 = from
        .trim()
        .parse()
        .map_err(|_| format!("{FROM}={from:?} is not a process id (upgrade in place)"))?;
    let fds = fds.unwrap_or_else(|| "0".to_owned());
    let count: usize = fds
        .trim()
        .parse()
        .ok()
        .filter(|&n| n <= MAX_SOCKETS)
        .ok_or_else(|| format!("{FDS}={fds:?} is not a number of sockets (upgrade in place)"))?;
    let names: Vec<String> = match names.as_deref() {
        Some("") | None => Vec::new(),
        Some(names) => names.split(':').map(str::to_owned).collect(),
    };
    if names.len() != count {
        return Err(format!(
            "{FDNAMES} names {} sockets, but {FDS}={count} (upgrade in place)",
            names.len()
        ));
    }
    if !is_for_this_process(from, count) {
        return Ok(None);
    }
    // The sockets, then the channel's end.
    #[allow(unsafe_code)] // the one call of `sys::adopt_all` for this protocol
    // SAFETY: the old process `from` handed these numbers to this one for it to own: the
    // channel after them is the one it made, or it is this process's parent (checked just
    // above); this runs once per process (`INHERITED`), and `adopt_all` refuses a number
    // taken before.
    let mut fds = unsafe { crate::sys::adopt_all(crate::sys::FIRST, count + 1) }
        .map_err(|e| format!("{FDS}={count}: {e} (upgrade in place)"))?;
    let channel = channel::Channel::new(fds.pop().expect("count + 1 descriptors"))
        .map_err(|e| format!("the upgrade's channel cannot be used: {e}"))?;
    log::set_role(Some(log::Role::New));
    Ok(Some(Inherited {
        from,
        sockets: Mutex::new(names.into_iter().zip(fds).collect()),
        channel,
    }))
}

/// More sockets than a service listens on: a number like this is a mistake.
const MAX_SOCKETS: usize = 4096;

/// Whether what `from` announces is for this process: the descriptor after the `count`
/// sockets is the channel the process `from` made, or `from` is this process's parent (an
/// announcement for this process then, whose errors are said).
///
/// The channel decides when the old process died before this one read the announcement:
/// its parent is then another, and the sockets, open in this process, are still its own to
/// take (left alone, they would hold the addresses this process then binds afresh).
fn is_for_this_process(from: u32, count: usize) -> bool {
    let channel = crate::sys::FIRST + libc::c_int::try_from(count).expect("at most MAX_SOCKETS");
    if let Ok(Some(peer)) = crate::sys::peer_pid(channel) {
        if peer == from {
            return true;
        }
    }
    let parent = std::os::unix::process::parent_id();
    if from == parent {
        return true;
    }
    log::listener_note(&format!(
        "{FROM}={from} is neither this process's parent ({parent}) nor the maker of descriptor {channel}: what it announces is not for this process, and is left alone"
    ));
    false
}

fn inherited() -> Result<Option<&'static Inherited>, String> {
    take_from_env();
    match INHERITED.get().expect("initialised just above") {
        Ok(inherited) => Ok(inherited.as_ref()),
        Err(message) => Err(message.clone()),
    }
}

/// The sockets the old process handed over, by name, each given once: the first call
/// takes them all. An announcement that cannot be read is an error, for every listener.
pub(crate) fn take_sockets() -> Result<Vec<(String, OwnedFd)>, String> {
    Ok(match inherited()? {
        Some(inherited) => std::mem::take(&mut *lock(&inherited.sockets)),
        None => Vec::new(),
    })
}

/// The id of the process this one replaces, when an upgrade started this one.
pub(crate) fn previous() -> Option<u32> {
    inherited().ok().flatten().map(|i| i.from)
}

/// Whether the process this one replaces has exited (true when there is none).
pub(crate) fn previous_gone() -> bool {
    match inherited() {
        Ok(Some(inherited)) => inherited.channel.is_closed(),
        _ => true,
    }
}

/// True in a process an upgrade started that the old process has not handed over to
/// (yet): its stop now is a rollback, or a stop of both, and the old process serves what
/// it serves.
pub(crate) fn is_rollback() -> bool {
    match inherited() {
        Ok(Some(inherited)) => !inherited.channel.was_handed_over(),
        _ => false,
    }
}

/// Tells the old process that this one is ready: from then on it stops accepting and
/// drains. `Ok(None)` when no upgrade started this process.
pub(crate) fn say_ready() -> io::Result<Option<u32>> {
    match inherited() {
        Ok(Some(inherited)) => inherited.channel.say_ready().map(|()| Some(inherited.from)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_names_the_sockets_in_order() {
        let [from, fds, names] = announce(&["http", "admin"]);
        assert_eq!(from, (FROM, std::process::id().to_string()));
        assert_eq!(fds, (FDS, "2".to_owned()));
        assert_eq!(names, (FDNAMES, "http:admin".to_owned()));
        let [_, fds, names] = announce(&[]);
        assert_eq!((fds.1.as_str(), names.1.as_str()), ("0", ""));
    }
}
