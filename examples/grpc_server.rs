//! A gRPC service that a deploy does not cut off: calls in flight are answered, the
//! health service says `NOT_SERVING` from the first signal so that the load balancer
//! moves away, and a server stream that never ends does not hold the process past its
//! deadline. All of it is `graceful::grpc::serve`'s and `graceful::grpc::health`'s doing.
//!
//! ```text
//! cargo run --example grpc_server
//! cargo run --example grpc_client -- slow &          # answers after 3 s
//! cargo run --example grpc_client -- ticks &         # a tick a second, for ever
//! cargo run --example grpc_client -- health          # SERVING
//! # then Ctrl-C the server
//! ```
//!
//! `grpc_client` is the project's own client (`examples/grpc_client.rs`): nothing to
//! install. With grpcurl instead, the service has no reflection: save the definition
//! below as `demo.proto` and pass `-import-path . -proto demo.proto`
//! (`grpcurl -plaintext -d '{}' localhost:50051 demo.Jobs/Slow`).
//!
//! On `SIGTERM` or Ctrl-C:
//!
//! 1. The health service answers `NOT_SERVING` at once, for the server (`""`) and for
//!    `demo.Jobs`, while calls are still taken for the two-second drain delay.
//! 2. The server sends `GOAWAY` and takes no new connection; `Slow` calls under way are
//!    answered.
//! 3. `Ticks` streams go on until a margin before the deadline (`hard_stop`), then the
//!    server ends them, so a client that never hangs up cannot hold the process.
//! 4. The process exits 0.
//!
//! The messages and the service are written by hand, with prost's derive and tonic's
//! server pieces, as `tonic-build` would generate them from this definition; nothing to
//! compile at build time and no `protoc` to install:
//!
//! ```proto
//! syntax = "proto3";
//! package demo;
//! service Jobs {
//!   rpc Slow(SlowRequest) returns (SlowReply);      // answers after --slow
//!   rpc Ticks(TicksRequest) returns (stream Tick);  // a tick a second, for ever
//! }
//! message SlowRequest {}
//! message SlowReply { string message = 1; uint32 pid = 2; }
//! message TicksRequest {}
//! message Tick { uint64 n = 1; }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use futures_util::Stream;
use tonic::body::Body;
use tonic::codegen::{http, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

#[macro_use]
#[path = "common/out.rs"]
mod out;

// The messages of `demo.Jobs`, shared with the example's test, its client.
#[path = "common/demo.rs"]
mod demo;
use demo::{SlowReply, SlowRequest, Tick, TicksRequest};

/// A gRPC service with a slow call, an endless stream and the standard health service,
/// that shuts down gracefully: press Ctrl-C while a call runs.
#[derive(Debug, Parser)]
#[command(name = "grpc_server", version)]
struct Cli {
    /// Where to listen; port 0 picks a free port.
    #[arg(long, env = "GRPC_SERVER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,

    /// How long Slow takes to answer (e.g. 3s, 500ms).
    #[arg(long, env = "GRPC_SERVER_SLOW", default_value = "3s", value_parser = graceful::parse_duration)]
    slow: Duration,
}

#[graceful::main(deadline = "10s", drain_delay = "2s")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (health, health_service) = graceful::grpc::health();
    health.set_serving::<Jobs>().await;
    let routes = tonic::service::Routes::new(health_service).add_service(Jobs { slow: cli.slow });
    let listener = graceful::listener("grpc", cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    outln!("ready: listening on http://{}", listener.local_addr()?);

    // Serves through the drain delay, then sends GOAWAY and waits for every call under
    // way: the body of `main` ends when the last one is answered.
    graceful::grpc::serve(listener, routes).await;
    outln!("server stopped: every call answered");
    Ok(())
}

/// The `demo.Jobs` service: its two methods, and the routing tonic's generated server
/// would do.
#[derive(Clone, Debug)]
struct Jobs {
    slow: Duration,
}

impl NamedService for Jobs {
    const NAME: &'static str = "demo.Jobs";
}

impl UnaryService<SlowRequest> for Jobs {
    type Response = SlowReply;
    type Future = BoxFuture<Response<SlowReply>, Status>;

    fn call(&mut self, _: Request<SlowRequest>) -> Self::Future {
        let took = self.slow;
        Box::pin(async move {
            tokio::time::sleep(took).await;
            Ok(Response::new(SlowReply {
                message: format!("done after {took:?}"),
                pid: std::process::id(),
            }))
        })
    }
}

type Ticks = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;

impl ServerStreamingService<TicksRequest> for Jobs {
    type Response = Tick;
    type ResponseStream = Ticks;
    type Future = BoxFuture<Response<Ticks>, Status>;

    fn call(&mut self, _: Request<TicksRequest>) -> Self::Future {
        let ticks = futures_util::stream::unfold(0u64, |n| async move {
            if n > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Some((Ok(Tick { n }), n + 1))
        });
        Box::pin(async move { Ok(Response::new(Box::pin(ticks) as Ticks)) })
    }
}

impl<B> Service<http::Request<B>> for Jobs
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let jobs = self.clone();
        match request.uri().path() {
            "/demo.Jobs/Slow" => Box::pin(async move {
                let mut grpc = Grpc::new(ProstCodec::<SlowReply, SlowRequest>::default());
                Ok(grpc.unary(jobs, request).await)
            }),
            "/demo.Jobs/Ticks" => Box::pin(async move {
                let mut grpc = Grpc::new(ProstCodec::<Tick, TicksRequest>::default());
                Ok(grpc.server_streaming(jobs, request).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}
