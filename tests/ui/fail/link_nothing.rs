graceful::link!();

fn main() {}
