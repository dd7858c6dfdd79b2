//! `graceful` shadowed by an item of the same name: the generated code names the runtime
//! by its absolute path, `::graceful`, so it is not fooled.

#![allow(unused_imports)]

use std as graceful;

mod hooks {
    use std as graceful;

    #[::graceful::teardown(order = 1)]
    async fn stop(_: ::graceful::Context) {}
}

#[::graceful::teardown(order = 2)]
fn flush() {}

#[::graceful::main(deadline = "5s")]
async fn main() {}
