//! Upgrades in place that go wrong, under load: the new binary exits at once, never says
//! it is ready, crashes right after it did; two triggers back to back; a stop during an
//! upgrade; a trigger in a new process whose old one still drains; systemd's view of it.
//! The old process keeps serving through each failure with no client error, and its log
//! says why.

#![cfg(target_os = "linux")]

use graceful_process_tests as support;

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use support::upgrade::{self, Load};
use support::{http, Service};

const UPGRADABLE: &str = env!("CARGO_BIN_EXE_fixture-upgradable");
const FAULTY: &str = env!("CARGO_BIN_EXE_fixture-faulty");

/// The upgradable fixture started from a path of its own, under load.
struct Running {
    svc: Service,
    addr: SocketAddr,
    path: PathBuf,
    dir: PathBuf,
}

fn start(name: &str, envs: &[(&str, &str)]) -> Running {
    upgrade::become_subreaper();
    let dir = upgrade::scratch(name);
    let path = dir.join("service");
    upgrade::deploy(UPGRADABLE, &path);
    let (svc, addr) = support::start_server(path.to_str().unwrap(), envs);
    Running {
        svc,
        addr,
        path,
        dir,
    }
}

impl Running {
    fn pid(&self) -> u32 {
        self.svc.id()
    }

    /// Waits until the stdout of every generation holds a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) {
        self.svc.wait_for(prefix);
    }

    /// Waits until the stderr of every generation holds `needle`.
    fn wait_for_stderr(&mut self, needle: &str) {
        self.svc.wait_for_stderr(needle);
    }

    /// Stops the (first) process and returns its exit code, its stdout and stderr.
    fn stop(self) -> support::Exited {
        let pid = self.pid();
        let mut svc = self.svc;
        svc.signal("TERM");
        let out = svc.exited();
        let _ = std::fs::remove_dir_all(&self.dir);
        assert_eq!(out.code, Some(0), "{pid}: {out:#?}");
        out
    }
}

/// Puts the broken binary in place, triggers the upgrade, and returns what the old
/// process said, under load all along; the old process must still serve, with no
/// client error.
fn failed_upgrade(name: &str, fault: &str, envs: &[(&str, &str)]) -> support::Exited {
    let mut all = vec![("FIXTURE_FAULT", fault)];
    all.extend_from_slice(envs);
    let mut running = start(name, &all);
    let load = Load::start(running.addr, 2, 2);
    let old = running.pid();
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(old, "HUP");
    running.wait_for_stderr("upgrade failed: ");
    // Still the old one, serving.
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), old);
    thread::sleep(Duration::from_millis(300));
    let (answered, failures) = load.stop();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(answered > 0);
    running.stop()
}

#[test]
fn a_new_binary_that_exits_at_once_is_rolled_back_and_the_old_one_serves_on() {
    let out = failed_upgrade("exits", "exit", &[]);
    out.assert_stderr("exited with 3; this process goes on serving");
    // The old process's shutdown is its own, from the signal.
    assert!(
        out.has_line("hook trigger=SIGTERM rollback=false"),
        "{out:#?}"
    );
}

#[test]
fn a_new_binary_that_never_says_it_is_ready_is_stopped_after_the_timeout() {
    let started = Instant::now();
    let out = failed_upgrade(
        "never-ready",
        "never-ready",
        &[("GRACEFUL_UPGRADE_TIMEOUT", "1s")],
    );
    out.assert_stderr(
        "was not ready after 1s: did it call graceful::ready()? stopped \
         (GRACEFUL_UPGRADE_TIMEOUT sets the time); this process goes on serving",
    );
    // Stopped with SIGTERM, as a service: it said so on its way out, and its hook knew
    // it was rolled back. Meanwhile it was not ready, though it held the socket.
    assert!(out.has_line("faulty: stopped"), "{out:#?}");
    assert!(out.has_line("faulty: hook rollback=true"), "{out:#?}");
    assert!(
        out.has_line(
            "faulty: took the listener (never-ready); readiness: Some(\"starting: the new process \
             of an upgrade, until graceful::ready()\")"
        ),
        "{out:#?}"
    );
    // Two processes wrote one log: each line of the upgrade says which.
    out.assert_stderr(", new): SIGTERM: shutting down");
    out.assert_stderr(", old): upgrade failed: the new process (pid ");
    assert!(started.elapsed() < support::PATIENCE);
}

