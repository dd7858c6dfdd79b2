//! `graceful-ctl` against a running service: an upgrade that hands over prints the new
//! process's id and exits 0; a rollback and a refusal exit 1 with the reason; a process
//! that is no graceful service, and a caller of another user, exit 2. The status says
//! what the service does.

#![cfg(target_os = "linux")]

use graceful_process_tests as support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::upgrade;
use support::Service;

const UPGRADABLE: &str = env!("CARGO_BIN_EXE_fixture-upgradable");
const FAULTY: &str = env!("CARGO_BIN_EXE_fixture-faulty");
const CTL: &str = env!("CARGO_BIN_EXE_fixture-ctl");

/// The upgradable fixture, started from a path of its own, its control socket in a
/// directory of its own (`XDG_RUNTIME_DIR`).
struct Running {
    svc: Service,
    addr: SocketAddr,
    path: PathBuf,
    dir: PathBuf,
    runtime_dir: PathBuf,
}

fn start(name: &str, envs: &[(&str, &str)]) -> Running {
    upgrade::become_subreaper();
    let dir = upgrade::scratch(&format!("ctl-{name}"));
    let runtime_dir = dir.join("run");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    let path = dir.join("service");
    upgrade::deploy(UPGRADABLE, &path);
    let mut all = vec![("XDG_RUNTIME_DIR", runtime_dir.to_str().unwrap())];
    all.extend_from_slice(envs);
    let (svc, addr) = support::start_server(path.to_str().unwrap(), &all);
    Running {
        svc,
        addr,
        path,
        dir,
        runtime_dir,
    }
}

impl Running {
    fn ctl(&self, args: &[&str]) -> Output {
        ctl(&self.runtime_dir, args)
    }

    fn socket(&self, pid: u32) -> PathBuf {
        self.runtime_dir.join(format!("graceful-{pid}.sock"))
    }
}

