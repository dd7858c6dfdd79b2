#[graceful::main(deadline = "0s")]
async fn main() {
    graceful::shutdown_requested().await;
}
