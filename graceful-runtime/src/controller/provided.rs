//! The values the program provides for its teardown hooks, one per type, and what the
//! hooks need of them.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type AnyValue = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub(crate) struct Provided {
    values: RwLock<HashMap<TypeId, AnyValue>>,
}

impl Provided {
    /// Keeps `value`, replacing the one of its type given before.
    pub(crate) fn insert<T: Send + Sync + 'static>(&self, value: T) {
        let mut map = self
            .values
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was given.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let map = self
            .values
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = map.get(&TypeId::of::<T>())?.clone();
        // The map is keyed by the value's own TypeId, so the downcast cannot fail.
        value.downcast::<T>().ok()
    }

    /// Whether a value of that type was given.
    pub(crate) fn has(&self, state: StateType) -> bool {
        let map = self
            .values
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.contains_key(&(state.id)())
    }
}

/// The type of a `State<T>` parameter, as a hook registered at link time can carry it:
/// functions, since neither a `TypeId` nor a type's name can be had in a constant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StateType {
    pub(crate) id: fn() -> TypeId,
    pub(crate) name: fn() -> &'static str,
}

/// A hook that takes a `State<T>`: checked against [`Provided`] by `graceful::ready()`.
#[derive(Clone, Debug)]
pub(crate) struct Need {
    pub(crate) hook: Cow<'static, str>,
    pub(crate) state: StateType,
}
