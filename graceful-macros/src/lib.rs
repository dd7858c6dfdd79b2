//! **The `#[graceful::main]` and `#[graceful::teardown]` attributes and `graceful::link!`: an
//! implementation detail of `graceful-runtime`.**
//!
//! Depend on `graceful-runtime` (library name `graceful`) and write `#[graceful::main]` and
//! `#[graceful::teardown(order = n)]`; this crate is re-exported there. The generated code
//! calls only `::graceful::__private::…` (or the `crate = "…"` path), `::core::…` and
//! `::std::…`, and holds no logic of its own.
//!
//! The code is laid out by stage. `args` reads the `key = value` arguments with their spans
//! (stage 1). `main_attr/` and `teardown_attr/` each hold an attribute's pipeline in `mod.rs`,
//! the checks of its arguments and function in `check.rs` (stage 2, with what both share in
//! `valid`) and its expansion in `expand.rs` (stage 3). `fallback` is what a misused
//! attribute turns into, next to its errors, which `errors` gathers. `link` checks and
//! expands `graceful::link!`. `tokens` holds small pieces of generated code, and `shared` what
//! the attributes and the runtime must agree on.

#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod errors;
mod fallback;
mod link;
mod main_attr;
mod shared;
mod teardown_attr;
#[cfg(test)]
mod test_util;
mod tokens;
mod valid;

use proc_macro::TokenStream;

