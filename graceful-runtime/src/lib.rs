//! **Graceful shutdown for tokio services in two attributes: ordered teardown, one
//! deadline, exit codes you can alert on, and a report of what happened.**
//!
//! A deploy sends `SIGTERM`, waits (30 s on Kubernetes), then sends `SIGKILL`. With
//! `graceful`, the service stops taking work, finishes or hands back what it holds, runs
//! its cleanup in a known order, and exits on its own before the kill — nothing is lost.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! struct Broker;
//! impl Broker {
//!     async fn close(&self) -> std::io::Result<()> { Ok(()) }
//! }
//!
//! #[graceful::teardown(order = 20, timeout = "5s", name = "broker")]
//! async fn unplug(broker: graceful::State<Broker>) -> std::io::Result<()> {
//!     broker.close().await
//! }
//!
//! #[graceful::teardown(order = 30, always)]
//! fn remove_scratch_files() -> std::io::Result<()> {
//!     match std::fs::remove_dir_all("/tmp/my-service") {
//!         Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
//!         _ => Ok(()),
//!     }
//! }
//!
//! #[graceful::main(deadline = "25s", drain_delay = "5s")]
//! async fn main() {
//!     graceful::provide(Broker);
//!     for id in 0..20 {
//!         graceful::spawn_named(format!("worker-{id}"), async move {
//!             // take a message only while not shutting down; finish what was taken
//!             while let Some(()) = graceful::until_shutdown(tokio::time::sleep(Duration::from_millis(50))).await {
//!                 let _ = graceful::until_deadline(tokio::time::sleep(Duration::from_secs(3))).await;
//!             }
//!         });
//!     }
//!     graceful::shutdown_requested().await;
//! }
//! ```
//!
//! # The sequence
//!
//! 1. The first `SIGINT`/`SIGTERM` (or [`shutdown`], `main` returning or panicking, or a
//!    tracked task's panic) starts the shutdown: [`is_shutting_down`] is true from now on.
//! 2. The drain delay passes (`drain_delay`, default 0; only after a signal or
//!    [`shutdown`]): servers keep serving while readiness probes answer 503.
//! 3. [`shutdown_requested`] completes; [`until_shutdown`] returns `None`.
//! 4. The steps run by ascending `order`; steps of equal order run concurrently, and a
//!    group starts when every step of the previous one has ended. One step is built in:
//!    [`TASKS_STEP`] waits for the body of `main` and every task started with [`spawn`];
//!    it runs at order 0 unless `tasks_order = n` says otherwise, so hooks with a
//!    negative order run before the workers are drained, positive ones after. Tasks
//!    spawned later, by a hook, are waited for at the end.
//! 5. A margin before the deadline (the hard stop), [`until_deadline`] returns `None` so
//!    in-flight work is handed back (counted, and exit code 124), and [`hard_stop`]
//!    completes so long-lived streams end. At the deadline, running steps are cut, later
//!    ones skipped except `always` hooks, and the process exits with code 124.
//! 6. The report is logged, the program's last word runs ([`at_exit`]), and the process
//!    exits with the code of [`Exit`].
//!
//! A second signal at any point exits at once (130 for `SIGINT`, 143 for `SIGTERM`), even
//! when every runtime thread is blocked. The report names the steps it caught running
//! ([`Outcome::Interrupted`]) and those it kept from starting ([`Outcome::NotStarted`]).
//! Busy workers do not delay the start of the shutdown. Whatever blocks (a hook that
//! never returns, a body that holds the only thread of a current-thread runtime), the
//! process ends at the deadline plus the `always` hooks' time, counted from the signal.
//!
//! A hook that errors, panics, times out or lacks its [`State`] fails alone: it is
//! logged with its name and the reason, and the next hooks still run.
//!
//! # Serving
//!
//! A service needs no glue code to shut its servers down well:
//!
//! - [`listener`]`(name, addr)` gives a `tokio::net::TcpListener` ([`unix_listener`] a
//!   Unix one): the socket systemd passed under that name (socket activation), or a fresh
//!   bind; non-blocking, close-on-exec, listed by [`listeners`] with its [`Origin`].
//! - `graceful::http::serve(listener, app)` (cargo feature `axum`) serves an axum
//!   `Router` over HTTP/1 and HTTP/2: through the drain delay (HTTP/1 responses say
//!   `Connection: close` from the first signal on, except those that hand the connection
//!   over, such as a websocket's `101`), then it stops accepting, sends HTTP/2 `GOAWAY`,
//!   gives idle connections a second for a request already on its way, and returns once
//!   every request under way is answered. No client holds the exit: header-read and
//!   body-read timeouts cut off one that stalls, a request body still coming fails at the
//!   hard stop, and a silent HTTP/2 client is closed. Streams and websockets end at the
//!   hard stop by themselves; a handler still computing then has until the deadline, and
//!   its answer is sent. A handler that panics is answered `500` and the service goes on.
//!   Connections are tracked tasks, named in the report when the deadline cuts them.
//!   `graceful::http::readiness` answers a readiness probe: 200 until the first signal,
//!   503 with the reason from it on.
//! - `graceful::grpc::serve(listener, routes)` (cargo feature `tonic`, Rust 1.88) does the
//!   same for tonic services, and `graceful::grpc::health()` gives the standard health
//!   service, `NOT_SERVING` from the first signal on.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # mod service {
//! use axum::{routing::get, Router};
//!
//! #[graceful::main(deadline = "25s", drain_delay = "5s")]
//! async fn main() -> std::io::Result<()> {
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello\n" }))
//!         .route("/readyz", get(graceful::http::readiness));
//!     let listener = graceful::listener("http", "0.0.0.0:3000").await?;
//!     graceful::http::serve(listener, app).await;
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! # Consuming
//!
//! [`consume::Consumer`] runs a queue consumer's handlers with the same care: intake
//! stops at the drain delay's end, what was taken but not started is handed back at
//! once, handlers under way finish and are acknowledged, a failed message is retried
//! then rejected, what the hard stop cuts is handed back, and the connection closes
//! after the last acknowledgement. The counts are in the [`Report`]. Any broker plugs in
//! through [`consume::Source`]; feature `sqlite` brings an embedded queue.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean: a signal or `main` returning `Ok`, every step completed |
//! | 1 | `main` returned `Err` (printed like Rust's own `main`), or a hook failed |
//! | 2 | bad configuration (a `GRACEFUL_*` variable that does not parse, a value set in [`Main`] out of range, a drain delay not shorter than the deadline, a signal the platform lacks), found before the body ran |
//! | 101 | `main` panicked, or a tracked task did (unless `on_task_panic = "continue"`) |
//! | 124 | the deadline was exceeded: a step cut or skipped, tasks still running, or work handed back by `until_deadline` |
//! | 130 / 143 | a second `SIGINT` / `SIGTERM` forced the exit (128 + the signal number) |
//!
//! # Configuration at run time
//!
//! Operators tune the shutdown without a rebuild. **The environment wins over the
//! attribute (or [`Main`]), which wins over the default.** Durations use the attribute's
//! grammar (`25s`, `1500ms`, `1m`, `1m30s`).
//!
//! | variable | what it does |
//! |---|---|
//! | `GRACEFUL_DEADLINE` | the whole shutdown budget; overrides `deadline` (default 30 s) |
//! | `GRACEFUL_DRAIN_DELAY` | the time between the signal and the teardown; overrides `drain_delay` (default 0) |
//! | `GRACEFUL_GRACE_PERIOD` | the orchestrator's time between `SIGTERM` and `SIGKILL` (`30`, whole seconds as Kubernetes writes them, or a duration): warns at startup if the deadline plus the `always` hooks' timeouts do not fit in it |
//! | `GRACEFUL_REPORT` | a path: the report is written there as JSON |
//! | `GRACEFUL_UPGRADE_TIMEOUT` | how long the new process of an [`upgrade`] has to call [`ready`] before it is stopped and the old one serves on (default 60 s) |
//! | `NOTIFY_SOCKET` | set by systemd: graceful tells it when the program is [`ready`], of the shutdown, and of an upgrade |
//!
//! They are read once, before the body runs. A value that does not parse (the grace
//! period's included), a zero deadline, or a drain delay not shorter than the deadline
//! stops the program there with exit code 2 and a message naming the variable and its
//! value. A variable set but empty (or blank) counts as unset, as a shell or a manifest
//! produce for a value left out.
//!
//! # Configuration from code
//!
//! Everything the attribute sets, a plain `fn main` can set with [`Main`], after parsing
//! its command line; `#[graceful::main(deadline = "25s")]` expands to
//! `graceful::Main::new().deadline(..).run(main())`. The environment still wins. A value
//! the attribute would refuse at compile time stops the program in [`Main::run`], before
//! the body runs, with exit code 2.
//!
//! ```no_run
//! # async fn serve() {}
//! fn main() {
//!     let deadline = std::time::Duration::from_secs(25); // from `--deadline 25s`, say
//!     graceful::Main::new().deadline(deadline).run(serve())
//! }
//! ```
//!
//! # Ready
//!
//! [`ready`] says the program can serve: under systemd (`Type=notify`) it sends
//! `READY=1`, and it warns, naming the hook and the type, of any hook whose
//! [`State<T>`](State) was never [`provide`]d, instead of letting that hook fail at the
//! shutdown.
//!
//! # Upgrade in place
//!
//! On one machine with no second instance to move traffic to, a restart refuses
//! connections while the service stops and starts. With `#[graceful::main(upgrade)]`
//! (`SIGHUP`; `upgrade = "SIGUSR2"` picks another signal) or
//! [`Main::upgrade`], the signal, or [`upgrade`]`().await` from code, replaces the
//! process with the binary now on disk instead, and no client notices:
//!
//! 1. The old process starts the binary at the path it was itself started from
//!    (resolved at start: a deploy that renames a new file over it, or switches a
//!    symbolic link, is followed), with the same arguments and environment, and hands it
//!    every [`listener`] socket by name, plus a channel. Unix only.
//! 2. The new process runs the same code: [`listener`]`(name, ..)` takes the inherited
//!    socket of that name instead of binding ([`Origin::Upgrade`]), and [`ready`] tells
//!    the old process. Until then both hold the sockets, and connections wait in the
//!    kernel's queue: none is refused.
//! 3. A second after `ready` (the new process must not exit in it), the old process
//!    stops accepting and shuts down with trigger [`Trigger::Upgrade`] (no drain delay;
//!    JSON `{"kind": "upgrade", "pid": N}`), finishes what it holds, and exits 0. Its
//!    hooks can tell an upgrade from a stop with [`Context::trigger`].
//! 4. A new process that exits, crashes, or is not ready within
//!    `GRACEFUL_UPGRADE_TIMEOUT` (60 s unless set) is stopped and reaped; the old one
//!    goes on serving and logs why ([`UpgradeError`]).
//! 5. One at a time: a trigger during an upgrade, or in a new process whose old one still
//!    drains, is refused with a log line. A stop signal during an upgrade stops both.
//! 6. Under systemd (`Type=notify`, or `Type=notify-reload`), the old process sends
//!    `RELOADING=1`, then `MAINPID=<new>` and `READY=1` at the handover, and no
//!    `STOPPING=1`.
//!
//! A queue consumer has no socket to hand over, and needs nothing more: the new process
//! starts taking messages while the old one finishes those it holds. One that reclaims
//! at start what a crashed predecessor of its name held asks [`upgraded_from`] first.
//!
//! # Tracked tasks
//!
//! The shutdown waits for the tasks of [`spawn`] and [`spawn_named`], not for those of
//! `tokio::spawn`: a job running in a plain tokio task dies with the process, half done,
//! and the exit code still says 0. A tracked task that panics is logged at once with its
//! name and message and listed in the report; by default the panic starts the shutdown
//! and the exit code is 101 ([`TaskPanic`]).
//!
//! # The last word
//!
//! The process ends with [`std::process::exit`], which drops nothing: a buffered log
//! writer, `tracing-appender`'s non-blocking writer or an OpenTelemetry batch exporter
//! would lose the lines still queued, the summary among them. Hand their guard to
//! [`drop_at_exit`], or their flush to [`at_exit`]: it runs after the report is logged,
//! before the exit, within the deadline.
//!
//! ```no_run
//! fn main() {
//!     let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
//!     tracing_subscriber::fmt().with_writer(writer).init();
//!     graceful::drop_at_exit(guard); // the summary reaches stderr too
//!     graceful::Main::new().run(async { graceful::shutdown_requested().await })
//! }
//! ```
//!
//! # The report
//!
//! Each step emits a `tracing` event (target `graceful`: hook name, order, duration,
//! outcome) and the end a summary (trigger, total time, counts, exit code). A program
//! that installs no tracing subscriber still gets the same as readable lines on stderr.
//! [`testing`] runs the whole sequence in a test and returns the [`Report`].
//!
//! With `GRACEFUL_REPORT=path`, the report is also written to `path` as one line of JSON
//! just before the exit; [`Report::to_json`] documents the schema (`"version": 1`). It is
//! written beside the file and renamed over it, so a reader never sees half a report, or
//! in place where a rename cannot work (Kubernetes' `/dev/termination-log`, a pipe). A
//! path that cannot be written is logged and changes nothing else: the exit code stands;
//! one that cannot work (a missing directory) is also said at startup. A write that
//! blocks (a pipe nobody reads, a hung network mount) is given up after a second.
//!
//! # Platforms
//!
//! - **systemd**: when `NOTIFY_SOCKET` is set (a path, or `@name` for an abstract
//!   socket), graceful sends `READY=1` at [`ready`] (for `Type=notify`), `STOPPING=1`
//!   when the shutdown starts, and
//!   `EXTEND_TIMEOUT_USEC=` then and after each step that ends before the deadline. systemd
//!   counts an extension from when it receives it, so each carries only what is left
//!   until the process is sure to have exited: a shutdown within its deadline is not cut
//!   by a shorter `TimeoutStopSec=`. Failures to notify are logged once, never fatal.
//!   Socket activation: [`listener`] takes the socket systemd passed under its name
//!   (`FileDescriptorName=`), and `LISTEN_*` leave the environment before the body runs.
//! - **Kubernetes**: `terminationGracePeriodSeconds` (less any `preStop` time) must hold
//!   the deadline and the `always` hooks' timeouts; state it in `GRACEFUL_GRACE_PERIOD`
//!   and graceful checks it. Readiness answers 503 from [`is_shutting_down`] during the
//!   drain delay (`graceful::http::readiness` does it for you). `GRACEFUL_REPORT=/dev/termination-log` puts the report in the pod's
//!   status. The repository's `docs/kubernetes.md` and `deploy/kubernetes.yaml` go
//!   through it.
//! - **Windows**: the default signals are the console events ctrl-c, ctrl-break,
//!   ctrl-close and ctrl-shutdown; a second one forces the exit with code 130. Windows
//!   ends a process a few seconds after a close or shutdown event whatever it is doing.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
// The docs show a plain `fn main` on purpose: it is where `Main` and a log writer's guard
// are set up.
#![allow(clippy::needless_doctest_main)]

