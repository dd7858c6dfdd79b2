//! `graceful-ctl`: the command a deploy pipeline calls to upgrade a running graceful
//! service in place and learn the outcome, which a signal cannot tell it.
//!
//! ```text
//! graceful-ctl upgrade <PID>   start the binary now on disk in place of PID, wait, and
//!                              print the new process's id once it serves
//! graceful-ctl status <PID>    what PID is doing (starting, serving, upgrading,
//!                              draining) and since when
//! ```
//!
//! Exit codes: 0 the upgrade handed over (or the status was read); 1 the upgrade was
//! rolled back or refused, with the reason on stderr, and PID goes on serving; 2 PID is
//! no graceful service with upgrades (no control socket), or the caller may not control
//! it (only the service's user and root may), or the command line is wrong.
//!
//! It speaks to the service's control socket, `graceful-<PID>.sock` in
//! `$XDG_RUNTIME_DIR`, `/run/user/<the service's uid>`, `/run/graceful` or the temporary
//! directory, and checks that the process at the other end is PID. It depends on nothing
//! of the runtime: the protocol is a line each way (see the service's documentation).

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(unix)]
mod peer;
mod socket;

/// What went wrong, and the exit code it gets.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Rolled back or refused: 1.
    Outcome(String),
    /// No such service, not allowed, or a wrong command line: 2.
    Reach(String),
}

const USAGE: &str = "usage: graceful-ctl upgrade <PID> | graceful-ctl status <PID>

  upgrade <PID>  start the binary now on disk in place of the graceful service PID, hand
                 it the listening sockets, wait, and print its process id once it serves
  status <PID>   print what PID is doing (starting, serving, upgrading, draining) and
                 since when

exit codes: 0 done; 1 the upgrade was rolled back or refused (PID serves on), the reason
on stderr; 2 PID is no graceful service with upgrades, the caller may not control it (its
user and root may), or the command line is wrong";

/// Runs the command with the process's arguments; what `main` of the binary calls.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Outcome(why)) => {
            eprintln!("graceful-ctl: {why}");
            ExitCode::from(1)
        }
        Err(Failure::Reach(why)) => {
            eprintln!("graceful-ctl: {why}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<String, Failure> {
    let (command, pid) = match args {
        [flag] if flag == "--help" || flag == "-h" => return Ok(USAGE.to_owned()),
        [flag] if flag == "--version" || flag == "-V" => {
            return Ok(format!("graceful-ctl {}", env!("CARGO_PKG_VERSION")))
        }
        [command, pid] if command == "upgrade" || command == "status" => {
            let pid: u32 =
                pid.parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                    Failure::Reach(format!("{pid:?} is not a process id\n{USAGE}"))
                })?;
            (command.as_str(), pid)
        }
        _ => return Err(Failure::Reach(USAGE.to_owned())),
    };
    let answer = socket::ask(pid, command)?;
    if let Some(why) = answer.strip_prefix("denied ") {
        return Err(Failure::Reach(format!("pid {pid} refused: {why}")));
    }
    match command {
        "upgrade" => upgrade_answer(pid, &answer),
        _ => status_answer(pid, &answer),
    }
}

fn upgrade_answer(pid: u32, answer: &str) -> Result<String, Failure> {
    if let Some(new) = answer.strip_prefix("ok ") {
        return Ok(new.to_owned());
    }
    if let Some(why) = answer.strip_prefix("refused ") {
        return Err(Failure::Outcome(format!(
            "upgrade of pid {pid} refused: {why}"
        )));
    }
    if let Some(why) = answer.strip_prefix("abandoned ") {
        return Err(Failure::Outcome(format!(
            "upgrade of pid {pid} abandoned: {why}; pid {pid} shuts down"
        )));
    }
    if let Some(why) = answer.strip_prefix("failed ") {
        return Err(Failure::Outcome(format!(
            "upgrade of pid {pid} failed: {why}; pid {pid} goes on serving"
        )));
    }
    Err(Failure::Outcome(format!(
        "pid {pid} answered what this version cannot read: {answer:?}"
    )))
}

fn status_answer(pid: u32, answer: &str) -> Result<String, Failure> {
    let mut fields = answer.splitn(3, '\t');
    let (Some(state), Some(since), detail) = (fields.next(), fields.next(), fields.next()) else {
        return Err(Failure::Outcome(format!(
            "pid {pid} answered what this version cannot read: {answer:?}"
        )));
    };
    let since: u64 = since.parse().map_err(|_| {
        Failure::Outcome(format!(
            "pid {pid} answered a time that is none: {answer:?}"
        ))
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let detail = match detail {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    };
    Ok(format!(
        "pid {pid}: {state} since {} ({} ago){detail}",
        utc(since),
        ago(now.saturating_sub(since))
    ))
}

/// A time as `2026-12-03 08:40:00 UTC`.
fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// A span as people say it: `42 s`, `3 min 2 s`, `2 h 5 min`, `3 d 4 h`.
fn ago(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3_599 => format!("{} min {} s", secs / 60, secs % 60),
        3_600..=86_399 => format!("{} h {} min", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_dates_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_287_201), "2026-12-03 08:40:01 UTC");
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(ago(42), "42 s");
        assert_eq!(ago(182), "3 min 2 s");
        assert_eq!(ago(7_500), "2 h 5 min");
        assert_eq!(ago(273_600), "3 d 4 h");
    }

    #[test]
    fn each_answer_gets_its_exit_code() {
        assert_eq!(upgrade_answer(7, "ok 42").unwrap(), "42");
        let Err(Failure::Outcome(why)) = upgrade_answer(
            7,
            "failed the new process (pid 9) ended before it said it was ready: exited with 3",
        ) else {
            panic!("a rollback exits 1")
        };
        assert_eq!(
            why,
            "upgrade of pid 7 failed: the new process (pid 9) ended before it said it was ready: exited with 3; pid 7 goes on serving"
        );
        assert!(matches!(
            upgrade_answer(7, "refused an upgrade is under way already"),
            Err(Failure::Outcome(_))
        ));
        assert!(matches!(
            upgrade_answer(7, "what?"),
            Err(Failure::Outcome(_))
        ));
    }

    #[test]
    fn a_wrong_command_line_exits_2_with_the_usage() {
        for args in [
            &[][..],
            &["upgrade".to_owned()],
            &["stop".to_owned(), "1".to_owned()],
        ] {
            assert!(matches!(run(args), Err(Failure::Reach(u)) if u.contains("usage:")));
        }
        let bad = run(&["status".to_owned(), "-3".to_owned()]);
        assert!(
            matches!(bad, Err(Failure::Reach(u)) if u.starts_with("\"-3\" is not a process id"))
        );
    }
}