/// Runs an `async fn main` with graceful shutdown: builds the tokio runtime, installs the
/// signal handlers before the body runs, runs the body, then the teardown, and exits the
/// process with a code that tells how it went.
///
/// ```no_run
/// #[graceful::main(deadline = "25s", drain_delay = "5s")]
/// async fn main() -> std::io::Result<()> {
///     // Serve until the first SIGINT or SIGTERM; `graceful::is_shutting_down()` turns true
///     // at the signal, `shutdown_requested()` completes after the drain delay.
///     graceful::shutdown_requested().await;
///     Ok(())
/// }
/// ```
///
/// The process exits when the body has returned, every teardown hook has ended and the
/// tasks started with `graceful::spawn` have finished — or at the deadline, whichever
/// comes first. The body returning (`Ok` or `Err`) or panicking starts the teardown too.
///
/// # Arguments
///
/// All are optional. Durations are strings of `<integer><unit>` segments, largest unit
/// first: `"30s"`, `"1500ms"`, `"1m30s"`, `"2h"`; units `h`, `m`, `s`, `ms`, `us`, `ns`.
///
/// | argument | default | meaning |
/// |---|---|---|
/// | `deadline = "30s"` | `"30s"` | the whole shutdown budget, from the first signal to process exit |
/// | `drain_delay = "5s"` | `"0s"` | the time between the signal and the start of teardown |
/// | `signals = ["SIGINT", "SIGTERM"]` | the platform's, below | the signals that start a shutdown |
/// | `flavor = "current_thread"` | `"multi_thread"` | the tokio runtime: `"multi_thread"` or `"current_thread"` |
/// | `worker_threads = 4` | tokio's: one per CPU core | worker threads of the multi-thread runtime; at least 1 |
/// | `tasks_order = 15` | `0` | where the built-in step runs among the teardown hooks' `order`s |
/// | `on_task_panic = "continue"` | `"shutdown"` | what a panic in a task of `graceful::spawn` does: `"shutdown"` or `"continue"` |
/// | `upgrade`, `upgrade = "SIGUSR2"` | off | the signal that starts an upgrade in place (`upgrade` alone: `SIGHUP`) |
/// | `crate = "my_deps::graceful"` | `"::graceful"` | the path to the runtime crate in the generated code |
///
/// - `deadline` is more than zero and at most a year.
/// - During the `drain_delay`, `graceful::is_shutting_down()` is already true (readiness probes
///   fail) but servers keep serving, so load balancers can deregister the instance. It counts
///   against the deadline, so it must be shorter.
/// - `signals` are among `"SIGINT"`, `"SIGTERM"`, `"SIGHUP"`, `"SIGQUIT"`, `"SIGUSR1"`,
///   `"SIGUSR2"` (Unix) and `"ctrl_c"`, `"ctrl_break"`, `"ctrl_close"`, `"ctrl_shutdown"`
///   (Windows). The default is `SIGINT` and `SIGTERM` on Unix, and `ctrl_c`, `ctrl_break`,
///   `ctrl_close`, `ctrl_shutdown` on Windows. A signal the platform lacks stops the program
///   at start with exit code 2.
/// - The built-in step of `tasks_order` waits for the body and the tasks of `graceful::spawn`:
///   hooks with a lower `order` run before it, higher after.
/// - `on_task_panic`: a panic in a task of `graceful::spawn` is logged at once with the
///   task's name and counted in the report either way. With `"shutdown"` it starts the
///   shutdown and the exit code is 101; with `"continue"` the program goes on without the
///   task and the exit code does not change. See `graceful::TaskPanic`.
/// - `upgrade`: the signal (`SIGHUP`, systemd's reload signal, unless named) starts the
///   binary now on disk, hands it the program's listeners, and once it calls
///   `graceful::ready()`, this process stops accepting and drains: see `graceful::upgrade`.
///   A Unix signal that is not one of `signals`; Unix only.
/// - `crate` is for a renamed dependency or a re-export. A dependency renamed in `Cargo.toml`
///   without it fails with ``cannot find `graceful` in the crate root`` at the attribute.
///
/// The same settings can come from code, in a plain `fn main`: `graceful::Main`, which this
/// attribute expands to (below).
///
/// # The function
///
/// An `async fn` without parameters, generics, `const`, `unsafe` or `extern`, usually
/// `main`. It returns `()` or `Result<(), E>` where `E: Display` (`graceful::MainOutput`);
/// an `Err` is printed as `Error: ` and its `Display` with its causes, and the exit code
/// is 1.
///
/// # Compile errors
///
/// Each misuse is reported on the token at fault, all at once, and nothing else: the
/// function is still checked, and no "`main` function not found" follows. The most common:
///
/// ```compile_fail
/// #[graceful::main]
/// fn main() {}
/// // error: `#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`
/// ```
///
/// ```compile_fail
/// #[graceful::main(dedline = "25s")]
/// // error: unknown argument `dedline` in `#[graceful::main]`; did you mean `deadline`?
/// //        expected one of `deadline`, `drain_delay`, `signals`, `flavor`, `worker_threads`,
/// //        `tasks_order`, `on_task_panic`, `upgrade`, `crate`
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline = "soon")]
/// // error: invalid duration "soon" for `deadline` in `#[graceful::main]`: expected a number,
/// //        found `soon`; write a duration like "30s", "1500ms" or "1m30s"
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// #[tokio::main]
/// // error: `#[graceful::main]` builds the tokio runtime itself and cannot be combined with
/// //        `#[tokio::main]`; remove `#[tokio::main]` (`#[graceful::main]` takes `flavor` and
/// //        `worker_threads`)
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// async fn main() -> i32 { 0 }
/// // error[E0277]: `#[graceful::main]` must return `()` or `Result<(), E>` where `E: Display`,
/// //               not `i32`
/// ```
///
/// Every error has a case in `tests/ui/fail/` that checks its exact message and where it
/// points, or else a unit test of this crate does:
///
/// | misuse | checked by |
/// |---|---|
/// | not a function | `main_on_a_struct.rs` |
/// | not `async` | `main_not_async.rs` |
/// | a plain `fn` that an attribute written above, like `#[tokio::main]`, made | `main_below_tokio_main.rs` |
/// | parameters | `main_with_parameters.rs` |
/// | a method (`&self`) | `main_on_a_method.rs` |
/// | generics | `main_generic.rs` |
/// | `const`, `unsafe`, `extern`, a `where` clause, `...` | unit tests |
/// | a return type other than `()` or `Result<(), E: Display>`, at the type | `main_bad_return_type.rs` |
/// | `#[graceful::main]` twice | `main_applied_twice.rs` |
/// | with `#[tokio::main]`, or another crate's `main` | `main_with_tokio_main.rs` |
/// | with `#[graceful::teardown]` | `main_with_a_teardown_attribute.rs` |
/// | an unknown argument, with the nearest valid one | `main_unknown_argument.rs` |
/// | an argument given twice | `main_duplicate_argument.rs` |
/// | a value without its name | `main_unnamed_argument.rs` |
/// | `key: value` instead of `key = value`, `key(...)`, a key without its value | unit tests |
/// | a value of the wrong kind (not a string, not a list, not an integer) | unit tests |
/// | a duration that does not parse | `main_deadline_not_a_duration.rs`, `main_unknown_unit.rs` |
/// | a `deadline` of zero | `main_deadline_zero.rs` |
/// | a `deadline` over a year | `main_deadline_over_a_year.rs` |
/// | a `drain_delay` as long as the `deadline` | `main_drain_delay_as_long_as_the_deadline.rs` |
/// | a `drain_delay` as long as the default deadline | unit tests |
/// | an unknown signal, with the nearest valid one | `main_unknown_signal.rs` |
/// | `SIGKILL` or `SIGSTOP`, which no process can catch | `main_uncatchable_signal.rs` |
/// | no signal, or one signal twice | unit tests |
/// | an unknown `flavor` | `main_unknown_flavor.rs` |
/// | `worker_threads` with `flavor = "current_thread"` | `main_worker_threads_with_current_thread.rs` |
/// | an unknown `on_task_panic`, with the nearest valid one | `main_unknown_on_task_panic.rs` |
/// | `on_task_panic` given twice | `main_duplicate_on_task_panic.rs` |
/// | an `upgrade` signal that also stops the program (one of `signals`) | `main_upgrade_signal_also_stops.rs` |
/// | an unknown `upgrade` signal, or a Windows console event | `main_unknown_upgrade_signal.rs` |
/// | `worker_threads` under 1, `tasks_order` out of range for `i32` | unit tests |
/// | a `crate` that is not a path | unit tests |
///
/// An attribute written *above* `#[graceful::main]` expands first: `#[tokio::main]` there
/// hands on a plain `fn` that runs its own runtime, and the error, at `fn`, says so rather
/// than "add `async`".
///
/// # Expansion
///
/// The attribute adds nothing but a call to `graceful::Main`, the runtime's builder, one
/// method per argument: this
///
/// ```no_run
/// #[graceful::main(deadline = "25s", drain_delay = "1500ms", signals = ["SIGTERM"])]
/// async fn main() -> std::io::Result<()> {
///     graceful::shutdown_requested().await;
///     Ok(())
/// }
/// ```
///
/// is the same as this hand-written code, which a program may write itself to set the
/// values at run time (the expansion names the same items through `::graceful::__private`):
///
/// ```no_run
/// use std::time::Duration;
///
/// fn main() {
///     async fn main() -> std::io::Result<()> {
///         graceful::shutdown_requested().await;
///         Ok(())
///     }
///     graceful::Main::new()
///         .deadline(Duration::from_secs(25))
///         .drain_delay(Duration::from_millis(1500))
///         .signals([graceful::Signal::Terminate])
///         .run(main())
/// }
/// ```
///
/// `run` never returns: it exits the process with the code of the shutdown.
// The hand-written expansion above is a `fn main` on purpose.
#[allow(clippy::needless_doctest_main)]
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::main(args.into(), item.into()).into()
}

