#[graceful::main("25s", drain_delay = "5s")]
async fn main() {
    graceful::shutdown_requested().await;
}
