#[graceful::teardown(order: 10, always)]
fn flush() {}

fn main() {
    flush();
}
