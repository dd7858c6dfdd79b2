#[graceful::main(flavor = "single_thread")]
async fn main() {
    graceful::shutdown_requested().await;
}
