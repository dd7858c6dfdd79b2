//! systemd's notification protocol in a real process: the test binds the datagram
//! socket that systemd would, hands its address over in `NOTIFY_SOCKET`, and reads what
//! the service sends.

#![cfg(unix)]

use graceful_process_tests as support;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use support::stopped_by;

const SERVICE: &str = env!("CARGO_BIN_EXE_fixture-service");

/// What the fixture can take at most after the signal: 2 s of deadline, 1 s for its
/// `always` hook, 0.5 s of watchdog slack.
const EXIT_LIMIT_USEC: u64 = 3_500_000;

/// Every datagram waiting on `socket`.
fn messages(socket: &UnixDatagram) -> Vec<String> {
    socket.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = socket.recv(&mut buf) {
        out.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    out
}

fn extension(message: &str) -> u64 {
    let value = message
        .lines()
        .find_map(|l| l.strip_prefix("EXTEND_TIMEOUT_USEC="))
        .unwrap_or_else(|| panic!("no EXTEND_TIMEOUT_USEC in {message:?}"));
    value.parse().unwrap()
}

/// `READY=1` (the fixture calls `graceful::ready()`), `STOPPING=1`, then one extension per
/// step, each counted to the same end.
fn check(messages: &[String]) {
    assert_eq!(messages[0], "READY=1", "{messages:?}");
    let messages = &messages[1..];
    assert!(
        messages[0].starts_with("STOPPING=1\nEXTEND_TIMEOUT_USEC="),
        "{messages:?}"
    );
    // The fixture has 7 steps, all done well before the deadline.
    assert_eq!(messages.len(), 1 + 7, "{messages:?}");
    let extensions: Vec<u64> = messages.iter().map(|m| extension(m)).collect();
    // Counted from when each is sent: never more than the process can still take, and
    // shrinking as the shutdown goes on.
    assert!(extensions[0] <= EXIT_LIMIT_USEC, "{extensions:?}");
    assert!(extensions[0] > EXIT_LIMIT_USEC / 2, "{extensions:?}");
    assert!(
        extensions.windows(2).all(|w| w[1] <= w[0]),
        "{extensions:?}"
    );
    for m in &messages[1..] {
        assert!(m.starts_with("EXTEND_TIMEOUT_USEC="), "{m:?}");
    }
}

#[test]
fn stopping_and_the_time_left_reach_a_path_socket() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("systemd-notify.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    check(&messages(&socket));
    std::fs::remove_file(path).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn stopping_and_the_time_left_reach_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;

    let name = format!("graceful-test-notify-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    let out = stopped_by(SERVICE, "TERM", &[("NOTIFY_SOCKET", &format!("@{name}"))]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    check(&messages(&socket));
}

#[test]
fn a_deadline_cut_stops_the_extensions() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("systemd-notify-hang.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("FIXTURE_HOOK", "hang"),
        ],
    );
    assert_eq!(out.code, Some(124), "{out:#?}");
    let got = messages(&socket);
    // The steps before the hanging one extend; it is cut by the deadline, after which
    // nothing more is promised (the first message already covers the `always` hook).
    assert_eq!(got[0], "READY=1", "{got:?}");
    assert!(got[1].starts_with("STOPPING=1\n"), "{got:?}");
    assert_eq!(got.len(), 2 + 5, "{got:?}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_service_manager_that_is_gone_is_logged_and_the_shutdown_goes_on() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-manager-here.sock");
    let _ = std::fs::remove_file(&path);
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr(&format!(
        "graceful: cannot notify the service manager: NOTIFY_SOCKET={:?}: ",
        path.display().to_string()
    ));
    // Said once, not once per step.
    assert_eq!(
        out.stderr.matches("cannot notify").count(),
        1,
        "{}",
        out.stderr
    );
    out.line("hook remove_scratch always");
}

#[test]
fn an_address_graceful_cannot_reach_is_logged_and_the_program_runs() {
    let out = stopped_by(SERVICE, "TERM", &[("NOTIFY_SOCKET", "vsock:2:1234")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("cannot notify the service manager: NOTIFY_SOCKET=\"vsock:2:1234\": not a socket graceful can reach");
}
