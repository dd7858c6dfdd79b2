graceful::link!(hooks-lib);

fn main() {}
