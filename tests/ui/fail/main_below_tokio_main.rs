#[tokio::main]
#[graceful::main]
async fn main() {
    graceful::shutdown_requested().await;
}
