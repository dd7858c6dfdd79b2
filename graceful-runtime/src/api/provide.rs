//! Values the program hands to its teardown hooks.

use crate::controller;

/// Registers a value for teardown hooks that take a [`State<T>`](crate::State) parameter.
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
    controller::current().provided.insert(value);
}
