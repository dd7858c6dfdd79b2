//! Consuming: graceful's runner (`graceful::consume::Consumer`) on each source, against a
//! consumer loop written by hand on the same client crate, in one run.
//!
//! The subject is `bench-consume` (`src/bin/bench-consume/`): the runner, or the loop by
//! hand (`by_hand.rs`), 20 handlers, on SQLite (a file of the run's own), RabbitMQ
//! (amqprs), PostgreSQL (tokio-postgres), Redis Streams (redis) and NATS JetStream
//! (async-nats), each on a queue of the run's own, filled by graceful's publisher and
//! deleted afterwards; and on `memory`, a broker in the subject's own process
//! (`memory.rs`), for throughput only: the runner's own cost a message, with no broker's
//! beside it (`MEMORY_COUNT` messages, at most 20 unacknowledged, no target).
//!
//! - **Throughput**: `COUNT` messages waiting, handlers that return at once; the time from
//!   the first handler's start to the last acknowledgement (connecting is not counted, on
//!   either side), as messages a second. The two
//!   take turns run by run. Target: the runner at least 0.95× the loop by hand.
//! - **Stop**: handlers of `STOP_OPERATION` each, every handler busy, `SIGTERM`: the time
//!   from the end of the last handler in flight to the exit (what graceful adds to the
//!   work itself: the unstarted handed back, the last acknowledgements, the close).
//! - **Upgrade against restart**: `RATE` messages a second published by the benchmark,
//!   handlers of `OPERATION`; N upgrades in place (`SIGHUP`, the new process consuming
//!   from its `ready()`) and N restarts (`SIGTERM`, wait for the exit, start again). The
//!   pause of a trigger is the longest a message published before the window's end (one
//!   second after the new process is in service and the old one exited) waited to be
//!   taken, among those taken after the signal. Every message must be acknowledged
//!   exactly once, or the benchmark stops. Target for the upgrade: 0.5 s.
//!
//! A broker that is not answering is skipped with a line that names it (with
//! `GRACEFUL_TEST_BROKERS=require`, as CI sets it, the benchmark fails instead).
//! `cargo bench --bench consume` (3 runs a measure; `GRACEFUL_BENCH_RUNS` sets the count);
//! the arguments after `--` choose parts (`throughput`, `stop`, `upgrade`) and sources
//! (`sqlite`, `amqp`, `postgres`, `redis`, `nats`, `memory`): `-- throughput redis nats`.
//! Linux only (the subreaper); elsewhere it says so.

use graceful_benches as support;

#[cfg(target_os = "linux")]
mod measure;
#[cfg(target_os = "linux")]
#[path = "../common/replace.rs"]
#[allow(dead_code)] // what graceful-ctl's measure of `upgrade` uses
mod replace;
#[cfg(target_os = "linux")]
mod sources;

fn main() {
    support::heading("Consuming: graceful's runner against a loop by hand, per broker");
    #[cfg(target_os = "linux")]
    measure::all();
    #[cfg(not(target_os = "linux"))]
    support::unix_only("Linux's PR_SET_CHILD_SUBREAPER, to reap every generation");
}
