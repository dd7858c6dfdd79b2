//! Starting the new process and waiting for it: ready, exited, late, or stopped with us.

use std::io;
use std::io::Write;
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

/// How often a wait for the new process's `ready` is said in the log.
const WAIT_NOTE: Duration = Duration::from_secs(5);

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
        reason,
        error: Some(error),
    };
    let listeners = registry::for_handover()
        .map_err(|e| cannot_start("cannot copy the listeners".into(), e))?;
    let names: Vec<&str> = listeners.iter().map(|(name, _)| name.as_str()).collect();
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| cannot_start("cannot make the upgrade's channel".into(), e))?;

    // systemd hears RELOADING=1 only if no stop came first: after its STOPPING=1, it
    // would read as the service coming back.
    let told = ctl.unless_shutting_down(|| {
        if let Some(notifier) = ctl.notifier() {
            notifier.reloading();
        }
    });
    if told.is_none() {
        return Err(UpgradeError::ShuttingDown);
    }
    let mut cmd = std::process::Command::new(&exe.path);
    // A process group of its own: a broken binary that forks (a shell script whose
    // child lives on) leaves nothing behind at a rollback, where the whole group is
    // ended.
    cmd.arg0(&exe.argv0)
        .args(&exe.args)
        .envs(handover::announce(&names))
        .process_group(0);
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
    let handle = match sys::ChildHandle::open(pid) {
        Ok(handle) => handle,
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(cannot_start(format!("cannot take hold of pid {pid}"), e));
        }
    };
    started(pid);
    log::set_role(Some(log::Role::Old));
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    log::upgrade_started(&exe.path, pid, &names);
    drop(listeners);

    let outcome = watch(ctl, plan, &mut child, &handle, pid, ours).await;
    if outcome.is_err() {
        // Whatever the new process left behind: it serves nothing, and must hold no
        // socket of this service.
        let _ = handle.signal_group(libc::SIGKILL);
    }
    outcome
}

/// Waits for the new process to be ready and to hold up, then hands over; or stops it.
async fn watch(
    ctl: &'static Controller,
    plan: &Plan,
    child: &mut Child,
    handle: &sys::ChildHandle,
    pid: u32,
    ours: UnixStream,
) -> Result<u32, UpgradeError> {
    let began = Instant::now();
    let ours_async = ours
        .try_clone()
        .and_then(|s| {
            s.set_nonblocking(true)?;
            tokio::net::UnixStream::from_std(s)
        })
        .map_err(|e| UpgradeError::CannotStart {
            path: None,
            reason: "cannot read the upgrade's channel".to_owned(),
            error: Some(e),
        });
    let ours_async = match ours_async {
        Ok(stream) => stream,
        Err(e) => {
            end(child, handle).await;
            return Err(e);
        }
    };
    let mut lines = handover::Lines::new(BufReader::new(ours_async));
    let stop = ctl.initiated.wait();
    tokio::pin!(stop);

    // Ready, or not.
    let timeout = sleep(plan.timeout);
    tokio::pin!(timeout);
    let mut still_waiting = tokio::time::interval_at(began + WAIT_NOTE, WAIT_NOTE);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return Err(stopped(ctl, child, handle, pid).await),
            status = child.wait() => {
                let (how, exit) = ended(status);
                return Err(UpgradeError::Exited { pid, how, exit, after_ready: false });
            }
            line = lines.next_line() => match line {
                Ok(Some(line)) if handover::parse_ready(&line) == Some(pid) => break,
                // Anything else on the channel is not ours to read.
                Ok(Some(_)) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    end(child, handle).await;
                    return Err(UpgradeError::BadChannel { pid, reason: e.to_string() });
                }
                Ok(None) | Err(_) => return Err(closed(child, handle, pid).await),
            },
            () = &mut timeout => {
                end(child, handle).await;
                return Err(UpgradeError::NotReady { pid, after: plan.timeout });
            }
            _ = still_waiting.tick() => {
                log::upgrade_waiting(pid, began.elapsed(), plan.timeout, "to call graceful::ready()");
            }
        }
    }

    // Ready: both serve for a moment, while it shows it holds up.
    let ready_after = began.elapsed();
    let settle = sleep(SETTLE);
    tokio::pin!(settle);
    tokio::select! {
        biased;
        () = &mut stop => return Err(stopped(ctl, child, handle, pid).await),
        status = child.wait() => {
            let (how, exit) = ended(status);
            return Err(UpgradeError::Exited { pid, how, exit, after_ready: true });
        }
        () = &mut settle => {}
    }

    // The handover, decided under the lock that decides the shutdown's trigger: a stop
    // that comes first is a stop during the upgrade, which stops the new process too; one
    // that comes after finds this process draining. systemd hears of the new main process
    // before anything of this one's shutdown: from here on, this one tells it nothing.
    let handed_over = ctl.initiate_after(Trigger::Upgrade { pid }, || {
        if let Some(notifier) = ctl.notifier() {
            notifier.handed_over(pid);
        }
        // The new process's stop is no rollback from now on (`Context::is_rollback`).
        let _ = (&ours).write_all(handover::HANDED_OVER.as_bytes());
        crate::sync::lock(&HANDED_OVER).push(ours);
        log::upgrade_handed_over(pid, ready_after, SETTLE);
    });
    if !handed_over {
        return Err(stopped(ctl, child, handle, pid).await);
    }
    Ok(pid)
}

