#[graceful::teardown]
fn flush() {}

fn main() {
    flush();
}
