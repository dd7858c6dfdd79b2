//! What a teardown hook can ask for: its [`Context`], and through it [`State`] values.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::result::HookError;
use super::state::{self, State, StateParam};
use crate::controller::Controller;
use crate::trigger::Trigger;

/// A teardown hook's view of the shutdown: why it started, how much time this hook has,
/// and a token cancelled when that time is up.
///
/// ```no_run
/// #[graceful::teardown(order = 20, timeout = "5s")]
/// async fn unplug(ctx: graceful::Context) {
///     tracing::info!(trigger = %ctx.trigger(), left = ?ctx.time_left(), "unplugging");
///     tokio::select! {
///         _ = ctx.cancelled() => tracing::warn!("out of time"),
///         _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

/// What a [`Context`] holds; built by the sequence for each hook it runs.
pub(crate) struct ContextInner {
    pub(crate) hook: Cow<'static, str>,
    pub(crate) order: i32,
    pub(crate) trigger: Trigger,
    pub(crate) deadline: Instant,
    pub(crate) ends_at: Instant,
    pub(crate) token: CancellationToken,
    pub(crate) controller: &'static Controller,
}

impl From<ContextInner> for Context {
    fn from(inner: ContextInner) -> Self {
        Context {
            inner: Arc::new(inner),
        }
    }
}

impl Context {
    /// The hook's name (its `name` argument, or its function path).
    pub fn hook_name(&self) -> &str {
        &self.inner.hook
    }

    /// The hook's `order`.
    pub fn order(&self) -> i32 {
        self.inner.order
    }

    /// True in a process an upgrade in place started, stopping before the old process
    /// handed over to it: the upgrade is rolled back (it was not ready in time, or a stop
    /// came during the upgrade). The old process serves (or served) what this one would
    /// deregister from a load balancer, a service registry or a queue's consumer list: a
    /// hook that deregisters skips it then. False once the old process has handed over,
    /// and in a process no upgrade started.
    ///
    /// ```
    /// #[graceful::teardown(order = 10)]
    /// async fn deregister(ctx: graceful::Context) {
    ///     if ctx.is_rollback() {
    ///         return; // the old process still serves under this name
    ///     }
    ///     // ... remove this instance from the registry
    /// }
    /// ```
    pub fn is_rollback(&self) -> bool {
        #[cfg(unix)]
        return crate::handover::is_rollback();
        #[cfg(not(unix))]
        false
    }

    /// Why the shutdown started.
    pub fn trigger(&self) -> &Trigger {
        &self.inner.trigger
    }

    /// The time this hook has left: until its own `timeout`, or the deadline if sooner.
    pub fn time_left(&self) -> Duration {
        self.inner.ends_at.saturating_duration_since(Instant::now())
    }

    /// When this hook's time is up.
    pub fn ends_at(&self) -> Instant {
        self.inner.ends_at
    }

    /// The shutdown's deadline, when the process exits whatever is still running
    /// (`always` hooks excepted).
    pub fn deadline(&self) -> Instant {
        self.inner.deadline
    }

    /// A token cancelled when this hook's time is up. Hand it to work the hook starts.
    pub fn token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// True once this hook's time is up. Sync hooks poll this to stop early.
    pub fn is_cancelled(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Completes when this hook's time is up.
    pub async fn cancelled(&self) {
        self.inner.token.cancelled().await;
    }

    /// The value of type `T` given to [`provide`](crate::provide), if any.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.inner.controller.provided.get::<T>().map(State::new)
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("hook", &self.inner.hook)
            .field("order", &self.inner.order)
            .field("trigger", &self.inner.trigger)
            .field("time_left", &self.time_left())
            .finish_non_exhaustive()
    }
}

/// A teardown hook parameter, resolved from the [`Context`] when the hook runs.
///
/// Implemented for [`Context`] and [`State<T>`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a teardown hook",
    label = "not `graceful::Context` or `graceful::State<T>`",
    note = "a `#[graceful::teardown]` function takes `graceful::Context` and `graceful::State<T>` parameters, in any order"
)]
pub trait Extract: Sized {
    /// The value this parameter takes from [`provide`](crate::provide), if any: what
    /// [`ready`](crate::ready) checks was given.
    const STATE: Option<StateParam> = None;

    /// Resolves the parameter, or fails the hook with a message.
    fn extract(ctx: &Context) -> Result<Self, HookError>;
}

impl Extract for Context {
    fn extract(ctx: &Context) -> Result<Self, HookError> {
        Ok(ctx.clone())
    }
}

impl<T: Send + Sync + 'static> Extract for State<T> {
    const STATE: Option<StateParam> = Some(StateParam::of::<T>());

    fn extract(ctx: &Context) -> Result<Self, HookError> {
        ctx.state::<T>()
            .ok_or_else(|| HookError::new(state::missing::<T>()))
    }
}
