//! A renamed dependency. `hooks_lib` names the runtime `shutdown` in its Cargo.toml, so
//! `::graceful` does not exist there: its hooks compile only because the attributes honour
//! `crate = "shutdown"`. (Cargo refuses one package under two names in one manifest, so
//! this binary reaches the runtime under an alias of its own.)

extern crate graceful as shutdown;

shutdown::link!(hooks_lib);

#[shutdown::teardown(order = 1, crate = "shutdown")]
fn flush(_: shutdown::Context) {}

#[shutdown::main(deadline = "5s", crate = "shutdown")]
async fn main() {}
