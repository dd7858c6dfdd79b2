//! The three measures, each on every source that answers (a stop and an upgrade on those
//! whose messages outlive the process), and their tables.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use graceful_process_tests::upgrade::become_subreaper;
use support::stats::{secs, Samples};
use support::subject::{Ended, Subject};
use support::table::Table;
use support::{clock, fail};

use crate::replace::{until, Mode, Service, PATIENCE};
use crate::sources::{Source, ALL};
use crate::support;

const BIN: &str = env!("CARGO_BIN_EXE_bench-consume");

/// Handlers at once, in every measure.
const HANDLERS: u16 = 20;
/// Messages waiting at the start of a throughput run.
const COUNT: usize = 10_000;
/// Messages of a throughput run on the broker in the subject's process, which takes
/// them some fifty times as fast: enough for a run of a few hundred milliseconds.
const MEMORY_COUNT: usize = 200_000;
/// The handlers' time when the stop is measured, and messages enough to keep them busy.
const STOP_OPERATION: Duration = Duration::from_millis(500);
const STOP_WAITING: usize = 200;
/// The steady flow of the upgrade measure, and its handlers' time.
const RATE: u32 = 20;
const OPERATION: Duration = Duration::from_secs(1);
/// Twice the work in flight (`RATE` × `OPERATION`): in the steady state no message waits.
const FLOW_HANDLERS: u16 = 40;
/// Before the first trigger, and after each window.
const WARM_UP: Duration = Duration::from_millis(500);
const STEADY: Duration = Duration::from_millis(1500);
/// A trigger's window goes on this long after the new process is in service.
const AFTER: Duration = Duration::from_secs(1);

pub(crate) fn all() {
    become_subreaper();
    let runs = support::runs(3);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let sources: Vec<Source> = ALL
        .into_iter()
        .filter(|s| selected_source(s.name))
        .filter(|s| s.available())
        .collect();
    let part = |name: &str| named(&PARTS).is_empty() || named(&PARTS).contains(&name);
    if part("throughput") {
        throughput(&runtime, &sources, runs);
    }
    // A stop or an upgrade needs messages that outlive the process.
    let lasting: Vec<Source> = sources.into_iter().filter(|s| !s.in_process()).collect();
    if part("stop") {
        stop(&runtime, &lasting, runs);
    }
    if part("upgrade") {
        upgrade(&runtime, &lasting, runs);
    }
}

const PARTS: [&str; 3] = ["throughput", "stop", "upgrade"];

/// Which of `names` the arguments name: `-- nats`, `-- throughput redis nats`.
fn named<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    names
        .iter()
        .copied()
        .filter(|name| args.iter().any(|a| a == name))
        .collect()
}

/// A source is measured unless the arguments name others.
fn selected_source(name: &str) -> bool {
    let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
    let named = named(&names);
    named.is_empty() || named.contains(&name)
}

/// A queue name of the run's own.
fn queue_name(what: &str, source: Source, run: usize) -> String {
    format!(
        "bench_consume_{}_{what}_{}_{run}",
        std::process::id(),
        source.name
    )
}

/// The subject's settings on `queue`, with `handlers` at once.
fn envs(
    queue: &str,
    url: &str,
    handlers: u16,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut envs = vec![
        ("BENCH_QUEUE_URL", url.to_owned()),
        ("BENCH_QUEUE_NAME", queue.to_owned()),
        ("BENCH_HANDLERS", handlers.to_string()),
    ];
    envs.extend(extra.iter().cloned());
    envs
}

/// The settings of a subject whose handlers work `operation` each and write their trace
/// to `trace`.
fn traced_envs(
    queue: &str,
    url: &str,
    handlers: u16,
    operation: Duration,
    trace: &std::path::Path,
) -> Vec<(&'static str, String)> {
    envs(
        queue,
        url,
        handlers,
        &[
            ("BENCH_OPERATION_MS", operation.as_millis().to_string()),
            ("BENCH_TRACE", trace.display().to_string()),
        ],
    )
}

