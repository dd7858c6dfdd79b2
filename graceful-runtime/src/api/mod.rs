//! What the program and its workers call: learn of the shutdown or request one, spawn
//! tracked work, provide values for the hooks, say the program is ready, leave a last
//! word for the exit.

mod at_exit;
mod provide;
pub(crate) mod ready;
mod spawn;
mod stop;

pub use at_exit::{at_exit, drop_at_exit};
pub use provide::provide;
pub use ready::ready;
pub use spawn::{spawn, spawn_named};
pub use stop::{
    hard_stop, is_shutting_down, request_shutdown, shutdown_requested, until_hard_stop,
    until_shutdown, HardStop, ShutdownRequested, Until,
};
#[allow(deprecated)]
pub use stop::{shutdown, until_deadline};
