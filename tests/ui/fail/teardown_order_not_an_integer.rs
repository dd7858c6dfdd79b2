#[graceful::teardown(order = "10")]
fn flush() {}

fn main() {
    flush();
}