// The layers: ARCHITECTURE.md draws the map, bottom up; `tests/layers.rs` checks that
// each imports only from those below it.
mod api;
mod config;
pub mod consume;
mod controller;
mod entry;
// Upgrade in place: the protocol and the new process's side.
#[cfg(unix)]
mod handover;
mod hook;
mod report;
mod sequence;
// Serving: listeners, readiness, and (features `axum`, `tonic`) the HTTP and gRPC servers.
mod serve;
mod shared;
mod sync;
// The system calls std has no safe form of: the crate's only `unsafe`.
#[cfg(unix)]
mod sys;
mod systemd;
pub mod testing;
mod trigger;
// Upgrade in place: the old process's side.
mod upgrade;

#[doc(inline)]
pub use graceful_macros::{link, main, teardown};

pub use api::{
    hard_stop, is_shutting_down, provide, shutdown, shutdown_requested, spawn, spawn_named,
    until_deadline, until_shutdown, HardStop, ShutdownRequested, Until,
};
pub use hook::{Context, State};
pub use report::{
    ConsumerCounts, ConsumerReport, Counts, Exit, HookReport, Outcome, Report, TASKS_STEP,
};
pub use trigger::{Signal, Trigger};

// Configuration from code, readiness, the last word.
pub use api::{at_exit, drop_at_exit, ready};
pub use config::{Flavor, TaskPanic};
pub use entry::Main;
pub use report::PanickedTask;

// Serving.
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use serve::grpc;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use serve::http;
pub use serve::listener::listener;
#[cfg(unix)]
pub use serve::listener::unix_listener;
pub use serve::ready::not_ready;
pub use serve::registry::{listeners, ListenerInfo, Origin};

// Upgrade in place.
pub use upgrade::{upgrade, upgraded_from, UpgradeError};

/// Not public API. Used by generated code.
#[doc(hidden)]
pub mod __private {
    // Not public API. Used by generated code.
    pub use crate::config::{Flavor, TaskPanic};
    pub use crate::entry::Main;
    pub use crate::hook::{
        BoxHookFuture, Context, Extract, Hook, HookError, HookFn, HookResult, IntoHookResult,
        State, StateParam,
    };
    pub use crate::trigger::body::MainOutput;
    pub use crate::trigger::Signal;
    pub use core::time::Duration;
    pub use inventory;
}
