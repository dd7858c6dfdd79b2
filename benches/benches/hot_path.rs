//! What graceful's worker-facing API costs on the hot path, in nanoseconds per call, beside
//! what a hand-written tokio program pays for the same question.
//!
//! Measured, in this process (no `#[graceful::main]`: the API works on the program's own
//! controller without it, and no shutdown is under way):
//!
//! - `is_shutting_down`: `graceful::is_shutting_down()`, beside a plain `AtomicBool` load
//!   (`Acquire`, the floor for any flag) and `CancellationToken::is_cancelled()` (what a
//!   hand-written tokio service asks). Target: ≤ 2 ns per call.
//! - `until-ready` and `until-pending`: `graceful::until_shutdown(fut).await` and
//!   `graceful::until_hard_stop(fut).await` against `fut.await` directly, beside the
//!   hand-written `tokio::select! { biased; _ = token.cancelled() => None, v = fut => Some(v) }`.
//!   `fut` is either ready at its first poll, or pending once (it wakes itself, then is
//!   ready: this is where a waiter for the shutdown gets registered and removed). Target:
//!   `until_shutdown` adds ≤ 50 ns per call over `fut.await` (and so does
//!   `until_hard_stop`, the same future on another latch).
//!
//! Method: each variant runs in batches of many iterations, `black_box` on the inputs and
//! outputs so that nothing is optimised away; a batch's figure is its elapsed time over
//! its iterations. The iterations per batch are found first by doubling until a batch
//! takes 10 ms (which is also the warm-up). Then the batches run round-robin across the
//! variants of a group, so that machine noise falls on all of them alike; each figure is
//! the median over the batches (31 by default, `GRACEFUL_BENCH_RUNS` overrides), with the
//! min and max. The overhead over `fut.await` is the median of the per-batch differences
//! (the batches being neighbours in time). The async variants run inside a current-thread
//! tokio runtime without I/O or time drivers (one `block_on` per batch, the loop inside
//! it), the leanest runtime, where an overhead shows most. A median below 0.05 ns would
//! mean the loop was optimised away: the benchmark stops rather than print it.
//!
//! Run: `cargo bench --bench hot_path` (a few seconds), or one group:
//! `cargo bench --bench hot_path -- until-pending`.

use graceful_benches as support;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use support::stats::Samples;
use support::table::Table;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// How long a batch should take, once calibrated.
const BATCH: Duration = Duration::from_millis(10);

/// A median faster than this is no call at all: the loop was optimised away.
const IMPOSSIBLY_FAST_NS: f64 = 0.05;

const IS_SHUTTING_DOWN_TARGET_NS: f64 = 2.0;
const UNTIL_OVERHEAD_TARGET_NS: f64 = 50.0;

fn main() {
    support::heading("Hot path: what graceful costs per call");
    let batches = support::runs(31);
    println!(
        "{batches} batches of ~{} ms per variant, round-robin, after a warm-up; ns per call",
        BATCH.as_millis()
    );

    if support::selected("is_shutting_down") {
        is_shutting_down(batches);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| support::fail(&format!("cannot build a tokio runtime: {e}")));
    if support::selected("until-ready") {
        until(
            &rt,
            batches,
            "until-ready: `fut` ready at its first poll",
            std::future::ready,
        );
    }
    if support::selected("until-pending") {
        until(
            &rt,
            batches,
            "until-pending: `fut` pending once (wakes itself), then ready",
            PendingOnce::new,
        );
    }
}

/// One way of doing the measured work: runs it `n` times, returns the time taken.
struct Variant<'a> {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> Duration + 'a>,
}

impl<'a> Variant<'a> {
    fn new(name: &'static str, run: impl FnMut(u64) -> Duration + 'a) -> Self {
        Variant {
            name,
            run: Box::new(run),
        }
    }
}

/// The per-batch figures of each variant, in ns per call, in the variants' order.
fn measure(variants: &mut [Variant<'_>], batches: usize) -> Vec<Vec<f64>> {
    let sizes: Vec<u64> = variants.iter_mut().map(|v| calibrate(&mut v.run)).collect();
    let mut figures = vec![Vec::with_capacity(batches); variants.len()];
    for _ in 0..batches {
        for ((variant, n), out) in variants.iter_mut().zip(&sizes).zip(&mut figures) {
            out.push((variant.run)(*n).as_nanos() as f64 / *n as f64);
        }
    }
    for (variant, out) in variants.iter().zip(&figures) {
        let median = samples(out).median();
        if median < IMPOSSIBLY_FAST_NS {
            support::fail(&format!(
                "{}: {median:.3} ns per call is no call at all; the loop was optimised away",
                variant.name
            ));
        }
    }
    figures
}

/// Doubles the iterations until a batch takes [`BATCH`]; this is the warm-up too.
fn calibrate(run: &mut dyn FnMut(u64) -> Duration) -> u64 {
    let mut n = 1_000;
    while run(n) < BATCH {
        n *= 2;
    }
    n
}

fn samples(values: &[f64]) -> Samples {
    let mut s = Samples::new();
    for v in values {
        s.push(*v);
    }
    s
}

/// `value` in ns per call.
fn ns(value: f64) -> String {
    format!("{value:.2} ns")
}

fn verdict(value: f64, target: f64) -> &'static str {
    if value <= target {
        "yes"
    } else {
        "no"
    }
}

