//! The program's last word: work that runs after the shutdown's report is logged and
//! before the process exits.

use crate::controller;

/// Runs `work` after the shutdown's report is logged (and written to `GRACEFUL_REPORT`),
/// just before the process exits: the place to flush what buffers log lines or
/// telemetry, so that the summary reaches it too.
///
/// The process ends with [`std::process::exit`], which runs no destructor: a buffered
/// writer, `tracing-appender`'s non-blocking writer, an OpenTelemetry batch exporter would
/// lose their last lines, the summary among them. What is given here runs instead, the
/// last given first.
///
/// - It runs on a thread of graceful's own, not on a runtime worker, with the runtime's
///   context entered: it may block, and may `Handle::current().block_on(..)` async work
///   that the runtime's tasks complete.
/// - It is bounded by the shutdown's deadline: it gets what is left until the process
///   must be gone (the deadline, and what the `always` hooks may take past it). Work
///   still running then is left behind, said on stderr, and the process exits with the
///   code the shutdown decided. A second signal, before or during it, leaves it at most
///   half a second; the exit code is still the report's.
/// - A panic in it is said on stderr; the rest still runs; the exit code stands.
/// - It also runs before a configuration error's exit (code 2), without a runtime's
///   context (none was built); not when the watchdog or a second signal ends a process
///   whose shutdown is stuck.
///
/// It may be called before [`Main::run`](crate::Main::run), from a plain `fn main`, and at
/// any time from the body. In a [`testing`](crate::testing) harness it runs when
/// [`Running::report`](crate::testing::Running::report) returns.
///
/// # Flushing an OpenTelemetry provider
///
/// Shut the provider down here, not in a teardown hook: a hook runs on the runtime,
/// and a provider whose exporter needs that runtime to flush deadlocks when its blocking
/// `shutdown()` is called from one of the runtime's own threads
/// (open-telemetry/opentelemetry-rust#536, restatedev/restate#592). Here it is called
/// from graceful's thread while the runtime's workers still run.
///
/// ```ignore
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
///     .with_batch_exporter(exporter)
///     .build();
/// opentelemetry::global::set_tracer_provider(provider.clone());
/// graceful::at_exit(move || {
///     if let Err(e) = provider.shutdown() {
///         eprintln!("telemetry not flushed: {e}");
///     }
/// });
/// ```
pub fn at_exit(work: impl FnOnce() + Send + 'static) {
    controller::current().at_exit.push(Box::new(work));
}

/// Drops `guard` after the shutdown's report is logged, just before the process exits,
/// as [`at_exit`] runs work: for a guard whose drop flushes, such as
/// `tracing-appender`'s `WorkerGuard`.
///
/// ```no_run
/// fn main() {
///     let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
///     tracing_subscriber::fmt().with_writer(writer).init();
///     // Without this, the lines still queued when the process exits are lost: the
///     // shutdown's summary, among them.
///     graceful::drop_at_exit(guard);
///     graceful::Main::new().run(async {
///         graceful::shutdown_requested().await;
///     })
/// }
/// ```
pub fn drop_at_exit(guard: impl Send + 'static) {
    at_exit(move || drop(guard));
}
