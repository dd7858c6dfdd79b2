#[graceful::main(signals = ["SIGINT", "SIGTEMR"])]
async fn main() {
    graceful::shutdown_requested().await;
}
