#[graceful::teardown(order = 10)]
struct Flush;

fn main() {
    let _ = Flush;
}