fn ctl(runtime_dir: &Path, args: &[&str]) -> Output {
    Command::new(CTL)
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .output()
        .expect("graceful-ctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_upgrade_that_hands_over_prints_the_new_pid_and_exits_0() {
    let running = start("ok", &[]);
    let old = running.svc.id();
    assert!(
        running.socket(old).exists(),
        "the control socket is made at start"
    );
    let status = running.ctl(&["status", &old.to_string()]);
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    assert!(
        text(&status.stdout).starts_with(&format!("pid {old}: serving since ")),
        "{status:?}"
    );
    // The old process will drain this for two seconds after the handover.
    let slow = support::http::send_get(running.addr, "/slow").unwrap();
    upgrade::deploy(UPGRADABLE, &running.path);
    let out = running.ctl(&["upgrade", &old.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let new: u32 = text(&out.stdout).trim().parse().expect("the new pid alone");
    // It serves once the command has answered.
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), new);
    // The old one drains, and says so.
    let status = running.ctl(&["status", &old.to_string()]);
    let said = text(&status.stdout);
    assert!(
        said.starts_with(&format!("pid {old}: draining since "))
            && said.ends_with(&format!(": upgraded: pid {new} serves now\n")),
        "{status:?}"
    );
    let status = running.ctl(&["status", &new.to_string()]);
    assert!(
        text(&status.stdout).ends_with(&format!(
            ": the process it replaced (pid {old}) still drains\n"
        )),
        "{status:?}"
    );
    assert_eq!(support::http::read_response(slow).unwrap().status, 200);
    let (old_socket, new_socket) = (running.socket(old), running.socket(new));
    let exited = running.svc.exited();
    assert_eq!(exited.code, Some(0), "{exited:#?}");
    exited.assert_stderr("control socket: upgrade asked by uid ");
    // The old process's socket went with it; the new one has its own.
    assert!(!old_socket.exists());
    assert!(new_socket.exists());
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    assert!(!new_socket.exists(), "removed at the exit");
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn a_rolled_back_upgrade_exits_1_with_the_reason() {
    let running = start("rollback", &[("FIXTURE_FAULT", "exit")]);
    let old = running.svc.id();
    upgrade::deploy(FAULTY, &running.path);
    let out = running.ctl(&["upgrade", &old.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let said = text(&out.stderr);
    assert!(
        said.starts_with(&format!(
            "graceful-ctl: upgrade of pid {old} failed: the new process (pid "
        )) && said.ends_with(&format!(
            ") ended before it said it was ready: exited with 3; pid {old} goes on serving\n"
        )),
        "{said}"
    );
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), old);
    let mut svc = running.svc;
    svc.signal("TERM");
    assert_eq!(svc.exited().code, Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn an_upgrade_asked_while_one_is_under_way_is_refused_with_exit_1() {
    let mut running = start(
        "refused",
        &[
            ("FIXTURE_FAULT", "never-ready"),
            ("GRACEFUL_UPGRADE_TIMEOUT", "30s"),
        ],
    );
    let old = running.svc.id();
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(old, "HUP");
    running.svc.wait_for("faulty: took the listener");
    let status = running.ctl(&["status", &old.to_string()]);
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    let said = text(&status.stdout);
    assert!(
        said.starts_with(&format!("pid {old}: upgrading since ")) && said.contains(": to pid "),
        "{said}"
    );
    let out = running.ctl(&["upgrade", &old.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).starts_with(&format!(
            "graceful-ctl: upgrade of pid {old} refused: an upgrade is under way already, to pid "
        )),
        "{out:?}"
    );
    // The stop stops both.
    let mut svc = running.svc;
    svc.signal("TERM");
    let exited = svc.exited();
    assert_eq!(exited.code, Some(0), "{exited:#?}");
    assert!(exited.has_line("faulty: stopped"), "{exited:#?}");
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn an_upgrade_a_stop_interrupts_exits_1_and_says_the_service_shuts_down() {
    let mut running = start("abandoned", &[("FIXTURE_FAULT", "never-ready")]);
    let old = running.svc.id();
    upgrade::deploy(FAULTY, &running.path);
    let runtime_dir = running.runtime_dir.clone();
    let asking = std::thread::spawn(move || ctl(&runtime_dir, &["upgrade", &old.to_string()]));
    running.svc.wait_for("faulty: took the listener");
    let mut svc = running.svc;
    svc.signal("TERM");
    let out = asking.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = text(&out.stderr);
    assert!(
        said.starts_with(&format!(
            "graceful-ctl: upgrade of pid {old} abandoned: a stop came during the upgrade: the \
             new process (pid "
        )) && said.ends_with(&format!("; pid {old} shuts down\n")),
        "{said}"
    );
    let exited = svc.exited();
    assert_eq!(exited.code, Some(0), "{exited:#?}");
    assert!(exited.has_line("faulty: stopped"), "{exited:#?}");
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn a_process_that_is_no_graceful_service_exits_2() {
    let dir = upgrade::scratch("ctl-none");
    // A process that runs, but has no control socket.
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let out = ctl(&dir, &["upgrade", &sleeper.id().to_string()]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).starts_with(&format!(
            "graceful-ctl: pid {} is no graceful service with upgrades in place: no control socket",
            sleeper.id()
        )),
        "{out:?}"
    );
    // A pid no process has.
    let out = ctl(&dir, &["status", "2147483646"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        "graceful-ctl: no process has pid 2147483646\n"
    );
    // A wrong command line.
    let out = ctl(&dir, &["reload", "1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("usage: graceful-ctl upgrade <PID>"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_caller_of_another_user_may_not_control_the_service_and_exits_2() {
    use std::os::unix::process::CommandExt;
    let root = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if root.ok() != Some(true) {
        eprintln!("skipped: running the command as another user needs root");
        return;
    }
    let running = start("other-user", &[]);
    let old = running.svc.id();
    // The command where `nobody` may run it.
    let ctl_copy = running.dir.join("graceful-ctl");
    std::fs::copy(CTL, &ctl_copy).unwrap();
    // The copy was open for writing a moment ago: a process another test forks meanwhile
    // holds that descriptor until its own exec, and running the copy fails with "text file
    // busy" until then.
    let mut tries = 0;
    let out = loop {
        let ran = Command::new(&ctl_copy)
            .args(["upgrade", &old.to_string()])
            .env("XDG_RUNTIME_DIR", &running.runtime_dir)
            .uid(65534)
            .gid(65534)
            .output();
        match ran {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            ran => break ran.expect("graceful-ctl runs as nobody"),
        }
    };
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).starts_with(&format!("graceful-ctl: you may not control pid {old}: ")),
        "{out:?}"
    );
    // Nothing was started.
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), old);
    let mut svc = running.svc;
    svc.signal("TERM");
    let exited = svc.exited();
    assert_eq!(exited.code, Some(0));
    assert!(
        !exited.stderr.contains("upgrade: started"),
        "{}",
        exited.stderr
    );
    let _ = std::fs::remove_dir_all(running.dir);
}
