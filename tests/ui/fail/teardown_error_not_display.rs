#[graceful::teardown(order = 10)]
fn flush() -> Result<(), Vec<u8>> {
    Ok(())
}

fn main() {}
