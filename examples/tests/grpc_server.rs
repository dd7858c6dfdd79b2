//! The gRPC example stopped by `SIGTERM`, watched through a real gRPC client (tonic's):
//! a call in flight is answered, the health service says `NOT_SERVING` during the drain
//! delay, and an endless server stream is ended at the hard stop; the exit is clean.

use graceful_process_tests as support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{example, Service};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_prost::ProstCodec;

// The client's side of `demo.Jobs`: the example's own messages.
#[path = "../common/demo.rs"]
mod demo;
use demo::{SlowReply, SlowRequest, Tick, TicksRequest};

fn start(envs: &[(&str, &str)]) -> (Service, SocketAddr) {
    let mut all = vec![("GRPC_SERVER_LISTEN", "127.0.0.1:0")];
    all.extend_from_slice(envs);
    support::start_server(&example("grpc_server"), &all)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn health(channel: Channel, service: &str) -> ServingStatus {
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap();
    answer.into_inner().status()
}

#[test]
fn a_call_in_flight_is_answered_and_health_says_not_serving_during_the_drain() {
    let (mut svc, addr) = start(&[("GRPC_SERVER_SLOW", "3s")]);
    let pid = svc.id();
    let reply = runtime().block_on(async {
        let channel = connect(addr).await;
        assert_eq!(health(channel.clone(), "").await, ServingStatus::Serving);
        assert_eq!(
            health(channel.clone(), "demo.Jobs").await,
            ServingStatus::Serving
        );

        let mut jobs = tonic::client::Grpc::new(channel.clone());
        jobs.ready().await.unwrap();
        let in_flight = tokio::spawn(async move {
            jobs.unary(
                tonic::Request::new(SlowRequest {}),
                PathAndQuery::from_static("/demo.Jobs/Slow"),
                ProstCodec::<SlowRequest, SlowReply>::default(),
            )
            .await
        });
        // Let the call reach the server before the signal.
        tokio::time::sleep(Duration::from_millis(300)).await;
        svc.signal("TERM");
        let signalled = Instant::now();
        // During the drain delay (2 s): still answering, and saying it is going away.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(health(channel.clone(), "").await, ServingStatus::NotServing);
        assert_eq!(
            health(channel.clone(), "demo.Jobs").await,
            ServingStatus::NotServing
        );
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "asked after the drain delay"
        );
        in_flight.await.unwrap()
    });
    let reply = reply.expect("the call in flight was answered").into_inner();
    assert_eq!(reply.message, "done after 3s");
    assert_eq!(reply.pid, pid);
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.has_line("server stopped: every call answered"),
        "{out:#?}"
    );
    out.assert_stderr("exit code 0 (clean)");
}

#[test]
fn an_endless_server_stream_is_ended_at_the_hard_stop_and_the_exit_is_clean() {
    let deadline = Duration::from_secs(5);
    let (mut svc, addr) = start(&[("GRACEFUL_DEADLINE", "5s")]);
    let (ticks, closed_after) = runtime().block_on(async {
        let mut jobs = tonic::client::Grpc::new(connect(addr).await);
        jobs.ready().await.unwrap();
        let mut stream = jobs
            .server_streaming(
                tonic::Request::new(TicksRequest {}),
                PathAndQuery::from_static("/demo.Jobs/Ticks"),
                ProstCodec::<TicksRequest, Tick>::default(),
            )
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        assert_eq!(first.n, 0);
        svc.signal("TERM");
        let signalled = Instant::now();
        let mut ticks = 0;
        // Ends with an error (the connection closed under it) or without one.
        while let Ok(Some(_)) = stream.message().await {
            ticks += 1;
        }
        (ticks, signalled.elapsed())
    });
    // Ticks went on through the drain delay and the teardown, then the stream was ended
    // a margin (500 ms) before the deadline.
    support::assert_ended_at_the_hard_stop(svc, deadline, ticks, closed_after);
}

/// Runs the project's own client, `cargo run --example grpc_client -- <args>`, against
/// the server at `addr`, and returns what it printed.
fn client(addr: SocketAddr, args: &[&str]) -> String {
    let out = std::process::Command::new(example("grpc_client"))
        .arg("--addr")
        .arg(format!("http://{addr}"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grpc_client {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_example_client_calls_the_server_as_its_header_says() {
    let (mut svc, addr) = start(&[("GRPC_SERVER_SLOW", "100ms")]);
    assert_eq!(client(addr, &["health"]), "SERVING\n");
    assert_eq!(client(addr, &["health", "demo.Jobs"]), "SERVING\n");
    let slow = client(addr, &["slow"]);
    assert!(slow.ends_with(&format!("(pid {})\n", svc.id())), "{slow:?}");
    // A service the server does not know is an error, said as such.
    let unknown = std::process::Command::new(example("grpc_client"))
        .args(["--addr", &format!("http://{addr}"), "health", "no.Such"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("Error: the health check failed"), "{said}");
    svc.signal("TERM");
    assert_eq!(svc.exited().code, Some(0));
}
