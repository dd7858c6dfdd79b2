//! The HTTP example stopped by `SIGTERM`, watched through a real HTTP client: requests
//! in flight finish, `/healthz` turns 503 during the drain delay, new connections are
//! refused after it, and an endless stream is closed at the deadline.

use graceful_process_tests as support;

use std::io::{BufRead, ErrorKind};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use support::http::KeptAlive;
use support::{eventually, example, http, Service};

/// The example's drain delay and deadline (`#[graceful::main]` in examples/http_server.rs).
const DRAIN_DELAY: Duration = Duration::from_secs(2);
const DEADLINE: Duration = Duration::from_secs(10);

fn start(envs: &[(&str, &str)]) -> (Service, SocketAddr) {
    let mut all = vec![("HTTP_SERVER_LISTEN", "127.0.0.1:0")];
    all.extend_from_slice(envs);
    support::start_server(&example("http_server"), &all)
}

#[test]
fn sigterm_finishes_requests_in_flight_then_refuses_new_connections() {
    let (mut svc, addr) = start(&[("HTTP_SERVER_SLOW", "3s")]);
    assert_eq!(http::get(addr, "/healthz").unwrap().status, 200);
    let in_flight = http::send_get(addr, "/slow").unwrap();
    let answer = thread::spawn(move || http::read_response(in_flight));

    svc.signal("TERM");
    let signalled = Instant::now();
    // During the drain delay: still accepting, and saying it is going away.
    eventually("/healthz answers 503 during the drain delay", || {
        http::get(addr, "/healthz").expect("still accepting").status == 503
    });
    // After it: refused, not accepted into a backlog and left hanging until the exit.
    eventually(
        "new connections are refused after the drain delay",
        || match http::get(addr, "/healthz") {
            Ok(response) => {
                assert_eq!(response.status, 503);
                false
            }
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::ConnectionRefused,
                    "a connection after the drain delay was not refused but: {e}"
                );
                true
            }
        },
    );
    assert!(
        signalled.elapsed() >= DRAIN_DELAY - Duration::from_millis(100),
        "refused before the drain delay was over: {:?}",
        signalled.elapsed()
    );
    // Refused while the process still serves the request in flight.
    assert!(
        !answer.is_finished(),
        "refused only once the process had exited"
    );

    let response = answer.join().unwrap().unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, "done after 3s\n");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.has_line("server stopped: every request answered"));
    out.assert_stderr("exit code 0 (clean)");
    // The slow request is the last thing it waits for: well inside the deadline.
    assert!(out.elapsed < DEADLINE / 2, "took {:?}", out.elapsed);
}

#[test]
fn a_client_that_stalls_halfway_through_its_request_does_not_hold_the_shutdown() {
    let (mut svc, addr) = start(&[]);
    let _stalled = http::send_head_start(addr, "/slow").unwrap();
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("exit code 0 (clean)");
    // Closed when its request head is 3 s late: well inside the deadline.
    assert!(out.elapsed < DEADLINE / 2, "took {:?}", out.elapsed);
}

#[test]
fn an_endless_stream_is_closed_at_the_deadline_instead_of_holding_the_process() {
    // A shorter deadline than the example's, to keep the test short.
    let deadline = Duration::from_secs(5);
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "5s")]);
    let (status, mut events) = http::stream_get(addr, "/events").unwrap();
    assert_eq!(status, 200);
    // The body is chunked: chunk sizes and events come line by line.
    let mut line = String::new();
    while !line.contains("data: tick 0") {
        line.clear();
        assert!(events.read_line(&mut line).unwrap() > 0, "the stream ended");
    }

    svc.signal("TERM");
    let signalled = Instant::now();
    let mut ticks = 0;
    loop {
        line.clear();
        if events.read_line(&mut line).unwrap() == 0 {
            break;
        }
        ticks += usize::from(line.contains("data: tick"));
    }
    let closed_after = signalled.elapsed();
    // Ticks went on through the drain delay and the teardown, then the stream was
    // closed a margin (500 ms) before the deadline.
    support::assert_ended_at_the_hard_stop(svc, deadline, ticks, closed_after);
}

#[test]
fn a_closed_stdout_loses_the_lines_not_the_shutdown() {
    // `| tee log` ended by the same Ctrl-C: the line printed once the server has stopped
    // meets a closed pipe.
    let mut svc = support::start_closing_stdout_after(
        &example("http_server"),
        &[("HTTP_SERVER_LISTEN", "127.0.0.1:0")],
        "ready",
    );
    svc.wait_for("ready");
    svc.signal("INT");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn an_address_in_use_fails_the_start_with_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = support::start(&example("http_server"), &[("HTTP_SERVER_LISTEN", &addr)]).exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    // The error as a user reads it: its message and its causes on one line, not the
    // Debug form of anyhow or io::Error.
    out.assert_stderr(&format!(
        "Error: cannot listen on {addr}: graceful::listener(\"http\"): cannot listen on {addr}: "
    ));
    assert!(!out.stderr.contains("Caused by"), "{}", out.stderr);
    // Each cause once: an error whose message held its source as well was said three times.
    let said = out
        .stderr
        .lines()
        .find(|line| line.starts_with("Error: "))
        .expect("the error line");
    assert_eq!(said.matches("(os error").count(), 1, "{said}");
}

