//! [`State<T>`]: a hook's parameter for a value the program provided.

use std::any::{type_name, TypeId};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::controller::StateType;

/// A teardown hook's parameter: the value of type `T` given to [`provide`](crate::provide).
///
/// Derefs to `T`. When nothing of type `T` was provided, the hook does not run and
/// fails with a message that names the type; the other hooks still run.
pub struct State<T>(Arc<T>);

impl<T> State<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        State(value)
    }

    /// The shared value itself.
    pub fn into_inner(self) -> Arc<T> {
        self.0
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&*self.0).finish()
    }
}

/// The message of a hook that needs a state nobody provided.
pub(crate) fn missing<T>() -> String {
    format!(
        "no `graceful::State<{}>`: nothing of that type was given to `graceful::provide`",
        type_name::<T>()
    )
}

/// The type `T` of a hook's `State<T>` parameter, as a hook registered at link time
/// carries it: what `graceful::ready()` checks was provided.
#[derive(Clone, Copy, Debug)]
pub struct StateParam(StateType);

impl StateParam {
    /// The parameter `State<T>`.
    pub const fn of<T: 'static>() -> Self {
        StateParam(StateType {
            id: TypeId::of::<T>,
            name: type_name::<T>,
        })
    }

    pub(crate) fn ty(&self) -> StateType {
        self.0
    }
}
