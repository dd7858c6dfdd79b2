//! A queue consumer that upgrades in place on `SIGHUP`, for the `upgrade` benchmark.
//!
//! It runs `BENCH_WORKERS` workers (default 32), each a tracked task
//! (`graceful::spawn`) with a connection of its own to the benchmark's broker at
//! `BENCH_BROKER`, which speaks lines: `TAKE` is answered `MSG <id>` or `NONE`,
//! `ACK <id>` is answered `OK`. A worker takes a message, works on it for
//! `BENCH_OPERATION_MS` (default 1000), acknowledges it, and takes the next; with none to
//! take it asks again after [`POLL`]. At the shutdown (a `SIGTERM`, or the new process of
//! an upgrade being ready) it takes nothing more and finishes what it holds, so that the
//! process exits 0 having acknowledged everything it took.
//!
//! Once its workers run it says `graceful::ready()` and prints `ready <pid>`. Unix only;
//! elsewhere it says so and exits 2.

#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use graceful_benches::setting;

/// How long a worker that found nothing waits before it asks again.
#[cfg(unix)]
const POLL: Duration = Duration::from_millis(10);

#[cfg(unix)]
#[graceful::main(upgrade)]
async fn main() -> std::io::Result<()> {
    let broker = setting("BENCH_BROKER", None);
    let workers: usize = setting("BENCH_WORKERS", Some("32"));
    let operation = Duration::from_millis(setting("BENCH_OPERATION_MS", Some("1000")));
    for _ in 0..workers {
        let connection = Broker::connect(broker).await?;
        graceful::spawn(work(connection, operation));
    }
    graceful::ready();
    println!("ready {}", std::process::id());
    graceful::shutdown_requested().await;
    Ok(())
}

/// Takes, works, acknowledges, until the shutdown; then finishes what it holds.
#[cfg(unix)]
async fn work(mut broker: Broker, operation: Duration) {
    let mut wait = Duration::ZERO;
    // The shutdown wins a tie: once it has started, no worker takes another message.
    while graceful::until_shutdown(pause(wait)).await.is_some() {
        match broker.take().await {
            Some(id) => {
                tokio::time::sleep(operation).await;
                broker.ack(id).await;
                wait = Duration::ZERO;
            }
            None => wait = POLL,
        }
    }
}

#[cfg(unix)]
async fn pause(wait: Duration) {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// A worker's connection to the broker. The broker is the benchmark itself: a failure
/// to reach it ends the worker with a panic that says so, and the benchmark, which
/// counts every message, sees what was not acknowledged.
#[cfg(unix)]
struct Broker {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

#[cfg(unix)]
impl Broker {
    async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Broker> {
        use tokio::io::AsyncBufReadExt;
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Broker {
            lines: tokio::io::BufReader::new(reader).lines(),
            writer,
        })
    }

    /// `TAKE`: the id of the message taken, or `None` when the queue is empty.
    async fn take(&mut self) -> Option<u64> {
        let reply = self.call("TAKE").await;
        if reply == "NONE" {
            return None;
        }
        match reply.strip_prefix("MSG ").and_then(|id| id.parse().ok()) {
            Some(id) => Some(id),
            None => panic!("the broker answered TAKE with {reply:?}"),
        }
    }

    /// `ACK <id>`, which the broker must answer `OK`.
    async fn ack(&mut self, id: u64) {
        let reply = self.call(&format!("ACK {id}")).await;
        assert_eq!(reply, "OK", "the broker refused ACK {id}");
    }

    async fn call(&mut self, request: &str) -> String {
        use tokio::io::AsyncWriteExt;
        let sent = self
            .writer
            .write_all(format!("{request}\n").as_bytes())
            .await;
        if let Err(e) = sent {
            panic!("cannot send {request} to the broker: {e}");
        }
        match self.lines.next_line().await {
            Ok(Some(reply)) => reply,
            Ok(None) => panic!("the broker closed the connection after {request}"),
            Err(e) => panic!("no answer from the broker to {request}: {e}"),
        }
    }
}

#[cfg(not(unix))]
fn main() {
    graceful_benches::unix_only("SIGHUP, to upgrade in place");
}
