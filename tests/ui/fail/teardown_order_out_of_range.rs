#[graceful::teardown(order = 3_000_000_000)]
fn flush() {}

fn main() {
    flush();
}