#[test]
fn a_flag_takes_the_durations_graceful_deadline_takes_and_refuses_the_others_alike() {
    // `--slow` is parsed by `graceful::parse_duration`, the grammar of GRACEFUL_DEADLINE.
    let out = std::process::Command::new(example("http_server"))
        .args(["--slow", "1.5s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("invalid value '1.5s' for '--slow <SLOW>': fractions are not supported; use a smaller unit, like `1500ms` instead of `1.5s`"),
        "{said}"
    );
    let (mut svc, _addr) = start(&[("HTTP_SERVER_SLOW", "1m 30s")]);
    svc.signal("TERM");
    assert_eq!(svc.exited().code, Some(0));
}

#[test]
fn help_says_what_the_service_is_and_lists_its_flags() {
    let out = std::process::Command::new(example("http_server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.starts_with("An HTTP service"), "{help}");
    assert!(
        help.contains("--listen") && help.contains("--slow"),
        "{help}"
    );
}

#[test]
fn the_root_answers_with_the_serving_process_id() {
    let (svc, addr) = start(&[]);
    let response = http::get(addr, "/").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, format!("pid {}\n", svc.id()));
}

#[test]
fn a_kept_alive_client_is_told_to_close_during_the_drain_and_is_not_reset() {
    let (mut svc, addr) = start(&[]);
    let mut conn = KeptAlive::open(addr).unwrap();
    let before = conn.get("/").unwrap();
    assert_eq!(before.status, 200);
    assert_eq!(before.header("connection"), None, "{before:?}");

    svc.signal("TERM");
    eventually("/healthz answers 503 during the drain delay", || {
        http::get(addr, "/healthz").expect("still accepting").status == 503
    });
    // The same connection, during the drain delay: answered, and told to reconnect.
    let during = conn.get("/").unwrap();
    assert_eq!(during.status, 200, "{during:?}");
    assert_eq!(during.header("connection"), Some("close"), "{during:?}");
    conn.closed_by_server()
        .expect("closed cleanly after its answer, not reset");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
}

#[test]
fn http2_clients_get_goaway_and_the_stream_in_flight_completes() {
    let (mut svc, addr) = start(&[("HTTP_SERVER_SLOW", "3s")]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body, goaway) = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        let get = |path: &str| {
            axum::http::Request::get(format!("http://{addr}{path}"))
                .body(())
                .unwrap()
        };
        let mut client = client.ready().await.unwrap();
        let (in_flight, _) = client.send_request(get("/slow"), true).unwrap();
        let in_flight = tokio::spawn(async move {
            let response = in_flight.await.unwrap();
            let status = response.status();
            let mut body = response.into_body();
            let mut text = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk.unwrap();
                let _ = body.flow_control().release_capacity(chunk.len());
                text.extend_from_slice(&chunk);
            }
            (status, String::from_utf8(text).unwrap())
        });
        svc.signal("TERM");
        // New streams are answered through the drain delay, then refused by the GOAWAY.
        let until = Instant::now() + support::PATIENCE;
        let goaway = loop {
            assert!(Instant::now() < until, "no GOAWAY came");
            let refused = match client.clone().ready().await {
                Err(e) => e,
                Ok(mut ready) => match ready.send_request(get("/"), true) {
                    Err(e) => e,
                    Ok((response, _)) => match response.await {
                        Err(e) => e,
                        Ok(response) => {
                            assert_eq!(response.status(), 200);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                },
            };
            break refused;
        };
        let (status, body) = in_flight.await.unwrap();
        (status, body, goaway)
    });
    assert!(
        goaway.is_go_away() && goaway.is_remote(),
        "not a GOAWAY: {goaway:?}"
    );
    assert_eq!(status, 200);
    assert_eq!(body, "done after 3s\n");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("exit code 0 (clean)");
}

#[test]
fn a_request_the_deadline_cuts_is_named_in_the_report_by_its_connection() {
    let (mut svc, addr) = start(&[("HTTP_SERVER_SLOW", "30s"), ("GRACEFUL_DEADLINE", "3s")]);
    let in_flight = http::send_get(addr, "/slow").unwrap();
    let client = in_flight.local_addr().unwrap();
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr(&format!(
        "tasks still running at exit: http connection from {client}"
    ));
    drop(in_flight);
}
