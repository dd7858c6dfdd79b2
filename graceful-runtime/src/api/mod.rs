//! What the program and its workers call: learn of the shutdown or request one, spawn
//! tracked work, provide values for the hooks.

mod provide;
mod spawn;
mod stop;

pub use provide::provide;
pub use spawn::{spawn, spawn_named};
pub use stop::{
    hard_stop, is_shutting_down, shutdown, shutdown_requested, until_deadline, until_shutdown,
    HardStop, ShutdownRequested, Until,
};
