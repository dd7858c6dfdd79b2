#[graceful::main(deadline = "25s")]
#[graceful::main(deadline = "20s")]
async fn main() {
    graceful::shutdown_requested().await;
}
