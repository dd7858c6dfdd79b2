#[graceful::teardown(order = 10, always = true)]
fn flush() {}

fn main() {
    flush();
}
