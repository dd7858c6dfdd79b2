//! How `graceful::http::serve` serves and stops, watched from real clients (raw HTTP/1
//! and HTTP/2 over sockets, to control exactly what a client sends and when):
//!
//! - an upgraded connection (what a websocket is), served by a task of the handler's, is
//!   kept through the drain delay and the teardown and ended at the hard stop, so that it
//!   neither holds the exit nor is cut before its time; its `101` keeps `Connection:
//!   upgrade` during the drain delay;
//! - no client holds the shutdown: not one whose upload stalls (HTTP/1: the body-read
//!   timeout; HTTP/2: the hard stop, with the hooks after it still run), not one that
//!   went silent, not one that never gets through its opening;
//! - a request on its way as the shutdown begins is answered, not reset;
//! - a handler that panics is answered 500 and the service goes on;
//! - Unix-socket connections are named apart in the report; a full descriptor table is
//!   said, and accepting resumes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use graceful_process_tests as support;

use support::h2::{Peer, H2};
use support::http::{self, KeptAlive};
use support::{eventually, Service};

const LISTENER: &str = env!("CARGO_BIN_EXE_fixture-listener");

fn start(envs: &[(&str, &str)]) -> (Service, SocketAddr) {
    let mut svc = support::start(LISTENER, envs);
    svc.wait_for("ready");
    let addr = address(&svc);
    (svc, addr)
}

/// The address of a started service, from its `ready` line.
fn address(svc: &Service) -> SocketAddr {
    let ready = svc.printed("ready").unwrap();
    ready
        .strip_prefix("ready: listening on ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
}

/// Connects, asks `/echo` to switch protocols, and returns the connection and the
/// answer's head.
fn ask_upgrade(addr: SocketAddr) -> (TcpStream, String) {
    let mut stream = connect(addr);
    write!(
        stream,
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n"
    )
    .unwrap();
    let head = response_head(&mut stream);
    (stream, head)
}

/// Opens `/echo` and returns the upgraded connection.
fn upgraded(addr: SocketAddr) -> TcpStream {
    let (stream, head) = ask_upgrade(addr);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// A new connection, whose reads give up after the tests' patience.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(support::PATIENCE)).unwrap();
    stream
}

/// Reads a response's head, byte by byte, leaving the rest.
fn response_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Sends `ping` and reads the echo: `false` once the server has ended the connection.
fn echoed(stream: &mut TcpStream) -> bool {
    if stream.write_all(b"ping").is_err() {
        return false;
    }
    let mut answer = [0u8; 4];
    match stream.read_exact(&mut answer) {
        Ok(()) => {
            assert_eq!(&answer, b"ping");
            true
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
            ) =>
        {
            false
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn an_upgraded_connection_is_served_until_the_hard_stop_then_ended() {
    // Deadline 3 s: the hard stop comes 300 ms before it.
    let deadline = Duration::from_secs(3);
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "3s")]);
    let mut stream = upgraded(addr);
    assert!(echoed(&mut stream));

    svc.signal("TERM");
    let signalled = Instant::now();
    let mut echoes = 0;
    while echoed(&mut stream) {
        echoes += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = support::assert_ended_at_the_hard_stop(svc, deadline, echoes, signalled.elapsed());
    assert!(
        out.has_line("echo ended"),
        "the handler's task saw the end: {out:#?}"
    );
}

#[test]
fn an_upgraded_connection_the_client_closes_holds_nothing() {
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "10s")]);
    let mut stream = upgraded(addr);
    assert!(echoed(&mut stream));
    drop(stream);
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.elapsed < Duration::from_secs(2),
        "took {:?}",
        out.elapsed
    );
}

/// A new connection sending `POST /upload` with 10 of the 1000 bytes it announces, then
/// nothing: an upload that stalled.
fn stalled_upload(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    write!(
        stream,
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly ten b"
    )
    .unwrap();
    stream
}

#[test]
fn an_upload_that_stalls_is_cut_by_the_body_read_timeout_and_holds_no_shutdown() {
    let (mut svc, addr) = start(&[
        ("GRACEFUL_DEADLINE", "10s"),
        ("FIXTURE_BODY_TIMEOUT_MS", "1000"),
    ]);
    let stalled = stalled_upload(addr);
    thread::sleep(Duration::from_millis(300));
    svc.signal("TERM");
    // The handler's read of the body failed: axum's extractor answers 400, and the
    // connection, whose request was not read whole, is closed.
    let answer = http::read_response(stalled).unwrap();
    assert_eq!(answer.status, 400, "{answer:?}");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.has_line("hook after the server ran"), "{out:#?}");
    assert!(
        out.elapsed < Duration::from_secs(3),
        "took {:?}",
        out.elapsed
    );
}

