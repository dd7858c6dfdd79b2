#[graceful::teardown(order = 10)]
#[graceful::teardown(order = 20)]
fn flush() {}

fn main() {
    flush();
}