fn borrowed<'a>(envs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Messages a second with instant handlers, the runner and the loop by hand in turns; on
/// RabbitMQ also the loop by hand that confirms its acknowledgements as the runner does.
fn throughput(runtime: &tokio::runtime::Runtime, sources: &[Source], runs: usize) {
    let mut table = Table::new([
        "source",
        "graceful's runner",
        "loop by hand",
        "ratio",
        "rounds' ratios",
        "target",
        "met",
        "CPU a message: runner",
        "by hand",
    ]);
    let mut confirmed = Table::new([
        "source",
        "graceful's runner",
        "loop by hand, acknowledgements confirmed",
        "ratio",
        "rounds' ratios",
        "CPU a message: runner",
        "by hand, confirmed",
    ]);
    let mut any_confirmed = false;
    for &source in sources {
        let mut rates: BTreeMap<&str, Samples> = BTreeMap::new();
        let mut cpu: BTreeMap<&str, Samples> = BTreeMap::new();
        // The runner's rate over each loop by hand's, round by round: the modes of a round
        // run one after the other, on a machine (and a broker) in the same state.
        let mut ratios: BTreeMap<&str, Samples> = BTreeMap::new();
        let modes: &[&str] = if source.name == "amqp" {
            &["runner", "by-hand", "by-hand-confirmed"]
        } else {
            &["runner", "by-hand"]
        };
        for run in 0..runs {
            // Each round begins with the next mode, so that none always runs first (after
            // the broker deleted the last round's queue) or last.
            let order = modes
                .iter()
                .cycle()
                .skip(run % modes.len())
                .take(modes.len());
            let mut round: BTreeMap<&str, f64> = BTreeMap::new();
            for &mode in order {
                let queue = queue_name(&format!("tp_{}", mode.replace('-', "")), source, run);
                let url = source.url(&queue);
                let count = if source.in_process() {
                    MEMORY_COUNT
                } else {
                    COUNT
                };
                runtime.block_on(source.fill(&queue, 0, count));
                let envs = envs(
                    &queue,
                    &url,
                    HANDLERS,
                    &[
                        ("BENCH_MODE", mode.to_owned()),
                        ("BENCH_COUNT", count.to_string()),
                    ],
                );
                let subject = Subject::start(BIN, &[], &borrowed(&envs))
                    .named(format!("bench-consume ({mode} on {})", source.name));
                // `consumed <n> in <ns> cpu <ns or ->`
                let line = subject.wait_for_line("consumed ", PATIENCE);
                let words: Vec<&str> = line.split(' ').collect();
                let ns: f64 = words
                    .get(3)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| fail(&format!("no time in {line:?}")));
                if let Some(used) = words.get(5).and_then(|n| n.parse::<f64>().ok()) {
                    cpu.entry(mode).or_default().push(used / count as f64);
                }
                match subject.ended(PATIENCE) {
                    Ended::Exited { status, .. } if status.success() => {}
                    other => fail(&format!("{} {mode} on {}: {other:?}", BIN, source.name)),
                }
                let rate = count as f64 / (ns / 1e9);
                rates.entry(mode).or_default().push(rate);
                round.insert(mode, rate);
                runtime.block_on(source.delete(&queue));
            }
            for (&mode, &rate) in &round {
                if mode != "runner" {
                    ratios.entry(mode).or_default().push(round["runner"] / rate);
                }
            }
        }
        let runner = rates["runner"].median();
        let by_hand = rates["by-hand"].median();
        let against = |mode: &str| ratios[mode].median();
        let range = |mode: &str| format!("{:.2}–{:.2}×", ratios[mode].min(), ratios[mode].max());
        let cpu_of = |mode: &str| cpu.get(mode).map_or("-".to_owned(), |s| micros(s.median()));
        table.row([
            source.name.to_owned(),
            format!("{runner:.0}/s"),
            format!("{by_hand:.0}/s"),
            format!("{:.2}×", against("by-hand")),
            range("by-hand"),
            // No broker: what the runner costs beside a loop that does nothing else, a
            // figure to watch, not a target (a handler that works, or a broker, dwarfs it).
            if source.in_process() {
                "–"
            } else {
                "≥ 0.95×"
            }
            .to_owned(),
            if source.in_process() {
                "–"
            } else if against("by-hand") >= 0.95 {
                "yes"
            } else {
                "**no**"
            }
            .to_owned(),
            cpu_of("runner"),
            cpu_of("by-hand"),
        ]);
        if let Some(by_hand_confirmed) = rates.get("by-hand-confirmed") {
            let by_hand_confirmed = by_hand_confirmed.median();
            any_confirmed = true;
            confirmed.row([
                source.name.to_owned(),
                format!("{runner:.0}/s"),
                format!("{by_hand_confirmed:.0}/s"),
                format!("{:.2}×", against("by-hand-confirmed")),
                range("by-hand-confirmed"),
                cpu_of("runner"),
                cpu_of("by-hand-confirmed"),
            ]);
        }
    }
    println!(
        "\n## Throughput: {COUNT} messages waiting, {HANDLERS} handlers that return at once (median of {runs})\n"
    );
    table.print();
    if sources.iter().any(|s| s.in_process()) {
        println!(
            "\nmemory: no broker, {MEMORY_COUNT} messages made in the subject's process, at most \
             {HANDLERS} unacknowledged (a prefetch), the next one delivered as an acknowledgement \
             comes back: the runner's own cost a message, without a broker's."
        );
    }
    println!(
        "\nratio: the median over the rounds of the runner's rate over the loop's, in one round \
         (each mode once, one after the other, the first a different one each round); rounds' \
         ratios: the lowest and the highest."
    );
    println!(
        "\nCPU a message: the CPU time every thread of the consuming process used from the first \
         handler's start to the last acknowledgement, over the messages (Linux; the broker's not counted)."
    );
    if any_confirmed {
        println!(
            "\nAMQP 0-9-1 answers no acknowledgement: the runner's source learns that the broker has one, \
             before `on_acked`, from a later delivery or a `basic.qos` round trip after it. \
             The loop by hand that learns it from such round trips (shared by those sent meanwhile; \
             median of {runs}, the same runs):\n"
        );
        confirmed.print();
    }
}

