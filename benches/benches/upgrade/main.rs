//! Upgrades in place against restarts: the same HTTP load, and the same queue consumer,
//! through N upgrades (`SIGHUP`, `#[graceful::main(upgrade)]`) and then N restarts
//! (`SIGTERM`, wait for the exit, start again on the same port, as a deploy pipeline does),
//! in one run.
//!
//! - **HTTP** (`bench-upgrade-http`, `src/bin/`): 3 clients with a connection per request
//!   and 3 with one kept alive, each pausing `traffic::PACE` between requests, load the service
//!   all along (`traffic`); `GET /` answers with the serving process's id. An upgrade deploys a fresh
//!   copy of the binary at the path it runs from (copied beside it, renamed over it) and
//!   sends `SIGHUP`; a restart sends `SIGTERM`, waits for the exit and starts the binary
//!   again on the same port. A failed request is one refused, reset, cut short or not
//!   `200` (a kept-alive connection the server closed is retried once on a new one, as
//!   clients do). The window of a trigger runs from the signal to the first answer of the
//!   new process, plus `AFTER`: its p99 latency is set against the steady state's (the
//!   requests outside every window).
//! - **Queue** (`bench-upgrade-queue`): a broker in this process enqueues `RATE`
//!   messages a second; the subject's `WORKERS` workers take one, work on it for
//!   `OPERATION` (1 s, to keep the run short), acknowledge it. The pause of a trigger is
//!   the longest any message waited between its enqueueing and its taking, among those
//!   taken after the signal and enqueued before the window's end (the later of the new
//!   process's `ready` and the old one's exit, plus `AFTER`). Every message must be
//!   taken and acknowledged exactly once, or the benchmark stops.
//!
//! - **graceful-ctl** (`bench-ctl`, the command's entry point): N upgrades of the HTTP
//!   subject, without load, each asked with `graceful-ctl upgrade <PID>`: the time from
//!   the call to its answer, which comes once the new process serves (its `ready` and the
//!   second of probation after it).
//!
//! Every old process must exit 0: the first is this process's child, the later ones are
//! reaped by it as the subreaper of their orphans. Targets, for the upgrade: no failed
//! request, p99 in the window at most 2× the steady state's, a queue pause of at most
//! 0.5 s. A restart is expected to fail every request of its gap and to pause the queue
//! for about one operation.
//!
//! `cargo bench --bench upgrade` (5 triggers a mode, about 90 s; 20 s with one; `GRACEFUL_BENCH_RUNS`
//! sets the count); `cargo bench --bench upgrade -- http`, `-- queue` or `-- ctl` runs one part.
//! Linux only (the subreaper is `prctl(PR_SET_CHILD_SUBREAPER)`); elsewhere it says so.

use graceful_benches as support;

#[cfg(target_os = "linux")]
mod broker;
#[cfg(target_os = "linux")]
mod measure;
#[cfg(target_os = "linux")]
#[path = "../common/replace.rs"]
mod replace;
#[cfg(target_os = "linux")]
mod traffic;

fn main() {
    support::heading("Upgrade in place against restart, under load");
    #[cfg(target_os = "linux")]
    measure::all();
    #[cfg(not(target_os = "linux"))]
    support::unix_only("Linux's PR_SET_CHILD_SUBREAPER, to reap every generation");
}
