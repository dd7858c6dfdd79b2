#[graceful::main]
#[graceful::teardown(order = 10)]
async fn main() {
    graceful::shutdown_requested().await;
}
