#[graceful::main(deadline = "soon")]
async fn main() {
    graceful::shutdown_requested().await;
}
