#[graceful::main(deadline = "10s", drain_delay = "10s")]
async fn main() {
    graceful::shutdown_requested().await;
}
