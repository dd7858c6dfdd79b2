#[graceful::teardown(order = 10)]
async fn stop(port: u16) {
    let _ = port;
}

fn main() {}