#[test]
fn an_http2_upload_that_stalls_is_cut_at_the_hard_stop_and_the_later_hooks_run() {
    // Deadline 3 s: the hard stop comes 300 ms before it. The client answers pings: it
    // is alive, only its upload stalled (a gRPC client stream would look the same).
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "3s")]);
    let client = H2::open(addr, Peer::Live).unwrap();
    client.request(1, "POST", "/upload", false).unwrap();
    client.data(1, b"abc", false).unwrap();
    thread::sleep(Duration::from_millis(300));
    svc.signal("TERM");
    // Answered once the body's read failed at the hard stop, and sent whole.
    assert_eq!(client.status(1), Some(400));
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("exit code 0 (clean)");
    assert!(out.has_line("hook after the server ran"), "{out:#?}");
}

#[test]
fn a_handler_that_panics_is_answered_500_and_the_service_goes_on() {
    let (mut svc, addr) = start(&[]);
    let answer = http::get(addr, "/panic").unwrap();
    assert_eq!(answer.status, 500, "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    // On a kept-alive connection too, and the next connection is served.
    let mut kept = KeptAlive::open(addr).unwrap();
    assert_eq!(kept.get("/panic").unwrap().status, 500);
    kept.closed_by_server().expect("closed after the 500");
    assert_eq!(http::get(addr, "/").unwrap().status, 200);

    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("a panic in the handler of GET /panic (http connection from 127.0.0.1:");
    out.assert_stderr("handler bug; answered 500 and closed the connection; the server goes on");
    assert!(
        !out.stderr.contains("tracked task panicked"),
        "{}",
        out.stderr
    );
}

#[test]
fn over_http2_a_handler_that_panics_is_answered_500_and_its_connection_goes_on() {
    let (mut svc, addr) = start(&[]);
    let client = H2::open(addr, Peer::Live).unwrap();
    client.request(1, "GET", "/panic", true).unwrap();
    assert_eq!(client.status(1), Some(500));
    client.request(3, "GET", "/", true).unwrap();
    assert_eq!(client.status(3), Some(200));

    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("a panic in the handler of GET /panic (http connection from 127.0.0.1:");
    out.assert_stderr("handler bug; answered 500; the server goes on");
}

#[test]
fn an_upgrade_during_the_drain_delay_keeps_connection_upgrade() {
    let (mut svc, addr) = start(&[("GRACEFUL_DRAIN_DELAY", "2s")]);
    svc.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    let (mut stream, head) = ask_upgrade(addr);
    let head = head.to_ascii_lowercase();
    // RFC 6455 clients fail a 101 that lacks it, and `close` would tell them to go.
    assert!(head.contains("connection: upgrade\r\n"), "{head}");
    assert!(!head.contains("close"), "{head}");
    assert!(echoed(&mut stream));
    drop(stream);
    assert_eq!(svc.exited().code, Some(0));
}

#[test]
fn http2_clients_that_went_silent_do_not_hold_the_shutdown() {
    // Deadline 10 s: the hard stop would come at 9 s.
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "10s")]);
    // One opened, then vanished: it never acknowledges the GOAWAY's ping.
    let _silent = H2::open(addr, Peer::Silent).unwrap();
    // One sent the preface and nothing more.
    let mut preface_only = TcpStream::connect(addr).unwrap();
    preface_only.write_all(support::h2::PREFACE).unwrap();
    thread::sleep(Duration::from_millis(300));
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Closed once idle for a second after the shutdown was requested.
    assert!(
        out.elapsed < Duration::from_millis(2500),
        "took {:?}",
        out.elapsed
    );
}

