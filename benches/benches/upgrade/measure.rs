//! The two halves of the benchmark, each through N upgrades and N restarts, and the table.

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use graceful_process_tests::upgrade::become_subreaper;
use support::stats::{ratio, secs, Samples};
use support::table::Table;

use super::broker::{Broker, Message};
use super::traffic::{Request, Traffic};
use crate::replace::{until, Mode, Service, PATIENCE};
use crate::support;

const HTTP: &str = env!("CARGO_BIN_EXE_bench-upgrade-http");
const QUEUE: &str = env!("CARGO_BIN_EXE_bench-upgrade-queue");
const CTL: &str = env!("CARGO_BIN_EXE_bench-ctl");

/// Load before the first trigger, unmeasured.
const WARM_UP: Duration = Duration::from_millis(500);
/// Steady state before the first trigger, and after each window before the next trigger.
const STEADY: Duration = Duration::from_millis(1500);
/// A trigger's window goes on this long after the new process serves (or, for the queue,
/// after the later of its `ready` and the old one's exit).
const AFTER: Duration = Duration::from_secs(1);

/// The queue: messages enqueued a second, workers, and one operation's time.
const RATE: u32 = 20;
const WORKERS: usize = 32;
const OPERATION: Duration = Duration::from_secs(1);

/// One trigger: when the signal went, the process it went to, the new one, and when its
/// window ends.
struct Trigger {
    at: Instant,
    old: u32,
    new: u32,
    settled: Instant,
}

/// What the HTTP half measured in one mode.
#[derive(Default)]
struct Http {
    failed: Vec<usize>,
    failed_outside: usize,
    steady_p99: f64,
    window_p99: Samples,
    serving_after: Samples,
    answered: usize,
}

/// What the queue half measured in one mode.
#[derive(Default)]
struct Queue {
    steady_pause: f64,
    pause: Samples,
    messages: usize,
}

pub(crate) fn all() {
    let runs = support::runs(5);
    become_subreaper();
    let http = support::selected("http");
    let queue = support::selected("queue");
    println!(
        "{runs} upgrades, then {runs} restarts, per half; HTTP: 3 clients with a connection per request, 3 kept alive, {} between requests; queue: {RATE} messages/s, {WORKERS} workers, operations of {}",
        secs(super::traffic::PACE.as_secs_f64()),
        secs(OPERATION.as_secs_f64()),
    );
    let modes = [Mode::Upgrade, Mode::Restart];
    let http: Option<[Http; 2]> = http.then(|| modes.map(|mode| http_half(mode, runs)));
    let queue: Option<[Queue; 2]> = queue.then(|| modes.map(|mode| queue_half(mode, runs)));
    let ctl = support::selected("ctl").then(|| ctl_upgrades(runs));
    table(http.as_ref(), queue.as_ref(), ctl.as_ref());
}