/// The new process closed its channel without saying it is ready: its exit is waited for
/// a moment, then it is killed.
async fn closed(child: &mut Child, handle: &sys::ChildHandle, pid: u32) -> UpgradeError {
    match tokio::time::timeout(CLOSE_TO_EXIT, child.wait()).await {
        Ok(Ok(status)) => {
            let (how, exit) = ended(Ok(status));
            UpgradeError::Exited {
                pid,
                how,
                exit,
                after_ready: false,
            }
        }
        _ => {
            end(child, handle).await;
            UpgradeError::ClosedWithoutReady { pid }
        }
    }
}

/// A stop came during the upgrade: the new process gets the same signal (`SIGTERM` for
/// another trigger), and its exit is waited for, so that the stop stops both.
async fn stopped(
    ctl: &Controller,
    child: &mut Child,
    handle: &sys::ChildHandle,
    pid: u32,
) -> UpgradeError {
    let signal = match ctl.trigger() {
        Some(Trigger::Signal(signal)) => signal.number(),
        _ => None,
    }
    .unwrap_or(libc::SIGTERM);
    let status = if handle.signal(signal).is_ok() {
        child.wait().await.ok()
    } else {
        end(child, handle).await
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
async fn end(child: &mut Child, handle: &sys::ChildHandle) -> Option<ExitStatus> {
    if handle.signal(libc::SIGTERM).is_ok() {
        if let Ok(status) = tokio::time::timeout(ROLLBACK_GRACE, child.wait()).await {
            return status.ok();
        }
    }
    let _ = child.start_kill();
    child.wait().await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_child_is_never_signalled_again() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let handle = sys::ChildHandle::open(child.id()).unwrap();
        handle.signal(libc::SIGTERM).unwrap();
        child.wait().unwrap();
        // Its id may be another process's by now: the signal reaches none.
        let err = handle.signal(libc::SIGTERM).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn the_group_of_a_child_that_forked_is_ended_with_what_it_left() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; exit 3"])
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let handle = sys::ChildHandle::open(child.id()).unwrap();
        // Its first line only: the child it left holds the pipe open.
        let mut left = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut left,
        )
        .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(3));
        let left: u32 = left.trim().parse().expect("the child's pid");
        assert!(
            std::path::Path::new(&format!("/proc/{left}")).exists() || !cfg!(target_os = "linux")
        );
        handle.signal_group(libc::SIGKILL).unwrap();
        // Orphaned, it is reaped by init; gone within a moment.
        let waited = std::time::Instant::now();
        while cfg!(target_os = "linux")
            && std::fs::read_to_string(format!("/proc/{left}/stat"))
                .is_ok_and(|stat| !stat.contains(") Z "))
        {
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "pid {left} lives on"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
