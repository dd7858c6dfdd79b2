#[graceful::teardown(order = 10)]
fn flush() -> Result<usize, std::io::Error> {
    Ok(0)
}

fn main() {}
