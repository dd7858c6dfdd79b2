#[graceful::main]
async fn main<T>() {
    graceful::shutdown_requested().await;
}
