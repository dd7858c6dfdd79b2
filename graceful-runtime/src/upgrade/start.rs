//! Starting the new process and waiting for it: ready, exited, late, or stopped with us.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::process::Child;
use tokio::time::{sleep, Instant};

use super::error::{ended, UpgradeError};
use super::{started, Plan, SETTLE};
use crate::controller::Controller;
use crate::report::log;
use crate::serve::registry;
use crate::trigger::Trigger;
use crate::{handover, sys};

/// Our ends of the channels of upgrades that handed over: kept open until this process
/// exits, which the new process reads as the end of its predecessor.
static HANDED_OVER: Mutex<Vec<UnixStream>> = Mutex::new(Vec::new());

/// How long a new process that closed its channel has to exit before it is stopped.
const CLOSE_TO_EXIT: Duration = Duration::from_secs(1);

/// How long a new process that is rolled back has to stop after `SIGTERM`, before
/// `SIGKILL`.
const ROLLBACK_GRACE: Duration = Duration::from_secs(5);

pub(super) async fn start(ctl: &'static Controller, plan: &Plan) -> Result<u32, UpgradeError> {
    let exe = plan.exe.as_ref().map_err(|why| UpgradeError::CannotStart {
        path: None,
        reason: why.clone(),
        error: None,
    })?;
    let cannot_start = |reason: String, error: io::Error| UpgradeError::CannotStart {
        path: Some(exe.path.clone()),
        reason: if reason.is_empty() {
            error.to_string()
        } else {
            format!("{reason}: {error}")
        },
        error: Some(error),
    };
    let listeners = registry::for_handover()
        .map_err(|e| cannot_start("cannot copy the listeners".into(), e))?;
    let names: Vec<&str> = listeners.iter().map(|(name, _)| name.as_str()).collect();
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| cannot_start("cannot make the upgrade's channel".into(), e))?;

    if let Some(notifier) = ctl.notifier() {
        notifier.reloading();
    }
    let mut cmd = std::process::Command::new(&exe.path);
    cmd.arg0(&exe.argv0)
        .args(&exe.args)
        .envs(handover::announce(&names));
    for name in crate::systemd::activation::VARIABLES {
        cmd.env_remove(name);
    }
    let fds: Vec<BorrowedFd<'_>> = listeners
        .iter()
        .map(|(_, socket)| socket.as_fd())
        .chain([theirs.as_fd()])
        .collect();
    let sources = sys::hand_over(&mut cmd, &fds)
        .map_err(|e| cannot_start("cannot hand the sockets over".into(), e))?;
    let mut child = tokio::process::Command::from(cmd)
        .spawn()
        .map_err(|e| cannot_start(String::new(), e))?;
    // The child has its copies now; ours of its end, and the copies made to hand over,
    // close here.
    drop(fds);
    drop(sources);
    drop(theirs);
    let pid = child.id().expect("a child just spawned has an id");
    started(pid);
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    log::upgrade_started(&exe.path, pid, &names);
    drop(listeners);

    let began = Instant::now();
    let ours_async = ours
        .try_clone()
        .and_then(|s| {
            s.set_nonblocking(true)?;
            tokio::net::UnixStream::from_std(s)
        })
        .map_err(|e| cannot_start("cannot read the upgrade's channel".into(), e));
    let ours_async = match ours_async {
        Ok(stream) => stream,
        Err(e) => {
            end(&mut child).await;
            return Err(e);
        }
    };
    let mut lines = handover::Lines::new(BufReader::new(ours_async));
    let stop = ctl.initiated.wait();
    tokio::pin!(stop);

    // Ready, or not.
    let timeout = sleep(plan.timeout);
    tokio::pin!(timeout);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return Err(stopped(ctl, &mut child, pid).await),
            status = child.wait() => {
                let (how, exit) = ended(status);
                return Err(UpgradeError::Exited { pid, how, exit });
            }
            line = lines.next_line() => match line {
                Ok(Some(line)) if handover::parse_ready(&line) == Some(pid) => break,
                // Anything else on the channel is not ours to read.
                Ok(Some(_)) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    end(&mut child).await;
                    return Err(UpgradeError::BadChannel { pid, reason: e.to_string() });
                }
                Ok(None) | Err(_) => return Err(closed(&mut child, pid).await),
            },
            () = &mut timeout => {
                end(&mut child).await;
                return Err(UpgradeError::NotReady { pid, after: plan.timeout });
            }
        }
    }

    // Ready: both serve for a moment, while it shows it holds up.
    let ready_after = began.elapsed();
    let settle = sleep(SETTLE);
    tokio::pin!(settle);
    tokio::select! {
        biased;
        () = &mut stop => return Err(stopped(ctl, &mut child, pid).await),
        status = child.wait() => {
            let (how, exit) = ended(status);
            return Err(UpgradeError::Exited { pid, how: format!("{how} right after it said it was ready"), exit });
        }
        () = &mut settle => {}
    }

    // The handover. systemd hears of the new main process first: from here on, this one
    // tells it nothing.
    if let Some(notifier) = ctl.notifier() {
        notifier.handed_over(pid);
    }
    crate::sync::lock(&HANDED_OVER).push(ours);
    log::upgrade_handed_over(pid, ready_after, SETTLE);
    ctl.initiate(Trigger::Upgrade { pid });
    Ok(pid)
}

/// The new process closed its channel without saying it is ready: its exit is waited for
/// a moment, then it is killed.
async fn closed(child: &mut Child, pid: u32) -> UpgradeError {
    match tokio::time::timeout(CLOSE_TO_EXIT, child.wait()).await {
        Ok(Ok(status)) => {
            let (how, exit) = ended(Ok(status));
            UpgradeError::Exited { pid, how, exit }
        }
        _ => {
            end(child).await;
            UpgradeError::ClosedWithoutReady { pid }
        }
    }
}

/// A stop came during the upgrade: the new process gets the same signal (`SIGTERM` for
/// another trigger), and its exit is waited for, so that the stop stops both.
async fn stopped(ctl: &Controller, child: &mut Child, pid: u32) -> UpgradeError {
    let signal = match ctl.trigger() {
        Some(Trigger::Signal(signal)) => signal.number(),
        _ => None,
    }
    .unwrap_or(libc::SIGTERM);
    let status = if sys::send_signal(pid, signal).is_ok() {
        child.wait().await.ok()
    } else {
        end(child).await
    };
    let (how, exit) = ended(status.ok_or_else(|| io::Error::other("no status")));
    let how = if exit.is_some() {
        how
    } else {
        "could not be waited for".to_owned()
    };
    UpgradeError::Stopped { pid, how, exit }
}

/// Stops the new process and reaps it: `SIGTERM` first, so that one that took work, or
/// connections, hands them back, then `SIGKILL` if it has not exited within
/// [`ROLLBACK_GRACE`].
async fn end(child: &mut Child) -> Option<ExitStatus> {
    if let Some(pid) = child.id() {
        if sys::send_signal(pid, libc::SIGTERM).is_ok() {
            if let Ok(status) = tokio::time::timeout(ROLLBACK_GRACE, child.wait()).await {
                return status.ok();
            }
        }
    }
    let _ = child.start_kill();
    child.wait().await.ok()
}
