#[graceful::teardown(order = 10)]
#[graceful::main]
async fn main() {
    graceful::shutdown_requested().await;
}
