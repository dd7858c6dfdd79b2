graceful::link!("hooks_lib");

fn main() {}
