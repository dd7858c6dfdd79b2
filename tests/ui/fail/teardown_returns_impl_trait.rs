#[graceful::teardown(order = 10)]
fn flush() -> impl std::fmt::Display {
    0
}

fn main() {}