/// Nanoseconds as microseconds: `7.4 µs`.
fn micros(ns: f64) -> String {
    format!("{:.1} µs", ns / 1e3)
}

/// One trace line: what, the message's payload, when.
struct Traced {
    what: String,
    payload: u64,
    at_ns: u64,
}

fn read_trace(path: &std::path::Path) -> Vec<Traced> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split(' ');
            Some(Traced {
                what: words.next()?.to_owned(),
                payload: words.next()?.parse().ok()?,
                at_ns: words.next()?.parse().ok()?,
            })
        })
        .collect()
}

fn trace_path(queue: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{queue}.trace"))
}

/// SIGTERM with every handler busy: the exit after the last handler's end.
fn stop(runtime: &tokio::runtime::Runtime, sources: &[Source], runs: usize) {
    let mut table = Table::new(["source", "exit after the last handler ended", "slowest"]);
    for &source in sources {
        let mut after = Samples::new();
        for run in 0..runs {
            let queue = queue_name("stop", source, run);
            let url = source.url(&queue);
            let trace = trace_path(&queue);
            let _ = std::fs::remove_file(&trace);
            runtime.block_on(source.fill(&queue, 0, STOP_WAITING));
            let envs = traced_envs(&queue, &url, HANDLERS, STOP_OPERATION, &trace);
            let subject = Subject::start(BIN, &[], &borrowed(&envs));
            // Mid-way through a round of handlers.
            thread::sleep(STOP_OPERATION * 2 + STOP_OPERATION / 2);
            let sent = subject.terminate();
            let exited = match subject.ended(PATIENCE) {
                Ended::Exited { at_ns, status } if status.success() => at_ns,
                other => fail(&format!(
                    "{} after SIGTERM on {}: {other:?}",
                    BIN, source.name
                )),
            };
            let last_end = read_trace(&trace)
                .iter()
                .filter(|t| t.what == "ended")
                .map(|t| t.at_ns)
                .max()
                .unwrap_or(sent);
            after.push((exited.saturating_sub(last_end.max(sent))) as f64 / 1e9);
            let _ = std::fs::remove_file(&trace);
            runtime.block_on(source.delete(&queue));
        }
        table.row([
            source.name.to_owned(),
            secs(after.median()),
            secs(after.max()),
        ]);
    }
    println!(
        "\n## Stop: SIGTERM with {HANDLERS} handlers of {STOP_OPERATION:?} busy (median of {runs})\n"
    );
    table.print();
}

/// What the upgrade measure found in one mode.
#[derive(Default)]
struct Pauses {
    pause: Samples,
    steady: f64,
    messages: usize,
}