/// `n` calls of `f`, timed.
fn timed_sync(n: u64, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed()
}

/// `n` awaits of the futures `make` returns, in one `block_on`, timed.
fn timed_async<F: Future>(rt: &Runtime, n: u64, mut make: impl FnMut(u64) -> F) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..n {
            black_box(make(black_box(i)).await);
        }
        start.elapsed()
    })
}

fn is_shutting_down(batches: usize) {
    static FLAG: AtomicBool = AtomicBool::new(false);
    let token = CancellationToken::new();
    let mut variants = [
        Variant::new("AtomicBool::load (floor)", |n| {
            timed_sync(n, || black_box(&FLAG).load(Ordering::Acquire))
        }),
        Variant::new("CancellationToken::is_cancelled (tokio)", |n| {
            timed_sync(n, || black_box(&token).is_cancelled())
        }),
        Variant::new("graceful::is_shutting_down", |n| {
            timed_sync(n, graceful::is_shutting_down)
        }),
    ];
    let figures = measure(&mut variants, batches);
    let tokio = samples(&figures[1]).median();

    println!("\n## is_shutting_down: ns per call");
    let mut table = Table::new(["what", "median", "min", "max", "vs tokio", "target", "met?"]);
    for (variant, values) in variants.iter().zip(&figures) {
        let s = samples(values);
        let graceful = variant.name.starts_with("graceful");
        table.row([
            variant.name.to_owned(),
            ns(s.median()),
            ns(s.min()),
            ns(s.max()),
            support::stats::ratio(s.median(), tokio),
            if graceful {
                format!("≤ {IS_SHUTTING_DOWN_TARGET_NS} ns")
            } else {
                "–".to_owned()
            },
            if graceful {
                verdict(s.median(), IS_SHUTTING_DOWN_TARGET_NS).to_owned()
            } else {
                "–".to_owned()
            },
        ]);
    }
    table.print();
}

/// `fut.await` against `until_shutdown(fut)`, `until_hard_stop(fut)` and the hand-written
/// biased select on a token, for the futures `make` returns.
fn until<F>(rt: &Runtime, batches: usize, title: &str, make: impl Fn(u64) -> F + Copy)
where
    F: Future<Output = u64>,
{
    let token = CancellationToken::new();
    let token = &token;
    let mut variants = [
        Variant::new("fut.await (direct)", |n| timed_async(rt, n, make)),
        Variant::new("select! biased on token.cancelled() (tokio)", |n| {
            timed_async(rt, n, |i| async move {
                tokio::select! {
                    biased;
                    _ = token.cancelled() => None,
                    v = make(i) => Some(v),
                }
            })
        }),
        Variant::new("graceful::until_shutdown(fut)", |n| {
            timed_async(rt, n, |i| graceful::until_shutdown(make(i)))
        }),
        Variant::new("graceful::until_hard_stop(fut)", |n| {
            timed_async(rt, n, |i| graceful::until_hard_stop(make(i)))
        }),
    ];
    let figures = measure(&mut variants, batches);
    let direct = &figures[0];
    let tokio = samples(&figures[1]).median();

    println!("\n## {title}: ns per call");
    let mut table = Table::new([
        "what",
        "median",
        "min",
        "max",
        "over fut.await",
        "vs tokio",
        "target",
        "met?",
    ]);
    for (i, (variant, values)) in variants.iter().zip(&figures).enumerate() {
        let s = samples(values);
        let graceful = variant.name.starts_with("graceful");
        let overhead = (i > 0).then(|| {
            let diffs: Vec<f64> = values.iter().zip(direct).map(|(v, d)| v - d).collect();
            samples(&diffs).median()
        });
        table.row([
            variant.name.to_owned(),
            ns(s.median()),
            ns(s.min()),
            ns(s.max()),
            overhead.map_or_else(|| "–".to_owned(), |o| format!("{o:+.2} ns")),
            support::stats::ratio(s.median(), tokio),
            if graceful {
                format!("≤ +{UNTIL_OVERHEAD_TARGET_NS} ns")
            } else {
                "–".to_owned()
            },
            match overhead {
                Some(o) if graceful => verdict(o, UNTIL_OVERHEAD_TARGET_NS).to_owned(),
                _ => "–".to_owned(),
            },
        ]);
    }
    table.print();
}

/// A future that is pending at its first poll (having woken itself, as an I/O resource
/// that became ready at once would), and ready with its value at the second.
struct PendingOnce {
    value: u64,
    polled: bool,
}

impl PendingOnce {
    fn new(value: u64) -> Self {
        PendingOnce {
            value,
            polled: false,
        }
    }
}

impl Future for PendingOnce {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.polled {
            Poll::Ready(self.value)
        } else {
            self.polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
