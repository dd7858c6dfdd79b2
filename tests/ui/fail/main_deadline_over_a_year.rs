#[graceful::main(deadline = "9000h")]
async fn main() {
    graceful::shutdown_requested().await;
}