/// Registers a function to run during shutdown, in a known order.
///
/// ```
/// # struct Broker;
/// # impl Broker { async fn close(&self) -> std::io::Result<()> { Ok(()) } }
/// #[graceful::teardown(order = 20, timeout = "5s", name = "broker")]
/// async fn unplug_broker(broker: graceful::State<Broker>) -> std::io::Result<()> {
///     broker.close().await
/// }
///
/// #[graceful::teardown(order = 30, always)]
/// fn remove_temp_files() -> std::io::Result<()> {
///     // A sync hook runs on a blocking thread.
///     match std::fs::remove_dir_all(std::env::temp_dir().join("my-service-scratch")) {
///         Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
///         _ => Ok(()),
///     }
/// }
///
/// #[graceful::main]
/// async fn main() {
///     graceful::provide(Broker);
///     // Returning starts the shutdown too: the hooks run, then the process exits.
/// }
/// ```
///
/// Hooks run in ascending `order`. Hooks with the same order run concurrently, and a group
/// starts when every hook of the previous one has ended (finished, failed, panicked or
/// timed out). They run when a signal starts the shutdown and also when the body of `main`
/// returns or panics: teardown is the program's exit path.
///
/// Hooks are collected at link time, from every module of every crate linked into the
/// binary. A hook in a library crate registers only if that crate is linked, that is, named
/// somewhere in the binary: a binary that uses nothing else of the crate says so with
/// [`graceful::link!(my_crate)`](link!).
///
/// A `#[cfg]` on the function decides on the whole hook, before or after the attribute: a
/// hook compiled out is not registered.
///
/// # Arguments
///
/// | argument | default | meaning |
/// |---|---|---|
/// | `order = 10` | required | where the hook runs: an `i32` literal, negative allowed (`order = -5`) |
/// | `timeout = "5s"` | none | the hook's own limit, more than zero |
/// | `name = "broker"` | the function's path, `my_crate::module::function` | the name in logs and the report |
/// | `always` | off | a bare flag: the hook still runs once the deadline has passed |
/// | `crate = "my_deps::graceful"` | `"::graceful"` | the path to the runtime crate in the generated code, as for `#[graceful::main]` |
///
/// - The built-in step that waits for the body of `main` and the tasks of `graceful::spawn`
///   runs at order 0, unless `#[graceful::main(tasks_order = n)]` says otherwise.
/// - A hook is also never given more than the deadline leaves. Durations are written as for
///   `#[graceful::main]`.
/// - A `name` several steps share is warned of at start.
/// - `always` is for temp-file cleanup or a log flush. Past the deadline, such a hook is
///   bounded by its own `timeout`, or 1 s without one. (Every hook runs after an earlier one
///   failed; `always` is about the deadline.)
///
/// # The function
///
/// A free function (not a method), `async` or not, without generics, `const`, `unsafe` or
/// `extern`. An `async fn` runs as a tokio task and its future must be `Send`; a plain
/// `fn` runs on a blocking thread.
///
/// Parameters are extractors, resolved by their type when the hook runs, in any order and
/// with any pattern (`_`, `mut x`):
///
/// - `graceful::Context`: why the shutdown started, the time left, and a token cancelled
///   when the hook's time is up;
/// - `graceful::State<T>` (derefs to `T`): a value the program registered with
///   `graceful::provide(value)`. If none was, the hook fails with a message naming the type
///   and the hook; the other hooks still run. `graceful::ready()` warns of it earlier, when
///   the program says it is ready.
///
/// It returns `()` or `Result<(), E>` where `E: Display`. An error, a panic or a timeout
/// fails that hook only; it is logged with the hook's name and counted in the report.
///
/// # Compile errors
///
/// Each misuse is reported on the token at fault, all at once; the function itself is kept,
/// so calls to it elsewhere still compile. The most common:
///
/// ```compile_fail
/// #[graceful::teardown]
/// // error: missing `order` in `#[graceful::teardown]`: hooks run in ascending `order`, those
/// //        with the same `order` together; write `#[graceful::teardown(order = 10)]`
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, timout = "5s")]
/// // error: unknown argument `timout` in `#[graceful::teardown]`; did you mean `timeout`?
/// //        expected one of `order`, `timeout`, `name`, `always`, `crate`
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// struct Server;
/// impl Server {
///     #[graceful::teardown(order = 10)]
///     async fn stop(&self) {}
///     // error: `#[graceful::teardown]` cannot be applied to a method; make it a free function
///     //        and take what it needs as parameters, like `server: graceful::State<Server>`
/// }
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// async fn stop(_port: u16) {}
/// // error[E0277]: `u16` cannot be a parameter of a teardown hook
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// fn flush() -> Result<usize, std::io::Error> { Ok(0) }
/// // error[E0277]: a teardown hook must return `()` or `Result<(), E>` where `E: Display`, not
/// //               `Result<usize, std::io::Error>`
/// # #[graceful::main] async fn main() {}
/// ```
///
/// Every error has a case in `tests/ui/fail/` that checks its exact message and where it
/// points, or else a unit test of this crate does:
///
/// | misuse | checked by |
/// |---|---|
/// | not a function | `teardown_on_a_struct.rs` |
/// | a method (`&self`) | `teardown_method_with_self.rs` |
/// | a function in an `impl` block without `self`: rustc's own errors, below | `teardown_method_without_self.rs` |
/// | generics | `teardown_generic.rs` |
/// | `const`, `unsafe`, `extern`, a `where` clause, `...` | unit tests |
/// | a reference parameter | `teardown_reference_parameter.rs` |
/// | an `impl Trait` parameter | unit tests |
/// | a parameter that is not `Context` or `State<T>`, at its type | `teardown_unknown_parameter.rs` |
/// | a return type other than `()` or `Result<(), E>`, at the type | `teardown_bad_return_type.rs`, `teardown_returns_impl_trait.rs` |
/// | an error type that is not `Display`, at the type | `teardown_error_not_display.rs` |
/// | `#[graceful::teardown]` twice, which would run the hook twice | `teardown_applied_twice.rs` |
/// | on the program's entry point, `#[graceful::main]` or another crate's `main` | `teardown_on_main.rs` |
/// | no `order` | `teardown_without_order.rs` |
/// | an `order` without its name | `teardown_unnamed_order.rs` |
/// | an `order` that is not an integer literal | `teardown_order_not_an_integer.rs` |
/// | an `order` out of range for `i32` | `teardown_order_out_of_range.rs` |
/// | an unknown argument, with the nearest valid one | `teardown_unknown_argument.rs` |
/// | an argument given twice | `teardown_duplicate_argument.rs` |
/// | `key: value` instead of `key = value` | `teardown_colon_for_equals.rs` |
/// | a value given to `always` | `teardown_always_with_a_value.rs` |
/// | a `timeout` of zero | `teardown_zero_timeout.rs` |
/// | `key(...)`, a key without its value, a value of the wrong kind | unit tests |
/// | an empty `name`, a `crate` that is not a path | unit tests |
///
/// A function in an `impl` block without `self` cannot be told from a free function by the
/// attribute, which sees only the function. rustc then reports two errors of its own:
/// `` `const` items in this context need a name `` at the attribute, and ``cannot find
/// function `stop` in this scope`` at the name. Move the function out of the `impl` block.
///
/// # Expansion
///
/// The function is kept as written, and an entry is registered with `inventory`: this
///
/// ```
/// # struct Broker;
/// #[graceful::teardown(order = 20, timeout = "5s", always)]
/// async fn unplug_broker(ctx: graceful::Context, broker: graceful::State<Broker>) {
///     # let _ = (ctx, broker);
///     // ...
/// }
/// # #[graceful::main] async fn main() { graceful::provide(Broker); }
/// ```
///
/// is the same as this hand-written code (`__private` is not public API):
///
/// ```
/// # struct Broker;
/// async fn unplug_broker(ctx: graceful::Context, broker: graceful::State<Broker>) {
///     # let _ = (ctx, broker);
///     // ...
/// }
///
/// ::graceful::__private::inventory::submit! {
///     ::graceful::__private::Hook::new(
///         ::core::concat!(::core::module_path!(), "::", "unplug_broker"),
///         20,
///         ::graceful::__private::HookFn::Async(|ctx| ::std::boxed::Box::pin(async move {
///             let arg0 = <graceful::Context as ::graceful::__private::Extract>::extract(&ctx)?;
///             let arg1 =
///                 <graceful::State<Broker> as ::graceful::__private::Extract>::extract(&ctx)?;
///             ::graceful::__private::IntoHookResult::into_hook_result(
///                 unplug_broker(arg0, arg1).await,
///             )
///         })),
///     )
///     .states(&[
///         <graceful::Context as ::graceful::__private::Extract>::STATE,
///         <graceful::State<Broker> as ::graceful::__private::Extract>::STATE,
///     ])
///     .timeout(::core::time::Duration::new(5, 0))
///     .always()
/// }
/// # #[graceful::main] async fn main() { graceful::provide(Broker); }
/// ```
///
/// `states` tells, parameter by parameter, what the hook takes from `graceful::provide`,
/// so that `graceful::ready()` can warn of a `State<T>` nothing was provided for; a hook
/// without parameters has none. A plain `fn` is registered as
/// `HookFn::Blocking(|ctx| { ...; into_hook_result(f(...)) })` instead. The generated names (`ctx`, `arg0`, ...) are hygienic: they cannot clash with
/// the function's own.
#[proc_macro_attribute]
pub fn teardown(args: TokenStream, item: TokenStream) -> TokenStream {
    teardown_attr::teardown(args.into(), item.into()).into()
}

