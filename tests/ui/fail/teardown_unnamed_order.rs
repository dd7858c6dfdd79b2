#[graceful::teardown(10)]
fn flush() {}

fn main() {
    flush();
}
