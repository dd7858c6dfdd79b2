//! The queue scenario with graceful: 20 tracked workers take messages from a queue fed at
//! 20 msg/s and process each for 3 s. On SIGTERM they take nothing new, finish what they
//! hold, and the process exits once they have.

use graceful_benches::service;

#[graceful::main]
async fn main() {
    let (queue, feed) = service::queue();
    for id in 0..service::WORKERS {
        let queue = queue.clone();
        graceful::spawn_named(format!("worker-{id}"), async move {
            while let Some(Some(msg)) = graceful::until_shutdown(queue.take()).await {
                service::process(msg).await;
            }
        });
    }
    service::ready_then_feed(feed);
    graceful::shutdown_requested().await;
}
