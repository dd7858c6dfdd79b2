#[graceful::main(drain_delay = "3 parsecs")]
async fn main() {
    graceful::shutdown_requested().await;
}