#[test]
fn a_new_binary_that_crashes_right_after_it_said_it_is_ready_is_rolled_back() {
    let out = failed_upgrade("crash", "crash", &[]);
    out.assert_stderr(
        "ended right after it said it was ready: was killed by SIGABRT; this process goes on serving",
    );
}

#[test]
fn after_a_failed_upgrade_the_next_one_hands_over() {
    let mut running = start("again", &[("FIXTURE_FAULT", "exit")]);
    let old = running.pid();
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(old, "HUP");
    running.wait_for_stderr("upgrade failed: ");
    // The fix is deployed; this time through the program's own call.
    upgrade::deploy(UPGRADABLE, &running.path);
    let answer = http::get(running.addr, "/upgrade").unwrap();
    let new: u32 = answer
        .body
        .trim()
        .strip_prefix("ok ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("{answer:?}"));
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), new);
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.has_line(&format!("hook trigger=upgraded: pid {new} serves now")),
        "{out:#?}"
    );
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn a_second_trigger_during_an_upgrade_is_refused_and_one_handover_happens() {
    let mut running = start("twice", &[("GRACEFUL_UPGRADE_TIMEOUT", "30s")]);
    let old = running.pid();
    upgrade::deploy(UPGRADABLE, &running.path);
    upgrade::signal(old, "HUP");
    thread::sleep(Duration::from_millis(100));
    upgrade::signal(old, "HUP");
    running.wait_for("hook trigger=upgraded");
    let new = upgrade::serving_pid(running.addr).unwrap();
    assert_ne!(new, old);
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("upgrade refused: an upgrade is under way already, to pid");
    assert_eq!(
        out.stderr.matches("upgrade: started").count(),
        1,
        "{}",
        out.stderr
    );
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn a_stop_during_an_upgrade_stops_both_processes() {
    let mut running = start("stop", &[("FIXTURE_FAULT", "never-ready")]);
    let old = running.pid();
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(old, "HUP");
    running.wait_for("faulty: took the listener");
    let new = pid_of_new(&running.svc);
    // The wait is said every few seconds.
    running.wait_for_stderr(&format!(
        "upgrade: still waiting for pid {new} to call graceful::ready() (5s of 60s)"
    ));
    upgrade::signal(old, "TERM");
    // The new process was told to stop too, and stopped as a service does; the old one
    // waited for it and says how it ended.
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.has_line("faulty: stopped"), "{out:#?}");
    out.assert_stderr(&format!(
        "a stop came during the upgrade: the new process (pid {new}) was told to stop too: \
         exited with 0"
    ));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn an_upgrade_whose_caller_gave_up_still_ends_and_the_next_one_hands_over() {
    let (socket, socket_path) = notify_socket("notify-dropped");
    let mut running = start(
        "dropped",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("FIXTURE_FAULT", "never-ready"),
            ("GRACEFUL_UPGRADE_TIMEOUT", "1s"),
        ],
    );
    assert_eq!(received(&socket), "READY=1");
    upgrade::deploy(FAULTY, &running.path);
    // The caller's future is dropped 50 ms in, long before the new process's timeout.
    let answer = http::get(running.addr, "/upgrade-briefly").unwrap();
    assert_eq!(answer.body, "gave up waiting\n");
    // The upgrade went on without it: the new process was stopped at its timeout, and
    // the service manager heard READY=1 after RELOADING=1.
    running.wait_for_stderr("was not ready after 1s");
    running.wait_for_stderr("this process goes on serving");
    let told = notifications_until(&socket, "READY=1\nSTATUS=upgrade failed: ");
    assert!(told[0].starts_with("RELOADING=1\n"), "{told:#?}");
    // The new process, rolled back, is not the main one: it said nothing of its stop.
    assert_eq!(told.len(), 2, "{told:#?}");
    // Nothing is left under way: the fixed binary hands over.
    upgrade::deploy(UPGRADABLE, &running.path);
    let answer = http::get(running.addr, "/upgrade").unwrap();
    let new: u32 = answer
        .body
        .trim()
        .strip_prefix("ok ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("{answer:?}"));
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), new);
    let told = notifications_until(&socket, "MAINPID=");
    assert_eq!(told.last().unwrap(), &format!("MAINPID={new}\nREADY=1"));
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.has_line("faulty: stopped"), "{out:#?}");
    assert_eq!(
        out.stderr.matches("upgrade: started").count(),
        2,
        "{}",
        out.stderr
    );
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn a_stop_at_the_handover_either_stops_both_or_comes_after_it() {
    // The stop is sent at moments spread around the handover, which comes a second
    // after the new process said it is ready. Whichever side of it the stop lands, the
    // two processes agree: the new one serves and the old one drains, or both stop; and
    // systemd hears MAINPID= or STOPPING=1 from the old one, never both.
    let (mut handed_over, mut stopped) = (0, 0);
    for i in 0..20u64 {
        let (socket, socket_path) = notify_socket(&format!("notify-race-{i}"));
        let mut running = start(
            &format!("race-{i}"),
            &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
        );
        assert_eq!(received(&socket), "READY=1");
        let old = running.pid();
        upgrade::deploy(UPGRADABLE, &running.path);
        upgrade::signal(old, "HUP");
        assert!(received(&socket).starts_with("RELOADING=1\n"));
        // The new process's own line: it has said it is ready.
        running.wait_for("ready: listening");
        let new = pid_of_new(&running.svc);
        thread::sleep(Duration::from_millis(800 + i * 20));
        upgrade::signal(old, "TERM");
        let out = running.svc.exited();
        assert_eq!(out.code, Some(0), "{out:#?}");
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut told = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = socket.recv(&mut buf) {
            told.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if out.has_line(&format!("hook trigger=upgraded: pid {new}")) {
            handed_over += 1;
            assert_eq!(
                told.first(),
                Some(&format!("MAINPID={new}\nREADY=1")),
                "{told:#?}"
            );
            assert!(!told.iter().any(|m| m.contains("STOPPING=1")), "{told:#?}");
            assert_eq!(upgrade::serving_pid(running.addr).unwrap(), new);
            upgrade::signal(new, "TERM");
            assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
        } else {
            stopped += 1;
            assert!(out.has_line("hook trigger=SIGTERM"), "{out:#?}");
            out.assert_stderr(&format!(
                "a stop came during the upgrade: the new process (pid {new}) was told to stop \
                 too: exited with 0"
            ));
            assert!(
                told.first().is_some_and(|m| m.starts_with("STOPPING=1")),
                "{told:#?}"
            );
            assert!(!told.iter().any(|m| m.contains("MAINPID=")), "{told:#?}");
            let refused = std::net::TcpStream::connect(running.addr).unwrap_err();
            assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        let _ = std::fs::remove_dir_all(running.dir);
        let _ = std::fs::remove_dir_all(socket_path.parent().unwrap());
    }
    // The moments chosen fall on both sides of the handover.
    assert!(
        handed_over > 0 && stopped > 0,
        "{handed_over} handed over, {stopped} stopped"
    );
}

#[test]
fn a_broken_binary_that_forks_leaves_no_process_holding_the_socket() {
    let mut running = start("forks", &[]);
    let old = running.pid();
    // A "binary" that starts a child, which inherits the listening socket and lives on,
    // and fails.
    let script = running.dir.join("forks.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsleep 600 &\necho \"forks: left pid $!\"\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let socket = listening_inode(running.addr);
    assert_eq!(holders_of(&socket), [old]);
    upgrade::deploy(script.to_str().unwrap(), &running.path);
    upgrade::signal(old, "HUP");
    running.wait_for("forks: left pid");
    running.wait_for_stderr("upgrade failed: ");
    // The rollback ended the new process's group: the old process alone holds the socket.
    let waited = Instant::now();
    while holders_of(&socket) != [old] {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "held by {:?}, not only by {old}",
            holders_of(&socket)
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(upgrade::serving_pid(running.addr).unwrap(), old);
    let out = running.stop();
    out.assert_stderr(
        ") ended before it said it was ready: exited with 3; this process goes on serving",
    );
    let left: u32 = out.stdout[out.line("forks: left pid ")]
        .strip_prefix("forks: left pid ")
        .and_then(|pid| pid.parse().ok())
        .expect("the script's child's pid");
    // Orphaned to this process, which reaps it: it was killed.
    assert_eq!(
        upgrade::exit_code(left, support::PATIENCE),
        Some(128 + libc::SIGKILL)
    );
}

#[test]
fn a_new_process_refuses_an_upgrade_while_its_old_one_still_drains() {
    let mut running = start("draining", &[]);
    let old = running.pid();
    // The old process will drain this for two seconds after the handover.
    let slow = http::send_get(running.addr, "/slow").unwrap();
    upgrade::deploy(UPGRADABLE, &running.path);
    upgrade::signal(old, "HUP");
    // Handed over; the hook that says so runs only after the drain.
    running.wait_for_stderr("this process stops accepting and drains");
    let new = upgrade::serving_pid(running.addr).unwrap();
    let refused = http::get(running.addr, "/upgrade").unwrap();
    assert_eq!(
        refused.body,
        format!(
            "error: the process this one replaced (pid {old}) still drains: try again once it \
             has exited\n"
        )
    );
    assert_eq!(http::read_response(slow).unwrap().status, 200);
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Once it has exited, the new one upgrades.
    upgrade::deploy(UPGRADABLE, &running.path);
    let answer = http::get(running.addr, "/upgrade").unwrap();
    assert!(answer.body.starts_with("ok "), "{answer:?}");
    let newer = upgrade::serving_pid(running.addr).unwrap();
    assert_ne!(newer, new);
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    upgrade::signal(newer, "TERM");
    assert_eq!(upgrade::exit_code(newer, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn systemd_hears_reloading_then_the_new_main_pid_and_never_stopping_from_the_old_one() {
    let (socket, socket_path) = notify_socket("notify");
    let mut running = start(
        "systemd",
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    assert_eq!(received(&socket), "READY=1");
    let old = running.pid();
    upgrade::deploy(UPGRADABLE, &running.path);
    upgrade::signal(old, "HUP");
    let reloading = received(&socket);
    let usec: u64 = reloading
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{reloading:?}"));
    assert!(usec > 0);
    running.wait_for("hook trigger=upgraded");
    let new = upgrade::serving_pid(running.addr).unwrap();
    assert_eq!(received(&socket), format!("MAINPID={new}\nREADY=1"));
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    // The old process drained and exited without a word more: it is not the main one.
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(
        socket.recv(&mut buf).is_err(),
        "the old process said more: {:?}",
        String::from_utf8_lossy(&buf)
    );
    // The new process, now the main one, speaks at its own stop.
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    upgrade::signal(new, "TERM");
    assert!(received(&socket).starts_with("STOPPING=1"));
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn systemd_hears_ready_again_when_an_upgrade_fails() {
    let (socket, socket_path) = notify_socket("notify-failed");
    let running = start(
        "systemd-failed",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("FIXTURE_FAULT", "exit"),
        ],
    );
    assert_eq!(received(&socket), "READY=1");
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(running.pid(), "HUP");
    assert!(received(&socket).starts_with("RELOADING=1\n"));
    let failed = received(&socket);
    assert!(
        failed.starts_with("READY=1\nSTATUS=upgrade failed: the new process (pid ")
            && failed.ends_with(") ended before it said it was ready: exited with 3"),
        "{failed:?}"
    );
    running.stop();
}

#[test]
fn systemd_hears_no_ready_after_stopping_when_a_stop_comes_during_an_upgrade() {
    let (socket, socket_path) = notify_socket("notify-stop");
    let mut running = start(
        "systemd-stop",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("FIXTURE_FAULT", "never-ready"),
        ],
    );
    assert_eq!(received(&socket), "READY=1");
    let old = running.pid();
    upgrade::deploy(FAULTY, &running.path);
    upgrade::signal(old, "HUP");
    assert!(received(&socket).starts_with("RELOADING=1\n"));
    running.wait_for("faulty: took the listener");
    upgrade::signal(old, "TERM");
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("upgrade abandoned: a stop came during the upgrade: the new process");
    assert!(!out.stderr.contains("goes on serving"), "{}", out.stderr);
    // Everything both processes sent from the stop on: never READY=1.
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut after = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = socket.recv(&mut buf) {
        after.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(after[0].starts_with("STOPPING=1"), "{after:#?}");
    assert!(!after.iter().any(|m| m.contains("READY=1")), "{after:#?}");
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn new_code_that_moves_the_listener_binds_its_address_and_the_old_one_closes() {
    let free = || {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (before, after) = (free(), free());
    let config = upgrade::scratch("moved-config").join("listen");
    std::fs::write(&config, before.to_string()).unwrap();
    let mut running = start(
        "moved",
        &[("FIXTURE_LISTEN_FILE", config.to_str().unwrap())],
    );
    assert_eq!(running.addr, before);
    let old = running.pid();
    // The deploy moves the service to another port.
    std::fs::write(&config, after.to_string()).unwrap();
    upgrade::deploy(UPGRADABLE, &running.path);
    upgrade::signal(old, "HUP");
    running.wait_for_stderr("this process stops accepting and drains");
    let new = upgrade::serving_pid(after).unwrap();
    assert_ne!(new, old);
    let out = running.svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr(&format!(
        "listener \"http\": the previous process listened at {before}, this one listens at {after} as asked"
    ));
    // The old address went with the old process.
    let refused = std::net::TcpStream::connect(before).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let _ = std::fs::remove_dir_all(running.dir);
}

#[test]
fn an_announcement_that_cannot_be_read_fails_the_listener_naming_the_variable() {
    // This process is the fixture's parent: the announcement is taken as meant for it.
    let parent = std::process::id().to_string();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("GRACEFUL_UPGRADE_FROM", "x")],
            "GRACEFUL_UPGRADE_FROM=\"x\" is not a process id (upgrade in place)",
        ),
        (
            &[("GRACEFUL_UPGRADE_FROM", &parent), ("GRACEFUL_UPGRADE_FDS", "two")],
            "GRACEFUL_UPGRADE_FDS=\"two\" is not a number of sockets (upgrade in place)",
        ),
        (
            &[
                ("GRACEFUL_UPGRADE_FROM", &parent),
                ("GRACEFUL_UPGRADE_FDS", "1"),
                ("GRACEFUL_UPGRADE_FDNAMES", "http:admin"),
            ],
            "GRACEFUL_UPGRADE_FDNAMES names 2 sockets, but GRACEFUL_UPGRADE_FDS=1 (upgrade in place)",
        ),
        (
            &[
                ("GRACEFUL_UPGRADE_FROM", &parent),
                ("GRACEFUL_UPGRADE_FDS", "1"),
                ("GRACEFUL_UPGRADE_FDNAMES", "http"),
            ],
            "GRACEFUL_UPGRADE_FDS=1: ",
        ),
    ];
    for (envs, message) in cases {
        let out = support::start(UPGRADABLE, envs).exited();
        assert_eq!(out.code, Some(1), "{envs:?}: {out:#?}");
        // The fixture's `main` returns the error, which Rust prints with `Debug`.
        let said = out.stderr.replace("\\\"", "\"");
        assert!(said.contains(message), "{message:?} not in {said}");
        assert!(said.contains("graceful::listener(\"http\"): "), "{said}");
    }
}

/// A datagram socket in place of systemd's `NOTIFY_SOCKET`, and its path.
fn notify_socket(name: &str) -> (UnixDatagram, PathBuf) {
    let path = upgrade::scratch(name).join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    (socket, path)
}

fn received(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a notification");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The notifications received until one starting with `last`, which ends the list.
fn notifications_until(socket: &UnixDatagram, last: &str) -> Vec<String> {
    let mut told = Vec::new();
    loop {
        let message = received(socket);
        let done = message.starts_with(last);
        told.push(message);
        if done {
            return told;
        }
    }
}

/// The `socket:[inode]` name of the TCP socket that listens at `addr` (IPv4).
fn listening_inode(addr: SocketAddr) -> String {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{:04X}", addr.port());
    let inode = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols[1] == local && cols[3] == "0A")
        .map(|cols| cols[9].to_owned())
        .unwrap_or_else(|| panic!("nothing listens at {addr}"));
    format!("socket:[{inode}]")
}

/// The processes that hold the socket named `socket` (`socket:[inode]`), by id.
fn holders_of(socket: &str) -> Vec<u32> {
    let mut holders = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == socket)
        });
        if holds {
            holders.push(pid);
        }
    }
    holders
}

/// The new process of an upgrade under way: the old process's one child.
fn pid_of_new(svc: &Service) -> u32 {
    children_of(svc.id())
        .into_iter()
        .next()
        .expect("the old process has a child")
}

/// The processes whose parent is `pid`: the children of each of its threads (the one
/// that started a child is its parent in `/proc`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    threads
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

const LEAKY: &str = env!("CARGO_BIN_EXE_fixture-leaky");

/// The first child of `pid`, once it has one.
fn first_child(pid: u32) -> u32 {
    let waited = Instant::now();
    loop {
        // Each thread lists the children it started.
        let children: String = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(child) = children.split_whitespace().next() {
            return child.parse().unwrap();
        }
        assert!(
            waited.elapsed() < support::PATIENCE,
            "{pid} started no child"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// An address on this machine that nothing listens on now.
fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn a_new_process_whose_old_one_died_first_takes_the_sockets_and_serves_on_the_address() {
    upgrade::become_subreaper();
    let dir = upgrade::scratch("old-died-first");
    let path = dir.join("service");
    upgrade::deploy(LEAKY, &path);
    let asked = free_address().to_string();
    let (svc, addr) = support::start_server(
        path.to_str().unwrap(),
        &[("FIXTURE_LISTEN", &asked), ("FIXTURE_LATE_MS", "1000")],
    );
    let old = svc.id();
    upgrade::signal(old, "HUP");
    // The new process waits a second before it reads what was handed over: the old one
    // dies meanwhile, and its parent is no longer the process the announcement names.
    let new = first_child(old);
    upgrade::signal(old, "KILL");
    // It took the socket handed over (a fresh bind would fail against it) and serves.
    assert_eq!(
        upgrade::replaced(old, || upgrade::serving_pid(addr).unwrap_or(old)),
        new
    );
    upgrade::signal(new, "TERM");
    assert_eq!(upgrade::exit_code(new, support::PATIENCE), Some(0));
    let out = svc.exited();
    assert_eq!(out.code, None, "killed: {out:#?}");
    out.assert_stderr(&format!(
        "graceful (pid {new}, new): listener \"http\": TCP {addr}, handed over by the previous process"
    ));
    assert!(!out.stderr.contains("left alone"), "{out:#?}");
    assert!(!out.stderr.contains("error: "), "{out:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// How many descriptors the process `pid` has open, and what they are.
fn descriptors(pid: u32) -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some(format!(
                "{} -> {}",
                entry.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    fds.sort();
    fds
}

/// The descriptors of `pid` once their count holds still for a moment: a connection of
/// the last request may still be closing.
fn settled_descriptors(pid: u32) -> Vec<String> {
    let mut last = descriptors(pid);
    loop {
        thread::sleep(Duration::from_millis(200));
        let now = descriptors(pid);
        if now.len() == last.len() {
            return now;
        }
        last = now;
    }
}

#[test]
fn twenty_upgrades_leave_the_descriptor_count_where_it_was() {
    upgrade::become_subreaper();
    let dir = upgrade::scratch("descriptors");
    let path = dir.join("service");
    upgrade::deploy(LEAKY, &path);
    let (svc, addr) = support::start_server(path.to_str().unwrap(), &[]);
    let first = svc.id();
    // The first process has no channel to a previous one: count from the second on.
    upgrade::signal(first, "HUP");
    // Its exit, which `svc` reads at the end: the new process serves alone then.
    let waited = Instant::now();
    while !std::fs::read_to_string(format!("/proc/{first}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    }) {
        assert!(waited.elapsed() < support::PATIENCE, "{first} did not exit");
        thread::sleep(Duration::from_millis(10));
    }
    let mut pid = upgrade::serving_pid(addr).unwrap();
    let before = settled_descriptors(pid);
    for _ in 0..20 {
        // A process refuses an upgrade until it has seen its predecessor's exit, a moment
        // after this process reaped it: the signal is sent again until it is taken.
        let waited = Instant::now();
        loop {
            upgrade::signal(pid, "HUP");
            if let Some(code) = upgrade::exit_code(pid, Duration::from_secs(5)) {
                assert_eq!(code, 0, "{pid} exited with {code}");
                break;
            }
            assert!(
                waited.elapsed() < support::PATIENCE,
                "{pid} was not replaced"
            );
        }
        pid = upgrade::serving_pid(addr).unwrap();
    }
    let after = settled_descriptors(pid);
    assert_eq!(
        after.len(),
        before.len(),
        "before: {before:#?}\nafter twenty upgrades: {after:#?}"
    );
    upgrade::signal(pid, "TERM");
    assert_eq!(upgrade::exit_code(pid, support::PATIENCE), Some(0));
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
