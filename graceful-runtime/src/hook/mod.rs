//! Teardown hooks: the registry `#[graceful::teardown]` fills at link time, what a hook
//! receives (its [`Context`], [`State`] values) and what it returns.

mod context;
mod registry;
mod result;
mod state;

pub(crate) use context::ContextInner;
pub use context::{Context, Extract};
pub(crate) use registry::{always_budget, needs, registered, shared_names, Action, HookDef};
pub use registry::{Hook, HookFn};
pub use result::{BoxHookFuture, HookError, HookResult, IntoHookResult};
pub use state::{State, StateParam};
