//! **The `#[graceful::main]` and `#[graceful::teardown]` attributes and `graceful::link!`: an
//! implementation detail of `graceful-runtime`.**
//!
//! Depend on `graceful-runtime` (library name `graceful`) and write `#[graceful::main]` and
//! `#[graceful::teardown(order = n)]`; this crate is re-exported there. The generated code
//! calls only `::graceful::__private::…` (or the `crate = "…"` path), `::core::…` and
//! `::std::…`, and holds no logic of its own.
//!
//! The code is split by stage: `args` reads `key = value` arguments with their spans,
//! `main_attr` and `teardown_attr` check them and the function and expand, `fallback` is
//! what a misused attribute turns into, next to its errors. `link` checks and expands
//! `graceful::link!`.

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
/// | `deadline = "30s"` | `"30s"` | The whole shutdown budget, from the first signal to process exit. More than zero, at most a year. |
/// | `drain_delay = "5s"` | `"0s"` | Time between the signal and the start of teardown, while `graceful::is_shutting_down()` is already true (readiness probes fail) but servers keep serving, so load balancers can deregister the instance. Counts against the deadline, so it must be shorter. |
/// | `signals = ["SIGINT", "SIGTERM"]` | `SIGINT` and `SIGTERM` on Unix; `ctrl_c`, `ctrl_break`, `ctrl_close`, `ctrl_shutdown` on Windows | The signals that start a shutdown, among `"SIGINT"`, `"SIGTERM"`, `"SIGHUP"`, `"SIGQUIT"`, `"SIGUSR1"`, `"SIGUSR2"` (Unix) and `"ctrl_c"`, `"ctrl_break"`, `"ctrl_close"`, `"ctrl_shutdown"` (Windows). A signal the platform lacks stops the program at start with exit code 2. |
/// | `flavor = "current_thread"` | `"multi_thread"` | The tokio runtime: `"multi_thread"` or `"current_thread"`. |
/// | `worker_threads = 4` | tokio's: one per CPU core | Worker threads of the multi-thread runtime; at least 1. |
/// | `tasks_order = 15` | `0` | Where, among the teardown hooks' `order`s, the built-in step runs that waits for the body and the tasks of `graceful::spawn`: hooks with a lower order run before, higher after. |
/// | `crate = "my_deps::graceful"` | `"::graceful"` | The path to the runtime crate in the generated code, for a renamed dependency or a re-export. A dependency renamed in `Cargo.toml` without it fails with ``cannot find `graceful` in the crate root`` at the attribute. |
///
/// # The function
///
/// An `async fn` without parameters, generics, `const`, `unsafe` or `extern`, usually
/// `main`. It returns `()` or `Result<(), E>` where `E: Debug`; an `Err` is printed like
/// Rust's own `main` prints it, and the exit code is 1.
///
/// # Compile errors
///
/// Each misuse is reported on the token at fault, all at once, and nothing else: the
/// function is still checked, and no "`main` function not found" follows.
///
/// The function is not `async`:
///
/// ```compile_fail
/// #[graceful::main]
/// fn main() {} // error: `#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`
/// ```
///
/// It has parameters (`self` too) or generics, or is `const`, `unsafe` or `extern`:
///
/// ```compile_fail
/// #[graceful::main]
/// async fn main(args: Vec<String>) {} // error: `#[graceful::main]` takes a function without parameters; ...
/// ```
///
/// ```compile_fail
/// struct App;
/// impl App {
///     #[graceful::main]
///     async fn run(&self) {} // error: `#[graceful::main]` cannot be applied to a method; put it on
/// }                          //        the program's `async fn main()` and call the method from there
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// async fn main<T>() {} // error: `#[graceful::main]` cannot be applied to a generic function; ...
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// async unsafe fn main() {} // error: `#[graceful::main]` cannot be applied to an `unsafe fn`; remove `unsafe` ...
/// ```
///
/// An unknown argument (with the nearest valid one), or one given twice:
///
/// ```compile_fail
/// #[graceful::main(dedline = "25s")] // error: unknown argument `dedline` in `#[graceful::main]`;
/// async fn main() {}                 //        did you mean `deadline`? expected one of `deadline`, ...
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline = "25s", deadline = "20s")] // error: duplicate argument `deadline` ...
/// async fn main() {}
/// ```
///
/// A value without its name, or a name followed by `:` instead of `=`:
///
/// ```compile_fail
/// #[graceful::main("25s")] // error: arguments of `#[graceful::main]` are named, like `deadline = "30s"`; ...
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline: "25s")] // error: `deadline` in `#[graceful::main]` takes `=`, not `:`; ...
/// async fn main() {}
/// ```
///
/// A duration that does not parse, a deadline of zero or over a year, or a drain delay that
/// leaves nothing of the deadline:
///
/// ```compile_fail
/// #[graceful::main(deadline = "soon")] // error: invalid duration "soon" for `deadline` ...
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline = "0s")] // error: `deadline` in `#[graceful::main]` must be greater than zero ...
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline = "9000h")] // error: `deadline` ("9000h") in `#[graceful::main]` is
/// async fn main() {}                    //        longer than a year: no orchestrator waits that long; ...
/// ```
///
/// ```compile_fail
/// #[graceful::main(deadline = "10s", drain_delay = "10s")] // error: `drain_delay` ("10s") must be
/// async fn main() {}                                       // shorter than `deadline` ("10s") ...
/// ```
///
/// An unknown, uncatchable or repeated signal, or none:
///
/// ```compile_fail
/// #[graceful::main(signals = ["SIGTERM", "SIGKILL"])] // error: `SIGKILL` cannot be caught by a process, ...
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(signals = ["SIGTEMR"])] // error: unknown signal "SIGTEMR" in `signals` of
/// async fn main() {}                       // `#[graceful::main]`; did you mean "SIGTERM"? expected some of ...
/// ```
///
/// ```compile_fail
/// #[graceful::main(signals = [])] // error: `signals` in `#[graceful::main]` cannot be empty; ...
/// async fn main() {}
/// ```
///
/// An unknown flavor, or worker threads for a runtime that has one:
///
/// ```compile_fail
/// #[graceful::main(flavor = "single_thread")] // error: unknown flavor "single_thread" ...
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main(flavor = "current_thread", worker_threads = 2)] // error: `worker_threads`
/// async fn main() {}                                // cannot be used with `flavor = "current_thread"` ...
/// ```
///
/// A return type other than `()` or `Result<(), E: Debug>`, reported at the type:
///
/// ```compile_fail
/// #[graceful::main]
/// async fn main() -> i32 { 0 } // error: `#[graceful::main]` must return `()` or `Result<(), E>` ...
/// ```
///
/// A second entry point, or a teardown hook, on the same function, reported at that
/// attribute:
///
/// ```compile_fail
/// #[graceful::main]
/// #[graceful::main(deadline = "20s")] // error: `#[graceful::main]` is applied twice to this function; remove one
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// #[tokio::main] // error: `#[graceful::main]` builds the tokio runtime itself and cannot be
/// async fn main() {} //    combined with `#[tokio::main]`; remove `#[tokio::main]` ...
/// ```
///
/// ```compile_fail
/// #[graceful::main]
/// #[graceful::teardown(order = 10)] // error: `#[graceful::teardown]` cannot be applied to the
/// async fn main() {}                //        function of `#[graceful::main]`: ...
/// ```
///
/// An attribute written *above* `#[graceful::main]` expands first: `#[tokio::main]` there
/// hands on a plain `fn` that runs its own runtime, and the error, at `fn`, says so:
///
/// ```compile_fail
/// #[tokio::main]
/// #[graceful::main]
/// async fn main() {} // error: `#[graceful::main]` needs an `async fn`, and this one is a plain `fn`
///                    //        that runs a runtime itself with `block_on`; ... remove that attribute ...
/// ```
///
/// # Expansion
///
/// The attribute adds nothing but a call into the runtime: this
///
/// ```no_run
/// #[graceful::main(deadline = "25s", drain_delay = "1500ms", signals = ["SIGTERM"])]
/// async fn main() -> std::io::Result<()> {
///     graceful::shutdown_requested().await;
///     Ok(())
/// }
/// ```
///
/// is the same as this hand-written code (`__private` is not public API):
///
/// ```no_run
/// fn main() {
///     async fn main() -> std::io::Result<()> {
///         graceful::shutdown_requested().await;
///         Ok(())
///     }
///     ::graceful::__private::run(
///         ::graceful::__private::Config::new()
///             .deadline(::core::time::Duration::new(25, 0))
///             .drain_delay(::core::time::Duration::new(1, 500_000_000))
///             .signals(&[::graceful::__private::Signal::Terminate]),
///         main(),
///     )
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
/// | `order = 10` | required | An `i32` literal, negative allowed (`order = -5`). The built-in step that waits for the body of `main` and the tasks of `graceful::spawn` runs at order 0 unless `#[graceful::main(tasks_order = n)]` says otherwise. |
/// | `timeout = "5s"` | none | The hook's own limit, more than zero. A hook is also never given more than the deadline leaves. Durations are written as for `#[graceful::main]`. |
/// | `name = "broker"` | the function's path, `my_crate::module::function` | The name in logs and the report; a name several steps share is warned of at start. |
/// | `always` | off | A bare flag: the hook still runs once the deadline has passed (temp-file cleanup, log flush), bounded by its own `timeout`, or 1 s without one. (Every hook runs after an earlier one failed; `always` is about the deadline.) |
/// | `crate = "my_deps::graceful"` | `"::graceful"` | The path to the runtime crate in the generated code, as for `#[graceful::main]`. |
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
///   and the hook; the other hooks still run.
///
/// It returns `()` or `Result<(), E>` where `E: Display`. An error, a panic or a timeout
/// fails that hook only; it is logged with the hook's name and counted in the report.
///
/// # Compile errors
///
/// Each misuse is reported on the token at fault, all at once; the function itself is kept,
/// so calls to it elsewhere still compile.
///
/// A missing `order`, or one that is not an `i32` literal or out of its range:
///
/// ```compile_fail
/// #[graceful::teardown] // error: missing `order` in `#[graceful::teardown]`: hooks run in ascending
/// fn flush() {}         //        `order`, ...; write `#[graceful::teardown(order = 10)]`
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 3_000_000_000)] // error: `order` in `#[graceful::teardown]` is
/// fn flush() {}                                //        out of range for `i32`
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = "10")] // error: expected an integer literal for `order` in
/// fn flush() {}                       //        `#[graceful::teardown]`; write `order = 10` without quotes
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(10)] // error: arguments of `#[graceful::teardown]` are named: write `order = 10`
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order: 10)] // error: `order` in `#[graceful::teardown]` takes `=`, not `:`; ...
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// An unknown or repeated argument, a value given to `always`, a zero `timeout`, an empty
/// `name`:
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, timout = "5s")] // error: unknown argument `timout` in
/// fn flush() {}                                    // `#[graceful::teardown]`; did you mean `timeout`? ...
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, order = 20)] // error: duplicate argument `order` ...
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, always = true)] // error: `always` in `#[graceful::teardown]`
/// fn flush() {}                                    // is a flag and takes no value; write `always` alone ...
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, timeout = "0s")] // error: `timeout` in `#[graceful::teardown]`
/// fn flush() {}                                     // must be greater than zero ...
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10, name = "")] // error: `name` in `#[graceful::teardown]` cannot be empty; ...
/// fn flush() {}
/// # #[graceful::main] async fn main() {}
/// ```
///
/// Not a function, a method, a generic function:
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)] // error: `#[graceful::teardown]` can only be applied to a function, ...
/// struct Flush;
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// struct Server;
/// impl Server {
///     #[graceful::teardown(order = 10)]
///     async fn stop(&self) {} // error: `#[graceful::teardown]` cannot be applied to a method; ...
/// }
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// fn flush<T>() {} // error: `#[graceful::teardown]` cannot be applied to a generic function; ...
/// # #[graceful::main] async fn main() {}
/// ```
///
/// Applied twice (the hook would run twice), or to the program's entry point, reported at
/// the other attribute:
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// #[graceful::teardown(order = 20)] // error: `#[graceful::teardown]` is applied twice to this
/// fn flush() {}                     //        function, which would run it twice; keep one
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// #[graceful::main] // error: `#[graceful::teardown]` cannot be applied to the program's entry point ...
/// async fn main() {}
/// ```
///
/// A function in an `impl` block without `self` cannot be told from a free function by the
/// attribute, which sees only the function. rustc then reports two errors of its own:
/// `` `const` items in this context need a name `` at the attribute, and ``cannot find
/// function `stop` in this scope`` at the name. Move the function out of the `impl` block:
///
/// ```compile_fail
/// struct Server;
/// impl Server {
///     #[graceful::teardown(order = 10)] // error: `const` items in this context need a name
///     async fn stop() {}                // error[E0425]: cannot find function `stop` in this scope
/// }
/// # #[graceful::main] async fn main() {}
/// ```
///
/// A parameter that is not an extractor — `impl Trait`, a reference, or a type that is not
/// `Context` or `State<T>` (reported by the compiler at that type) — or an unsupported
/// return type (reported at the return type):
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// async fn stop(_ctx: &graceful::Context) {} // error: `#[graceful::teardown]` parameters are extracted by value; ...
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// async fn stop(_port: u16) {} // error[E0277]: `u16` cannot be a parameter of a teardown hook
/// # #[graceful::main] async fn main() {}
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// fn flush() -> std::io::Result<usize> { Ok(0) } // error[E0277]: a teardown hook must return `()`
/// # #[graceful::main] async fn main() {}          //   or `Result<(), E>` where `E: Display`, not ...
/// ```
///
/// ```compile_fail
/// #[graceful::teardown(order = 10)]
/// fn flush() -> Result<(), Vec<u8>> { Ok(()) } // error[E0277]: `Vec<u8>` doesn't implement `std::fmt::Display`
/// # #[graceful::main] async fn main() {}
/// ```
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
///             let arg1 = <graceful::State<Broker> as ::graceful::__private::Extract>::extract(&ctx)?;
///             ::graceful::__private::IntoHookResult::into_hook_result(unplug_broker(arg0, arg1).await)
///         })),
///     )
///     .timeout(::core::time::Duration::new(5, 0))
///     .always()
/// }
/// # #[graceful::main] async fn main() { graceful::provide(Broker); }
/// ```
///
/// A plain `fn` is registered as `HookFn::Blocking(|ctx| { ...; into_hook_result(f(...)) })`
/// instead. The generated names (`ctx`, `arg0`, ...) are hygienic: they cannot clash with
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
/// A name that is not a dependency of the binary is rustc's own error, at that name:
/// ``error[E0463]: can't find crate for `biling` ``. An empty list, a string, a package name
/// with `-`, or a path is refused, at that token:
///
/// ```compile_fail
/// graceful::link!(); // error: `graceful::link!` needs the library crates to link, like ...
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// graceful::link!("audit_log"); // error: `graceful::link!` takes crate names as written in
/// # fn main() {}                 //        Rust code, not strings; write `audit_log`, without quotes
/// ```
///
/// ```compile_fail
/// graceful::link!(audit-log); // error: ... with `_` where the package name has `-`: write `audit_log`
/// # fn main() {}
/// ```
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
