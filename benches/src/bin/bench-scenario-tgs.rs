//! The queue scenario with tokio-graceful-shutdown: one subsystem per worker, each taking
//! messages with `cancel_on_shutdown` (which looks at the shutdown first), so none takes
//! a message once the shutdown has begun.

use graceful_benches::service::{self, Queue};

use std::convert::Infallible;
use std::time::Duration;

use tokio_graceful_shutdown::{FutureExt, SubsystemBuilder, SubsystemHandle, Toplevel};

async fn worker(subsys: &mut SubsystemHandle, queue: Queue) -> Result<(), Infallible> {
    while let Ok(Some(msg)) = queue.take().cancel_on_shutdown(subsys).await {
        service::process(msg).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    Toplevel::new(async |s: &mut SubsystemHandle| {
        let (queue, feed) = service::queue();
        for id in 0..service::WORKERS {
            let queue = queue.clone();
            s.start(SubsystemBuilder::new(
                format!("worker-{id}"),
                async move |subsys: &mut SubsystemHandle| worker(subsys, queue).await,
            ));
        }
        service::ready_then_feed(feed);
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await?;
    Ok(())
}
