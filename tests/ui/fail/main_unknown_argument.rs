#[graceful::main(dedline = "25s")]
async fn main() {
    graceful::shutdown_requested().await;
}
