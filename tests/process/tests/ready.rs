//! `graceful::ready()` in a real process: `READY=1` on systemd's datagram socket, and a
//! warning, at once, for each hook whose `State` was never provided.

#![cfg(unix)]

use graceful_process_tests as support;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use support::stopped_by;

const SERVICE: &str = env!("CARGO_BIN_EXE_fixture-service");
const BUILDER: &str = env!("CARGO_BIN_EXE_fixture-builder");

/// A datagram socket bound where `NOTIFY_SOCKET` will say, and its path.
fn notify_socket(name: &str) -> (UnixDatagram, PathBuf) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    (socket, path)
}

#[test]
fn ready_said_before_main_run_is_sent_once_the_program_is_set_up() {
    // A plain `fn main` that binds its listener, says it is ready, then hands over to
    // `Main::run`: systemd must still hear READY=1, or it kills the service at its start
    // timeout.
    let (socket, path) = notify_socket("ready-before-run.sock");
    let mut svc = support::start_with_args(
        BUILDER,
        &["--ready-before-run", "--deadline-ms", "300"],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    svc.wait_for("ready");
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 before any signal");
    assert_eq!(&buf[..n], b"READY=1");
    svc.signal("TERM");
    // Its hook never returns: the deadline ends it.
    assert_eq!(svc.exited().code, Some(124));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn ready_sends_ready_1_to_a_real_datagram_socket_before_any_signal() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ready-notify.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut svc = support::start(SERVICE, &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    svc.wait_for("ready");
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 before any signal");
    assert_eq!(&buf[..n], b"READY=1");
    // Once: nothing more until the shutdown.
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        socket.recv(&mut buf).is_err(),
        "a second message before the signal"
    );
    svc.signal("TERM");
    assert_eq!(svc.exited().code, Some(0));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn ready_warns_at_once_of_each_hook_whose_state_was_never_provided() {
    let mut svc = support::start(SERVICE, &[("FIXTURE_NO_STATE", "1")]);
    svc.wait_for("ready");
    // Said when the program says it is ready, not at the shutdown: before the shutdown's
    // first line on stderr.
    std::thread::sleep(Duration::from_millis(100));
    svc.signal("TERM");
    let out = svc.exited();
    for hook in ["broker", "fixture_service::flush_sync"] {
        out.assert_stderr(&format!(
            "graceful: warning: hook `{hook}` takes `graceful::State<fixture_service::Broker>`, \
             and nothing of that type was given to `graceful::provide`: it would fail at the shutdown"
        ));
    }
    let warned = out.stderr.find("warning: hook `broker`").unwrap();
    let shutdown = out.stderr.find("SIGTERM: shutting down").unwrap();
    assert!(warned < shutdown, "{}", out.stderr);
    // The hooks that lack it still fail, alone, at the shutdown.
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn with_every_state_provided_ready_warns_of_nothing() {
    let out = stopped_by(SERVICE, "TERM", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}
