//! The runtime reached through a re-export, with `crate = "..."`.

mod deps {
    pub use graceful;
}

#[deps::graceful::teardown(order = 1, crate = "deps::graceful")]
async fn flush(_: deps::graceful::Context) {}

#[deps::graceful::main(crate = "crate::deps::graceful")]
async fn main() {}
