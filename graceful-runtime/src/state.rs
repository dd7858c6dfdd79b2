//! Values the program provides for its teardown hooks.

use std::any::{type_name, Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, RwLock};

use crate::controller;

type AnyValue = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub(crate) struct States {
    values: RwLock<HashMap<TypeId, AnyValue>>,
}

impl States {
    pub(crate) fn insert<T: Send + Sync + 'static>(&self, value: T) {
        let mut map = self
            .values
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        let map = self
            .values
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = map.get(&TypeId::of::<T>())?.clone();
        // The map is keyed by the value's own TypeId, so the downcast cannot fail.
        value.downcast::<T>().ok().map(State)
    }
}

/// Registers a value for teardown hooks that take a [`State<T>`] parameter.
///
/// A second call with the same type replaces the first value. Hooks resolve their
/// parameters when they run, so a value provided at any time before the shutdown is seen.
///
/// ```no_run
/// struct Broker { /* connection */ }
///
/// #[graceful::teardown(order = 20)]
/// async fn unplug(broker: graceful::State<Broker>) {
///     // `broker` derefs to `Broker`
/// }
///
/// #[graceful::main]
/// async fn main() {
///     graceful::provide(Broker {});
///     graceful::shutdown_requested().await;
/// }
/// ```
pub fn provide<T: Send + Sync + 'static>(value: T) {
    controller::current().states.insert(value);
}

/// A teardown hook's parameter: the value of type `T` given to [`provide`].
///
/// Derefs to `T`. When nothing of type `T` was provided, the hook does not run and
/// fails with a message that names the type; the other hooks still run.
pub struct State<T>(pub(crate) Arc<T>);

impl<T> State<T> {
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
