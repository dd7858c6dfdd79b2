//! `graceful::http::serve` and an upgraded connection (what a websocket is): served by a
//! task of the handler's, it is kept through the drain delay and the teardown, and ended
//! at the hard stop, so that it neither holds the exit nor is cut before its time.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use graceful_process_tests as support;

const LISTENER: &str = env!("CARGO_BIN_EXE_fixture-listener");

fn start(envs: &[(&str, &str)]) -> (support::Service, SocketAddr) {
    let mut svc = support::start(LISTENER, envs);
    svc.wait_for("ready");
    let ready = svc.printed("ready").unwrap();
    let addr = ready
        .strip_prefix("ready: listening on ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    (svc, addr)
}

/// Opens `/echo` and returns the upgraded connection.
fn upgraded(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(support::PATIENCE)).unwrap();
    write!(
        stream,
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
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
