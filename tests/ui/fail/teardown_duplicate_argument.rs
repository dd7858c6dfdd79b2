#[graceful::teardown(order = 10, order = 20)]
fn flush() {}

fn main() {
    flush();
}
