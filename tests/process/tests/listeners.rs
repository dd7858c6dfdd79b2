//! Where `graceful::listener` takes its socket from, seen from outside: a socket passed
//! by systemd's socket activation (descriptor 3, `LISTEN_FDS`, `LISTEN_PID`,
//! `LISTEN_FDNAMES`) is served through; what is not for the process is left alone; what
//! cannot be used is a clear error, never a panic or a socket bound in its place.
#![cfg(unix)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};

use graceful_process_tests as support;
use support::activation::start_activated;
use support::{http, Service};

const LISTENER: &str = env!("CARGO_BIN_EXE_fixture-listener");
const ACTIVATE: &str = env!("CARGO_BIN_EXE_fixture-activate");

fn tcp_socket() -> (OwnedFd, std::net::SocketAddr) {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    (socket.into(), addr)
}

fn activated(socket: OwnedFd, envs: &[(&str, &str)]) -> Service {
    start_activated(ACTIVATE, LISTENER, socket, envs)
}

/// The service's `ready` line.
fn ready_line(svc: &mut Service) -> String {
    svc.wait_for("ready");
    svc.printed("ready").unwrap()
}

#[test]
fn a_socket_passed_by_socket_activation_is_served_through_under_its_name() {
    let (socket, addr) = tcp_socket();
    let mut svc = activated(socket, &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "http")]);
    let ready = ready_line(&mut svc);
    assert_eq!(
        ready,
        format!("ready: listening on {addr} (passed by systemd (socket activation)); LISTEN_FDS 1"),
        "the socket taken, and the variables left in the environment: removing them races \
         with the threads that read it"
    );
    let response = http::get(addr, "/").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, format!("pid {}\n", svc.id()));
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr(&format!(
        "graceful: listener \"http\": TCP {addr}, passed by systemd (socket activation)"
    ));
}

#[test]
fn an_unnamed_socket_is_taken_by_position() {
    // systemd names a socket after its unit when FileDescriptorName= is not set.
    for names in [None, Some("my-service.socket")] {
        let (socket, addr) = tcp_socket();
        let mut envs = vec![("LISTEN_FDS", "1")];
        envs.extend(names.map(|n| ("LISTEN_FDNAMES", n)));
        let mut svc = activated(socket, &envs);
        assert!(ready_line(&mut svc).contains("passed by systemd"));
        assert_eq!(http::get(addr, "/").unwrap().status, 200);
    }
}

#[test]
fn a_unix_socket_passed_by_socket_activation_is_served_through() {
    let dir = std::env::temp_dir().join(format!("graceful-activation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("http.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixListener::bind(&path).unwrap();
    let path_text = path.to_str().unwrap();
    let mut svc = activated(
        socket.into(),
        &[
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "http"),
            ("FIXTURE_UNIX", path_text),
        ],
    );
    assert!(ready_line(&mut svc).starts_with(&format!(
        "ready: listening on {path_text} (passed by systemd"
    )));
    let mut stream = UnixStream::connect(&path).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(&format!("pid {}\n", svc.id())), "{answer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sockets_for_another_process_are_left_alone_and_the_listener_is_bound_afresh() {
    // As when a socket-activated shell starts the service: the variables are its own.
    let mut svc = support::start(
        LISTENER,
        &[
            ("LISTEN_PID", "1"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "http"),
        ],
    );
    let ready = ready_line(&mut svc);
    assert!(
        ready.contains("(bound by this process); LISTEN_FDS 1"),
        "{ready}"
    );
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("LISTEN_PID=1 is not this process");
}

/// Starts the service with `socket` passed and `envs`, and returns its exit code and
/// stderr: it must fail at once, before it is ready.
fn refused(socket: OwnedFd, envs: &[(&str, &str)]) -> support::Exited {
    let out = activated(socket, envs).exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stdout.iter().all(|l| !l.starts_with("ready")),
        "{out:#?}"
    );
    out
}

#[test]
fn listen_fds_that_is_no_number_is_a_clear_error() {
    let (socket, _) = tcp_socket();
    let out = refused(socket, &[("LISTEN_FDS", "one"), ("LISTEN_FDNAMES", "http")]);
    out.assert_stderr(
        "error: graceful::listener(\"http\"): LISTEN_FDS=\"one\" is not a number of file descriptors (systemd socket activation)",
    );
}

#[test]
fn a_name_asked_for_twice_is_a_clear_error() {
    let out = support::start(LISTENER, &[("FIXTURE_TWICE", "1")]).exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(
        "error: graceful::listener(\"http\"): the name \"http\" was asked for twice: each listener needs a name of its own",
    );
}

#[test]
fn an_inherited_socket_of_another_kind_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("graceful-kind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("other.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixListener::bind(&path).unwrap();
    let out = refused(
        socket.into(),
        &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "http")],
    );
    out.assert_stderr(&format!(
        "error: graceful::listener(\"http\"): the socket passed by systemd (socket activation) is a Unix socket at {}, where a TCP listener is asked for",
        path.display()
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_inherited_socket_on_another_address_is_a_clear_error() {
    let (socket, addr) = tcp_socket();
    let (_, other) = tcp_socket();
    let out = refused(
        socket,
        &[
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "http"),
            ("FIXTURE_LISTEN", &other.to_string()),
        ],
    );
    out.assert_stderr(&format!(
        "error: graceful::listener(\"http\"): the socket passed by systemd (socket activation) listens on {addr}, not on {other}: make the two agree"
    ));
}

#[test]
fn an_inherited_socket_that_is_not_listening_is_a_clear_error() {
    // A socket unit with Accept=yes passes a connection, not a listener.
    let (listener, addr) = tcp_socket();
    let _client = std::net::TcpStream::connect(addr).unwrap();
    let (connection, _) = std::net::TcpListener::from(listener).accept().unwrap();
    let out = refused(
        connection.into(),
        &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "http")],
    );
    out.assert_stderr(
        "is not listening (a socket unit with `Accept=yes` passes connections, not listeners)",
    );
}

#[test]
fn more_descriptors_announced_than_passed_is_a_clear_error_that_closes_nothing() {
    // Only descriptor 3 is passed; 4 may be anything of the program's own by the time it
    // is looked at, and must not be taken, let alone closed.
    let (socket, _) = tcp_socket();
    let out = refused(
        socket,
        &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "http:admin")],
    );
    out.assert_stderr(
        "error: graceful::listener(\"http\"): LISTEN_FDS=2: descriptor 4 is not open",
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
