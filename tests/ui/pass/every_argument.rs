//! Every argument of both attributes, and every accepted form of a hook.

use graceful::{Context, State};

struct Db;

#[graceful::teardown(order = -5)]
async fn no_parameters() {}

#[graceful::teardown(order = 10, timeout = "1m30s", name = "database", always)]
async fn context_and_state(ctx: Context, db: State<Db>) -> Result<(), std::io::Error> {
    let _ = (ctx.time_left(), &*db);
    Ok(())
}

#[graceful::teardown(order = 10i32)]
fn sync_state_first(_db: State<Db>, mut ctx: Context) -> Result<(), String> {
    ctx = ctx.clone();
    drop(ctx);
    Ok(())
}

#[graceful::teardown(order = 2_147_483_647, timeout = "250ms")]
pub fn public_and_last(_: Context) {}

/// A `State` under another name: `graceful::ready()` still checks it was provided.
type Database = State<Db>;

#[graceful::teardown(order = 20)]
async fn state_through_an_alias(_db: Database) {}

#[graceful::main(
    deadline = "25s",
    drain_delay = "1500ms",
    signals = ["SIGINT", "SIGTERM", "SIGHUP"],
    flavor = "multi_thread",
    worker_threads = 2,
    tasks_order = 5,
    on_task_panic = "continue",
    upgrade = "SIGUSR2",
    crate = "::graceful",
)]
async fn main() -> Result<(), std::io::Error> {
    graceful::provide(Db);
    Ok(())
}
