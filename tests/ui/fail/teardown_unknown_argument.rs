#[graceful::teardown(order = 10, timout = "5s")]
fn flush() {}

fn main() {
    flush();
}
