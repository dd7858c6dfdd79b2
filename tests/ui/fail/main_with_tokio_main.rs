#[graceful::main]
#[tokio::main]
async fn main() {
    graceful::shutdown_requested().await;
}
