//! What serving HTTP through graceful costs while nothing shuts down: requests per second
//! and the 99th-percentile latency of `graceful::http::serve` against plain `axum::serve`,
//! the same app (`GET /` answers `hello`) on the same runtime, in steady state.
//!
//! The subjects are `bench-serve-graceful` and `bench-serve-axum` (`src/bin/`). Each run
//! starts one, loads it from this process with 16 kept-alive HTTP/1.1 connections (a
//! thread each, one request at a time: [`load`](graceful_benches::load)) for a 1 s
//! warm-up and 3 s measured, then stops it with `SIGTERM` (it must exit 0). The two take
//! turns, 5 runs each (`GRACEFUL_BENCH_RUNS` sets it); the table shows medians, with
//! min and max. Target: graceful's throughput at least 0.97× axum's. The load shares the
//! machine with the server, as a sidecar or a local load balancer would; both subjects
//! pay that alike.
//!
//! What graceful adds per request: the peer's address as a request extension (axum's
//! `ConnectInfo`), a count of the handlers running on the connection (for the hard
//! stop), one atomic load to decide on `Connection: close`; per connection: a tracked
//! task, a name for the report, a watcher for the graceful stop.
//!
//! Run: `cargo bench --bench serve` (about 45 s).

use graceful_benches as support;

use std::net::SocketAddr;
use std::time::Duration;

use support::load;
use support::stats::{ratio, secs, Samples};
use support::subject::{Ended, Subject};
use support::table::Table;

const CONNECTIONS: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(3);
const PATIENCE: Duration = Duration::from_secs(10);

struct Competitor {
    name: &'static str,
    bin: &'static str,
    per_second: Samples,
    p99: Samples,
}

fn main() {
    support::heading("Serving HTTP: graceful::http::serve against axum::serve, steady state");
    if !support::selected("serve") {
        return;
    }
    let runs = support::runs(5);
    println!(
        "{runs} runs each, round-robin; {CONNECTIONS} kept-alive connections, {}s warm-up, {}s measured",
        WARM_UP.as_secs(),
        MEASURE.as_secs()
    );
    let mut competitors = [
        Competitor {
            name: "graceful::http::serve",
            bin: env!("CARGO_BIN_EXE_bench-serve-graceful"),
            per_second: Samples::new(),
            p99: Samples::new(),
        },
        Competitor {
            name: "axum::serve",
            bin: env!("CARGO_BIN_EXE_bench-serve-axum"),
            per_second: Samples::new(),
            p99: Samples::new(),
        },
    ];
    for _ in 0..runs {
        for competitor in &mut competitors {
            let subject = Subject::start(competitor.bin, &[], &[]);
            let line = subject.wait_for_line("address ", PATIENCE);
            let addr: SocketAddr = line["address ".len()..]
                .parse()
                .unwrap_or_else(|_| support::fail(&format!("no address in {line:?}")));
            let measured = load::run(addr, CONNECTIONS, WARM_UP, MEASURE);
            competitor.per_second.push(measured.per_second);
            competitor.p99.push(measured.p99);
            subject.terminate();
            match subject.ended(PATIENCE) {
                Ended::Exited { status, .. } if status.success() => {}
                other => support::fail(&format!(
                    "{} did not stop cleanly: {other:?}",
                    competitor.name
                )),
            }
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
    let throughput = graceful.per_second.median() / axum.per_second.median();
    table.row([
        "requests/s (median, min–max)".to_owned(),
        format!(
            "{:.0} ({}; {:.0}–{:.0})",
            graceful.per_second.median(),
            ratio(graceful.per_second.median(), axum.per_second.median()),
            graceful.per_second.min(),
            graceful.per_second.max()
        ),
        format!(
            "{:.0} ({:.0}–{:.0})",
            axum.per_second.median(),
            axum.per_second.min(),
            axum.per_second.max()
        ),
        "≥ 0.97×".to_owned(),
        if throughput >= 0.97 { "yes" } else { "**no**" }.to_owned(),
    ]);
    table.row([
        "p99 latency (median of runs)".to_owned(),
        format!(
            "{} ({})",
            secs(graceful.p99.median()),
            ratio(graceful.p99.median(), axum.p99.median())
        ),
        secs(axum.p99.median()),
        "–".to_owned(),
        "–".to_owned(),
    ]);
    table.print();
}