/// Links library crates into the binary, so that the teardown hooks they hold run.
///
/// ```ignore
/// // In the binary's `main.rs`: one name for each library crate that holds hooks.
/// graceful::link!(billing, audit_log);
/// ```
///
/// `#[graceful::teardown]` registers a hook at link time (with
/// [`inventory`](https://docs.rs/inventory)), from whichever crate it is written in. But
/// rustc links a dependency only if the crate being built names it somewhere: a library
/// listed in `Cargo.toml` that the binary never uses is left out, and its hooks with it,
/// silently. A library whose only business with the binary is its hooks is exactly such a
/// crate. `link!` names it, so it is linked and its hooks run.
///
/// A crate the binary already uses (calls a function of, imports a type from) is linked
/// anyway; naming it too costs nothing, and keeps its hooks if that use goes away.
///
/// Write each crate as its name in Rust code, with `_` for `-` (`audit-log` in
/// `Cargo.toml` is `audit_log`), in the binary itself: rustc links what the crate being
/// built names, so a dependency named only by another library is linked only if the binary
/// names that library in turn. The call stands where an item may; the top of `main.rs` is
/// the usual place.
///
/// # Compile errors
///
/// Each name that is refused is reported at its tokens, all at once; the good names are
/// still linked.
///
/// ```compile_fail
/// graceful::link!();
/// // error: `graceful::link!` needs the library crates to link, like
/// //        `graceful::link!(my_hooks, billing);`
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// graceful::link!("hooks_lib");
/// // error: `graceful::link!` takes crate names as written in Rust code, not strings; write
/// //        `hooks_lib`, without quotes
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// graceful::link!(hooks-lib);
/// // error: `graceful::link!` takes crate names as written in Rust code, with `_` where the
/// //        package name has `-`: write `hooks_lib`
/// # fn main() {}
/// ```
///
/// | misuse | checked by |
/// |---|---|
/// | a name that is not a dependency of the binary: rustc's own ``error[E0463]: can't find crate for `biling` ``, at that name | `link_an_unknown_crate.rs` |
/// | no name at all | `link_nothing.rs` |
/// | a string | `link_a_string.rs` |
/// | a package name with `-` | `link_a_package_name.rs` |
/// | a path, `self`, `crate`, `super` or `Self`, a number, a name missing between commas | unit tests |
///
/// # Expansion
///
/// `graceful::link!(billing, audit_log);` is the same as
///
/// ```ignore
/// extern crate billing as _;
/// extern crate audit_log as _;
/// ```
///
/// which links each crate without bringing a name into scope.
#[proc_macro]
pub fn link(input: TokenStream) -> TokenStream {
    link::link(input.into()).into()
}
