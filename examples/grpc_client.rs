//! A client for the gRPC example, so that trying it needs nothing else installed: it
//! calls `demo.Jobs` and the standard health service of `grpc_server`.
//!
//! ```text
//! cargo run --example grpc_server &
//! cargo run --example grpc_client -- health          # SERVING (the server as a whole)
//! cargo run --example grpc_client -- health demo.Jobs
//! cargo run --example grpc_client -- slow &           # answered after 3 s, even across a Ctrl-C
//! cargo run --example grpc_client -- ticks            # a tick a second, until the server's hard stop
//! ```
//!
//! `--addr http://host:port` reaches another server (default `http://127.0.0.1:50051`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_prost::ProstCodec;

// The messages of `demo.Jobs`, as the server uses them.
#[path = "common/demo.rs"]
mod demo;
use demo::{SlowReply, SlowRequest, Tick, TicksRequest};

/// Calls the gRPC example (`cargo run --example grpc_server`).
#[derive(Debug, Parser)]
#[command(name = "grpc_client", version)]
struct Cli {
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,

    #[command(subcommand)]
    call: Call,
}

#[derive(Debug, Subcommand)]
enum Call {
    /// grpc.health.v1.Health/Check: SERVING, or NOT_SERVING from the server's first signal.
    Health {
        /// The service asked about; the server as a whole when left out.
        #[arg(default_value = "")]
        service: String,
    },
    /// demo.Jobs/Slow: answered after the server's --slow, with the answering process's id.
    Slow,
    /// demo.Jobs/Ticks: prints each tick of the server stream until it ends.
    Ticks,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let channel = Channel::from_shared(cli.addr.clone())
        .with_context(|| {
            format!(
                "{:?} is not an address like http://127.0.0.1:50051",
                cli.addr
            )
        })?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", cli.addr))?;
    match cli.call {
        Call::Health { service } => {
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest { service })
                .await
                .context("the health check failed")?;
            println!("{}", answer.into_inner().status().as_str_name());
        }
        Call::Slow => {
            let mut jobs = tonic::client::Grpc::new(channel);
            jobs.ready().await.context("the server is not ready")?;
            let reply = jobs
                .unary(
                    tonic::Request::new(SlowRequest {}),
                    PathAndQuery::from_static("/demo.Jobs/Slow"),
                    ProstCodec::<SlowRequest, SlowReply>::default(),
                )
                .await
                .context("demo.Jobs/Slow failed")?
                .into_inner();
            println!("{} (pid {})", reply.message, reply.pid);
        }
        Call::Ticks => {
            let mut jobs = tonic::client::Grpc::new(channel);
            jobs.ready().await.context("the server is not ready")?;
            let mut ticks = jobs
                .server_streaming(
                    tonic::Request::new(TicksRequest {}),
                    PathAndQuery::from_static("/demo.Jobs/Ticks"),
                    ProstCodec::<TicksRequest, Tick>::default(),
                )
                .await
                .context("demo.Jobs/Ticks failed")?
                .into_inner();
            while let Some(tick) = ticks.message().await.context("the stream broke")? {
                println!("tick {}", tick.n);
            }
            println!("the server ended the stream");
        }
    }
    Ok(())
}
