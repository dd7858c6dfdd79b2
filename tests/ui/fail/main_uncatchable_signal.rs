#[graceful::main(signals = ["SIGTERM", "SIGKILL"])]
async fn main() {
    graceful::shutdown_requested().await;
}
