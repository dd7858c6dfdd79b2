#[graceful::teardown(order = 10, timeout = "0s")]
fn flush() {}

fn main() {
    flush();
}
