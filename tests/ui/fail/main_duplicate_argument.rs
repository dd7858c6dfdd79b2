#[graceful::main(deadline = "25s", deadline = "20s")]
async fn main() {
    graceful::shutdown_requested().await;
}
