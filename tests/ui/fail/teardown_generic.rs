#[graceful::teardown(order = 10)]
fn flush<T>() {}

fn main() {
    flush::<u8>();
}