#[test]
fn a_client_that_never_gets_through_its_opening_is_closed_after_the_header_read_timeout() {
    let (mut svc, addr) = start(&[("FIXTURE_HEADER_TIMEOUT_MS", "1000")]);
    let openings: [&[u8]; 5] = [
        b"",
        b"P",
        b"PRI * HTTP/2.0\r\n",
        support::h2::PREFACE,
        b"GET / HTTP/1.1\r\nHost: x\r\n",
    ];
    let streams: Vec<TcpStream> = openings
        .iter()
        .map(|opening| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            stream.write_all(opening).unwrap();
            stream
        })
        .collect();
    let opened = Instant::now();
    for (mut stream, opening) in streams.into_iter().zip(openings) {
        let mut rest = Vec::new();
        let closed = stream.read_to_end(&mut rest);
        assert!(
            closed.is_ok()
                || closed
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
            "{:?}: still open after {:?}: {closed:?}",
            String::from_utf8_lossy(opening),
            opened.elapsed()
        );
    }
    assert!(
        opened.elapsed() < Duration::from_secs(3),
        "took {:?}",
        opened.elapsed()
    );
    // While the service went on.
    assert_eq!(http::get(addr, "/").unwrap().status, 200);
    svc.signal("TERM");
    assert_eq!(svc.exited().code, Some(0));
}

#[test]
fn a_request_on_its_way_as_the_shutdown_begins_is_answered() {
    let (mut svc, addr) = start(&[]);
    // A kept-alive connection, idle at the signal, and a new one that has sent nothing.
    let mut kept = KeptAlive::open(addr).unwrap();
    assert_eq!(kept.get("/").unwrap().status, 200);
    let mut fresh = connect(addr);
    thread::sleep(Duration::from_millis(200));
    svc.signal("TERM");
    // Their requests arrive just after the shutdown was requested (no drain delay): each
    // is answered, and told to close.
    thread::sleep(Duration::from_millis(300));
    let answer = kept
        .get("/")
        .expect("answered, not closed under the request");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    kept.closed_by_server().unwrap();
    write!(fresh, "GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let answer = http::read_response(fresh).expect("answered, not reset");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
}

#[test]
fn requests_sent_as_the_signal_comes_are_answered_not_reset() {
    // What a client sees at a deploy with no drain delay: its request, on a connection
    // opened just before, and the signal cross. The request goes from just before the
    // signal to 27 ms after it, around the moment the server stops; each is answered.
    for round in 0..10 {
        let (mut svc, addr) = start(&[]);
        let mut stream = connect(addr);
        thread::sleep(Duration::from_millis(50));
        let request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if round == 0 {
            stream.write_all(request.as_bytes()).unwrap();
            svc.signal("TERM");
        } else {
            svc.signal("TERM");
            thread::sleep(Duration::from_millis(3 * (round - 1)));
            stream.write_all(request.as_bytes()).unwrap();
        }
        let answer = http::read_response(stream);
        assert_eq!(
            answer.as_ref().map(|a| a.status).map_err(|e| e.kind()),
            Ok(200),
            "round {round}: {answer:?}"
        );
        assert_eq!(svc.exited().code, Some(0));
    }
}

#[cfg(unix)]
#[test]
fn connections_over_a_unix_socket_have_names_of_their_own_in_the_report() {
    use std::os::unix::net::UnixStream;

    let dir = std::env::temp_dir().join(format!("graceful-serving-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("http.sock");
    let mut svc = support::start(
        LISTENER,
        &[
            ("FIXTURE_UNIX", path.to_str().unwrap()),
            ("FIXTURE_SLOW_MS", "30000"),
            ("GRACEFUL_DEADLINE", "2s"),
        ],
    );
    svc.wait_for("ready");
    let slow: Vec<UnixStream> = (0..2)
        .map(|_| {
            let mut stream = UnixStream::connect(&path).unwrap();
            write!(stream, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            stream
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    svc.signal("TERM");
    let out = svc.exited();
    drop(slow);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, Some(124), "{out:#?}");
    let pid = std::process::id();
    out.assert_stderr(&format!(
        "tasks still running at exit: http connection #1 from pid {pid}, http connection #2 from pid {pid}"
    ));
}

#[cfg(unix)]
#[test]
fn a_full_descriptor_table_is_said_and_accepting_resumes_once_descriptors_free_up() {
    // The service may hold 32 descriptors: 40 clients fill its table.
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -n 32 && exec \"$0\"", LISTENER]);
    let mut svc = support::start_command(cmd, &[]);
    svc.wait_for("ready");
    let addr = address(&svc);
    let clients: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(addr).unwrap()).collect();
    thread::sleep(Duration::from_millis(1500));
    drop(clients);
    // Accepting again: the connections queued meanwhile first, then this one.
    eventually("a request is answered once descriptors are free", || {
        http::get(addr, "/").is_ok_and(|answer| answer.status == 200)
    });
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Said once: the next line would come ten seconds later at the earliest.
    let said = out
        .stderr
        .matches("http server: cannot accept a connection: Too many open files")
        .count();
    assert_eq!(said, 1, "{}", out.stderr);
}
