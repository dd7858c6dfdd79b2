//! The registry: the entries `#[graceful::teardown]` submits at link time, and the form
//! the sequence runs them in.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use super::result::{BoxHookFuture, HookResult};
use super::state::StateParam;
use crate::config::ALWAYS_DEFAULT_TIMEOUT;
use crate::controller::{Need, StateType};
use crate::report::TASKS_STEP;

/// How a registered hook is called.
#[derive(Clone, Copy)]
pub enum HookFn {
    /// An `async fn`, run as a tokio task.
    Async(fn(Context) -> BoxHookFuture),
    /// A plain `fn`, run on a blocking thread.
    Blocking(fn(Context) -> HookResult),
}

/// A teardown hook as `#[graceful::teardown]` registers it with `inventory`.
pub struct Hook {
    name: &'static str,
    order: i32,
    timeout: Option<Duration>,
    always: bool,
    run: HookFn,
    /// What each parameter takes from `provide`: `None` for a `Context`.
    states: &'static [Option<StateParam>],
}

impl Hook {
    /// A hook with no timeout of its own, not `always`, that takes no `State`.
    pub const fn new(name: &'static str, order: i32, run: HookFn) -> Self {
        Hook {
            name,
            order,
            timeout: None,
            always: false,
            run,
            states: &[],
        }
    }

    /// What its parameters take from `provide`, one entry each.
    pub const fn states(mut self, states: &'static [Option<StateParam>]) -> Self {
        self.states = states;
        self
    }

    /// Its own time limit.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs even after the deadline has passed.
    pub const fn always(mut self) -> Self {
        self.always = true;
        self
    }
}

inventory::collect!(Hook);

/// A hook ready to run: a registered one, or one a test built.
#[derive(Clone)]
pub(crate) struct HookDef {
    pub(crate) name: Cow<'static, str>,
    pub(crate) order: i32,
    pub(crate) timeout: Option<Duration>,
    pub(crate) always: bool,
    pub(crate) action: Action,
    /// The `State<T>` types it takes.
    pub(crate) states: Vec<StateType>,
}

type AsyncAction = dyn Fn(Context) -> BoxHookFuture + Send + Sync;
type BlockingAction = dyn Fn(Context) -> HookResult + Send + Sync;

#[derive(Clone)]
pub(crate) enum Action {
    Async(Arc<AsyncAction>),
    Blocking(Arc<BlockingAction>),
}

impl From<&Hook> for HookDef {
    fn from(hook: &Hook) -> Self {
        HookDef {
            name: Cow::Borrowed(hook.name),
            order: hook.order,
            timeout: hook.timeout,
            always: hook.always,
            action: match hook.run {
                HookFn::Async(f) => Action::Async(Arc::new(f)),
                HookFn::Blocking(f) => Action::Blocking(Arc::new(f)),
            },
            states: hook.states.iter().flatten().map(StateParam::ty).collect(),
        }
    }
}

/// Every `State<T>` that `hooks` take, with the hook's name: what `graceful::ready()`
/// checks the program has provided.
pub(crate) fn needs(hooks: &[HookDef]) -> Vec<Need> {
    hooks
        .iter()
        .flat_map(|h| {
            h.states.iter().map(|&state| Need {
                hook: h.name.clone(),
                state,
            })
        })
        .collect()
}

/// Every hook linked into the program, sorted by `(order, name)`: inventory itself
/// gives no order.
pub(crate) fn registered() -> Vec<HookDef> {
    let mut hooks: Vec<HookDef> = inventory::iter::<Hook>
        .into_iter()
        .map(HookDef::from)
        .collect();
    hooks.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    hooks
}

/// The names that more than one step carries, the built-in [`TASKS_STEP`] included: the
/// log and the report could not tell those steps apart. Each name once, sorted.
pub(crate) fn shared_names(hooks: &[HookDef]) -> Vec<&str> {
    let mut names: Vec<&str> = hooks
        .iter()
        .map(|h| h.name.as_ref())
        .chain([TASKS_STEP])
        .collect();
    names.sort_unstable();
    let mut shared: Vec<&str> = names
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    shared.dedup();
    shared
}

/// The most the `always` hooks can add past the deadline: each one's `timeout`, or
/// the default an `always` hook gets.
pub(crate) fn always_budget(hooks: &[HookDef]) -> Duration {
    hooks
        .iter()
        .filter(|h| h.always)
        .map(|h| h.timeout.unwrap_or(ALWAYS_DEFAULT_TIMEOUT))
        .fold(Duration::ZERO, Duration::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &'static str, order: i32) -> HookDef {
        HookDef::from(&Hook::new(name, order, HookFn::Blocking(|_| Ok(()))))
    }

    #[test]
    fn names_carried_by_several_steps_are_found_once_each() {
        let hooks = [
            named("flush", 10),
            named("close", 10),
            named("flush", 20),
            named("flush", 30),
            named(TASKS_STEP, 5),
        ];
        assert_eq!(shared_names(&hooks), ["flush", TASKS_STEP]);
        assert!(shared_names(&hooks[..2]).is_empty());
        assert!(shared_names(&[]).is_empty());
    }
}
