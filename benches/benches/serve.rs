//! What serving HTTP through graceful costs while nothing shuts down: requests per second
//! and the 99th-percentile latency of `graceful::http::serve` against plain `axum::serve`,
//! the same app (`GET /` answers `hello`) on the same runtime, in steady state.
//!
//! The subjects are `bench-serve-graceful` and `bench-serve-axum` (`src/bin/`). Each run
//! starts one and loads it from this process ([`load`](graceful_benches::load)) twice,
//! each time with a 1 s warm-up and 3 s measured, then stops it with `SIGTERM` (it must
//! exit 0):
//!
//! - **kept alive**: 16 clients, each on one connection kept alive, one request at a
//!   time: what a request costs;
//! - **churn**: 16 clients, each request on a new connection (`Connection: close`): what
//!   a connection costs (its accept, tracked task and name, its timers, its close).
//!
//! The two subjects take turns, each going first in every other run (graceful, axum;
//! axum, graceful; ...), so that neither always meets a machine the other has just
//! warmed up or tired; 6 runs each (`GRACEFUL_BENCH_RUNS` sets it). The table shows
//! medians over the runs, with the smallest and largest figure. Target: graceful's
//! throughput at least 0.97× axum's. The load shares the machine with the server, as a
//! sidecar or a local load balancer would; both subjects pay that alike, but on a small
//! machine it makes the figures of one run spread: read the min–max before a ratio.
//!
//! What graceful adds per request: the peer's address as a request extension (axum's
//! `ConnectInfo`), the counts of the requests under way and the handlers computing on
//! the connection (for the shutdown and the hard stop), a request body that watches
//! the hard stop, a guard that turns a handler's panic into a `500`, one atomic load to
//! decide on `Connection: close`. Per connection: a tracked task and its name, a timer
//! for the client's opening, the watch of the shutdown.
//!
//! Run: `cargo bench --bench serve` (about 2 min).

use graceful_benches as support;

use std::net::SocketAddr;
use std::time::Duration;

use support::load::{self, Clients};
use support::stats::{ratio, secs, Samples};
use support::subject::{Ended, Subject};
use support::table::Table;

const CLIENTS: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(3);
const PATIENCE: Duration = Duration::from_secs(10);

/// The two loads, each measured on every subject.
const LOADS: [(Clients, &str); 2] = [
    (Clients::KeptAlive, "kept alive"),
    (Clients::Churn, "churn (a connection per request)"),
];

struct Competitor {
    name: &'static str,
    bin: &'static str,
    /// Per load: requests per second, p99 latency and the server's CPU time per answer,
    /// one figure a run.
    per_second: [Samples; 2],
    p99: [Samples; 2],
    cpu: [Samples; 2],
}

fn main() {
    support::heading("Serving HTTP: graceful::http::serve against axum::serve, steady state");
    if !support::selected("serve") {
        return;
    }
    let runs = support::runs(6);
    println!(
        "{runs} runs each, taking turns to go first; {CLIENTS} clients kept alive, then {CLIENTS} with a connection per request; {}s warm-up, {}s measured",
        WARM_UP.as_secs(),
        MEASURE.as_secs()
    );
    let mut competitors = [
        Competitor {
            name: "graceful::http::serve",
            bin: env!("CARGO_BIN_EXE_bench-serve-graceful"),
            per_second: Default::default(),
            p99: Default::default(),
            cpu: Default::default(),
        },
        Competitor {
            name: "axum::serve",
            bin: env!("CARGO_BIN_EXE_bench-serve-axum"),
            per_second: Default::default(),
            p99: Default::default(),
            cpu: Default::default(),
        },
    ];
    for run in 0..runs {
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            measure(&mut competitors[i]);
        }
    }
    let [graceful, axum] = &competitors;
    let mut table = Table::new([
        "measure",
        "graceful::http::serve",
        "axum::serve",
        "target",
        "met",
    ]);
    for (load, (_, what)) in LOADS.iter().enumerate() {
        let throughput = graceful.per_second[load].median() / axum.per_second[load].median();
        table.row([
            format!("{what}: requests/s (median, min–max)"),
            format!(
                "{} ({})",
                spread(&graceful.per_second[load], |v| format!("{v:.0}")),
                ratio(
                    graceful.per_second[load].median(),
                    axum.per_second[load].median()
                ),
            ),
            spread(&axum.per_second[load], |v| format!("{v:.0}")),
            "≥ 0.97×".to_owned(),
            if throughput >= 0.97 { "yes" } else { "**no**" }.to_owned(),
        ]);
        table.row([
            format!("{what}: p99 latency (median, min–max)"),
            format!(
                "{} ({})",
                spread(&graceful.p99[load], secs),
                ratio(graceful.p99[load].median(), axum.p99[load].median())
            ),
            spread(&axum.p99[load], secs),
            "–".to_owned(),
            "–".to_owned(),
        ]);
        let cpu = graceful.cpu[load].median() / axum.cpu[load].median();
        table.row([
            format!("{what}: server CPU per answer (median, min–max)"),
            format!(
                "{} ({})",
                spread(&graceful.cpu[load], secs),
                ratio(graceful.cpu[load].median(), axum.cpu[load].median())
            ),
            spread(&axum.cpu[load], secs),
            "≤ 1.03×".to_owned(),
            if cpu <= 1.03 { "yes" } else { "**no**" }.to_owned(),
        ]);
    }
    table.print();
}

/// One run of a competitor: started, loaded each way, stopped.
fn measure(competitor: &mut Competitor) {
    let subject = Subject::start(competitor.bin, &[], &[]);
    let line = subject.wait_for_line("address ", PATIENCE);
    let addr: SocketAddr = line["address ".len()..]
        .parse()
        .unwrap_or_else(|_| support::fail(&format!("no address in {line:?}")));
    for (load, (how, _)) in LOADS.iter().enumerate() {
        let measured = load::run(addr, *how, CLIENTS, (WARM_UP, MEASURE), || {
            subject.cpu_time()
        });
        competitor.per_second[load].push(measured.per_second);
        competitor.p99[load].push(measured.p99);
        competitor.cpu[load].push(measured.cpu_per_answer);
    }
    subject.terminate();
    match subject.ended(PATIENCE) {
        Ended::Exited { status, .. } if status.success() => {}
        other => support::fail(&format!(
            "{} did not stop cleanly: {other:?}",
            competitor.name
        )),
    }
}

/// `median (min–max)`, each written by `show`.
fn spread(samples: &Samples, show: impl Fn(f64) -> String) -> String {
    format!(
        "{} ({}–{})",
        show(samples.median()),
        show(samples.min()),
        show(samples.max())
    )
}