/// Upgrades in place against restarts under a steady flow.
fn upgrade(runtime: &tokio::runtime::Runtime, sources: &[Source], runs: usize) {
    let mut table = Table::new([
        "source",
        "upgrade: longest wait",
        "restart: longest wait",
        "steady state",
        "messages, each once",
        "target (upgrade)",
        "met",
    ]);
    for &source in sources {
        let [up, re] =
            [Mode::Upgrade, Mode::Restart].map(|mode| pauses(runtime, source, mode, runs));
        table.row([
            source.name.to_owned(),
            secs(up.pause.median()),
            secs(re.pause.median()),
            secs(up.steady.max(re.steady)),
            format!("{} + {}", up.messages, re.messages),
            "≤ 0.5 s".to_owned(),
            if up.pause.max() <= 0.5 {
                "yes"
            } else {
                "**no**"
            }
            .to_owned(),
        ]);
    }
    println!(
        "\n## Upgrade in place against restart: {RATE} messages/s, {FLOW_HANDLERS} handlers of {OPERATION:?}, {runs} triggers each (median)\n"
    );
    table.print();
}

fn pauses(runtime: &tokio::runtime::Runtime, source: Source, mode: Mode, runs: usize) -> Pauses {
    let queue = queue_name(mode.name(), source, 0);
    let url = source.url(&queue);
    let trace = trace_path(&queue);
    let _ = std::fs::remove_file(&trace);
    // The queue exists before the first process consumes.
    runtime.block_on(source.fill(&queue, 0, 0));
    let published = Arc::new(Mutex::new(Vec::<u64>::new()));
    let flowing = Arc::new(AtomicBool::new(true));
    let flow = {
        let (published, flowing, queue) = (published.clone(), flowing.clone(), queue.clone());
        let handle = runtime.handle().clone();
        thread::spawn(move || {
            handle.block_on(async {
                let publisher = source.publisher(&queue).await;
                let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE);
                let mut n = 0u64;
                while flowing.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if let Err(e) = publisher.publish_one(n.to_string().as_bytes()).await {
                        fail(&format!("publishing on {}: {e:#?}", source.name));
                    }
                    published.lock().unwrap().push(clock::now_ns());
                    n += 1;
                }
            });
        })
    };
    let envs = traced_envs(&queue, &url, FLOW_HANDLERS, OPERATION, &trace);
    let mut service = Service::start(mode, BIN, envs);
    let began = clock::now_ns();
    thread::sleep(WARM_UP + STEADY);
    let mut windows = Vec::new();
    for _ in 0..runs {
        let at = clock::now_ns();
        service.replace();
        let settled = std::time::Instant::now() + AFTER;
        windows.push((at, clock::now_ns() + AFTER.as_nanos() as u64));
        until(settled + STEADY);
    }
    flowing.store(false, Ordering::Relaxed);
    flow.join().expect("the flow does not panic");
    let published = published.lock().unwrap().clone();
    // Everything published is acknowledged before the last process stops.
    let deadline = std::time::Instant::now() + PATIENCE;
    let traced = loop {
        let traced = read_trace(&trace);
        let acked = traced.iter().filter(|t| t.what == "acked").count();
        if acked >= published.len() || std::time::Instant::now() > deadline {
            break traced;
        }
        thread::sleep(Duration::from_millis(100));
    };
    service.stop();
    let mut acks: BTreeMap<u64, usize> = BTreeMap::new();
    let mut taken: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &traced {
        match t.what.as_str() {
            "acked" => *acks.entry(t.payload).or_default() += 1,
            "took" => {
                taken.entry(t.payload).or_insert(t.at_ns);
            }
            _ => {}
        }
    }
    for n in 0..published.len() as u64 {
        match acks.get(&n) {
            Some(1) => {}
            other => fail(&format!(
                "{} {}: message {n} acknowledged {} times",
                source.name,
                mode.name(),
                other.copied().unwrap_or(0)
            )),
        }
    }
    let wait = |n: u64| taken[&n].saturating_sub(published[n as usize]) as f64 / 1e9;
    let in_window = |n: u64, (at, end): (u64, u64)| taken[&n] >= at && published[n as usize] <= end;
    let mut figures = Pauses {
        messages: published.len(),
        ..Pauses::default()
    };
    for &window in &windows {
        let longest = (0..published.len() as u64)
            .filter(|&n| in_window(n, window))
            .map(wait)
            .fold(0.0, f64::max);
        figures.pause.push(longest);
    }
    let warmed = began + WARM_UP.as_nanos() as u64;
    figures.steady = (0..published.len() as u64)
        .filter(|&n| published[n as usize] >= warmed)
        .filter(|&n| !windows.iter().any(|&w| in_window(n, w)))
        .map(wait)
        .fold(0.0, f64::max);
    let _ = std::fs::remove_file(&trace);
    runtime.block_on(source.delete(&queue));
    figures
}
