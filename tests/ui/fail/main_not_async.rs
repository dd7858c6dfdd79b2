#[graceful::main]
fn main() {
    graceful::shutdown_requested().await;
}
