graceful::link!(hooks_lib, biling);

fn main() {}