/// `graceful-ctl upgrade <PID>` on the HTTP subject, `runs` times, without load: the time
/// from the call to its answer (the new process serves), each.
fn ctl_upgrades(runs: usize) -> Samples {
    let mut service = Service::start(
        Mode::Upgrade,
        HTTP,
        vec![("BENCH_LISTEN", "127.0.0.1:0".to_owned())],
    );
    service.lines().wait_for_line("address ", PATIENCE);
    let mut took = Samples::default();
    for _ in 0..runs {
        let old = service.current();
        service.deploy();
        let called = Instant::now();
        let out = std::process::Command::new(CTL)
            .args(["upgrade", &old.to_string()])
            .output()
            .unwrap_or_else(|e| support::fail(&format!("graceful-ctl: {e}")));
        took.push_duration(called.elapsed());
        let answer = String::from_utf8_lossy(&out.stdout);
        let new: u32 = match (out.status.code(), answer.trim().parse()) {
            (Some(0), Ok(new)) => new,
            _ => support::fail(&format!(
                "graceful-ctl upgrade {old}: {:?}, {answer:?}, {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )),
        };
        service.handed_over(old, new);
    }
    service.stop();
    took
}

/// After the warm-up and a steady state, `runs` triggers, each followed by [`AFTER`]
/// and a steady state. A trigger's window ends [`AFTER`] the new process said `ready`
/// and the old one exited; the HTTP half ends it sooner, at its first answer.
fn go_through(service: &mut Service, runs: usize) -> Vec<Trigger> {
    thread::sleep(WARM_UP + STEADY);
    let mut triggers = Vec::new();
    for _ in 0..runs {
        let old = service.current();
        let (at, new) = service.replace();
        let settled = Instant::now() + AFTER;
        triggers.push(Trigger {
            at,
            old,
            new,
            settled,
        });
        until(settled + STEADY);
    }
    triggers
}

/// The HTTP half in one mode.
fn http_half(mode: Mode, runs: usize) -> Http {
    // A fixed port, free now: a restart binds it again, an upgrade hands it over.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| support::fail(&format!("no free port: {e}")))
        .port();
    let mut service = Service::start(
        mode,
        HTTP,
        vec![("BENCH_LISTEN", format!("127.0.0.1:{port}"))],
    );
    let line = service.lines().wait_for_line("address ", PATIENCE);
    let addr: SocketAddr = line["address ".len()..]
        .parse()
        .unwrap_or_else(|_| support::fail(&format!("no address in {line:?}")));
    let traffic = Traffic::start(addr, 3, 3);
    let began = Instant::now();
    let mut triggers = go_through(&mut service, runs);
    let requests = traffic.stop();
    service.stop();
    let mut figures = Http {
        answered: requests.iter().filter(|r| r.outcome.is_ok()).count(),
        ..Http::default()
    };
    for trigger in &mut triggers {
        let serving = requests
            .iter()
            .filter(|r| {
                r.sent >= trigger.at && r.outcome.as_ref().is_ok_and(|pid| *pid == trigger.new)
            })
            .map(Request::done)
            .min()
            .unwrap_or_else(|| support::fail(&format!("pid {} never answered", trigger.new)));
        figures.serving_after.push_duration(serving - trigger.at);
        trigger.settled = serving + AFTER;
        let window: Vec<&Request> = requests
            .iter()
            .filter(|r| r.sent >= trigger.at && r.sent <= trigger.settled)
            .collect();
        figures
            .failed
            .push(window.iter().filter(|r| r.outcome.is_err()).count());
        figures.window_p99.push(p99(window.iter().copied()));
        let strays = window
            .iter()
            .filter(|r| matches!(r.outcome, Ok(pid) if pid != trigger.old && pid != trigger.new))
            .count();
        if strays > 0 {
            support::fail(&format!(
                "{strays} answers from neither {} nor {}",
                trigger.old, trigger.new
            ));
        }
    }
    let in_window = |r: &Request| {
        triggers
            .iter()
            .any(|t| r.sent >= t.at && r.sent <= t.settled)
    };
    let outside: Vec<&Request> = requests
        .iter()
        .filter(|r| r.sent >= began + WARM_UP && !in_window(r))
        .collect();
    figures.failed_outside = requests
        .iter()
        .filter(|r| r.outcome.is_err() && !in_window(r))
        .count();
    figures.steady_p99 = p99(outside.into_iter());
    for (i, (trigger, failed)) in triggers.iter().zip(&figures.failed).enumerate() {
        if let Some(first) = requests
            .iter()
            .find(|r| r.sent >= trigger.at && r.sent <= trigger.settled && r.outcome.is_err())
        {
            println!(
                "http {} {}: pid {} -> {}: {failed} failed, the first: {}",
                mode.name(),
                i + 1,
                trigger.old,
                trigger.new,
                first.outcome.as_ref().unwrap_err()
            );
        }
    }
    figures
}

/// The 99th percentile of the answered requests' latencies, in seconds.
fn p99<'a>(requests: impl Iterator<Item = &'a Request>) -> f64 {
    let mut took: Vec<f64> = requests
        .filter(|r| r.outcome.is_ok())
        .map(|r| r.took.as_secs_f64())
        .collect();
    if took.is_empty() {
        support::fail("no request was answered");
    }
    took.sort_by(f64::total_cmp);
    took[(took.len() * 99 / 100).min(took.len() - 1)]
}

/// The queue half in one mode.
fn queue_half(mode: Mode, runs: usize) -> Queue {
    let broker = Broker::start(RATE);
    let mut service = Service::start(
        mode,
        QUEUE,
        vec![
            ("BENCH_BROKER", broker.addr().to_string()),
            ("BENCH_WORKERS", WORKERS.to_string()),
            ("BENCH_OPERATION_MS", OPERATION.as_millis().to_string()),
        ],
    );
    let began = Instant::now();
    let triggers = go_through(&mut service, runs);
    let messages = broker.finish(PATIENCE);
    service.stop();
    let waited = |m: &Message| m.waited().expect("every message was taken").as_secs_f64();
    let mut figures = Queue {
        messages: messages.len(),
        ..Queue::default()
    };
    for trigger in &triggers {
        let longest = messages
            .iter()
            .filter(|m| m.taken[0] >= trigger.at && m.enqueued <= trigger.settled)
            .map(waited)
            .fold(0.0, f64::max);
        figures.pause.push(longest);
    }
    figures.steady_pause = messages
        .iter()
        .filter(|m| m.enqueued >= began + WARM_UP)
        .filter(|m| {
            !triggers
                .iter()
                .any(|t| m.taken[0] >= t.at && m.enqueued <= t.settled)
        })
        .map(waited)
        .fold(0.0, f64::max);
    figures
}

/// The table: upgrade against restart, with the targets.
fn table(http: Option<&[Http; 2]>, queue: Option<&[Queue; 2]>, ctl: Option<&Samples>) {
    let mut table = Table::new([
        "measure",
        "upgrade (SIGHUP)",
        "restart (SIGTERM, exit, start)",
        "target (upgrade)",
        "met",
    ]);
    let met = |ok: bool| if ok { "yes" } else { "**no**" }.to_owned();
    if let Some([up, re]) = http {
        let failed = |h: &Http| {
            let total: usize = h.failed.iter().sum::<usize>() + h.failed_outside;
            let each: Vec<String> = h.failed.iter().map(usize::to_string).collect();
            format!(
                "{total} of {} (per trigger: {})",
                total + h.answered,
                each.join(", ")
            )
        };
        table.row([
            "HTTP: failed requests, total (per trigger)".to_owned(),
            failed(up),
            failed(re),
            "0".to_owned(),
            met(up.failed.iter().sum::<usize>() + up.failed_outside == 0),
        ]);
        table.row([
            "HTTP: p99 latency, steady state".to_owned(),
            secs(up.steady_p99),
            secs(re.steady_p99),
            "–".to_owned(),
            "–".to_owned(),
        ]);
        let window = |h: &Http| {
            format!(
                "{} ({}) ({}–{})",
                secs(h.window_p99.median()),
                ratio(h.window_p99.median(), h.steady_p99),
                secs(h.window_p99.min()),
                secs(h.window_p99.max())
            )
        };
        table.row([
            "HTTP: p99 latency from the trigger to 1 s after the new process serves (median, × steady, min–max)".to_owned(),
            window(up),
            window(re),
            "≤ 2× steady".to_owned(),
            met(up.window_p99.median() <= 2.0 * up.steady_p99),
        ]);
        table.row([
            "HTTP: trigger to the new process's first answer (median, min–max)".to_owned(),
            spread(&up.serving_after),
            spread(&re.serving_after),
            "–".to_owned(),
            "–".to_owned(),
        ]);
    }
    if let Some([up, re]) = queue {
        table.row([
            "queue: longest wait of a message, steady state".to_owned(),
            secs(up.steady_pause),
            secs(re.steady_pause),
            "–".to_owned(),
            "–".to_owned(),
        ]);
        let pause = |q: &Queue| format!("{} (max {})", secs(q.pause.median()), secs(q.pause.max()));
        table.row([
            "queue: longest wait of a message around a trigger (median, max)".to_owned(),
            pause(up),
            pause(re),
            "≤ 500 ms".to_owned(),
            met(up.pause.max() <= 0.5),
        ]);
        table.row([
            "queue: messages, each taken and acknowledged exactly once".to_owned(),
            up.messages.to_string(),
            re.messages.to_string(),
            "all".to_owned(),
            "yes".to_owned(),
        ]);
    }
    if let Some(took) = ctl {
        table.row([
            "`graceful-ctl upgrade`: call to answer, the new process serving (median, min–max; \
             includes the second of probation)"
                .to_owned(),
            spread(took),
            "–".to_owned(),
            "–".to_owned(),
            "–".to_owned(),
        ]);
    }
    table.print();
}

/// `median (min–max)`, in seconds.
fn spread(samples: &Samples) -> String {
    format!(
        "{} ({}–{})",
        secs(samples.median()),
        secs(samples.min()),
        secs(samples.max())
    )
}
