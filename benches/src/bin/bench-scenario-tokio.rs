//! The queue scenario written by hand on tokio, with care: handlers installed before
//! `ready`, workers on a tracker that `select!` on the token first (`biased`), so none
//! takes a message once the shutdown has begun.

use graceful_benches::service::{self, Queue};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

async fn worker(queue: Queue, token: CancellationToken) {
    loop {
        let msg = tokio::select! {
            biased;
            () = token.cancelled() => return,
            msg = queue.take() => match msg {
                Some(msg) => msg,
                None => return,
            },
        };
        service::process(msg).await;
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let signals = service::StopSignals::install()?;
    let (queue, feed) = service::queue();
    for _ in 0..service::WORKERS {
        tracker.spawn(worker(queue.clone(), token.clone()));
    }
    service::ready_then_feed(feed);
    service::drain_at_signal(signals, token, tracker).await;
    Ok(())
}
