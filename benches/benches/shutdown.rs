//! How fast and how surely a service stops: graceful against the same service written by
//! hand on tokio (`CancellationToken`, `TaskTracker`, `tokio::signal`, `biased` selects)
//! and with tokio-graceful-shutdown, each a program of its own (`src/bin/`)
//! that this benchmark starts, signals with `SIGTERM` and watches exit.
//!
//! Every run starts a fresh process and waits for its `ready` line (printed once its
//! handlers are in place and its work is running), lets it settle for
//! [`SETTLE`], then sends the signal. Times are read on `CLOCK_MONOTONIC`, just before
//! `kill(2)` and as soon as `waitpid(2)` returns. The competitors take turns run by run
//! (round-robin, each round starting one further along), so that machine noise falls on
//! all alike. Every figure is a median over the runs, with min and max; ratios are to the
//! hand-written tokio program of the same run. A subject that misbehaves (no `ready`, a
//! wrong exit status, work dropped or taken after the signal) stops the benchmark with a
//! message; a figure that misses its target never does.
//!
//! | measure | what is timed | runs | target (graceful) |
//! |---|---|---|---|
//! | `idle` | `SIGTERM` to exit of an idle service | 61 | ≤ 1.10× tokio |
//! | `tasks` | `SIGTERM` to exit with 100,000 tracked tasks waiting for the shutdown | 21 | ≤ 1.25× tokio |
//! | `scenario` | the queue scenario (20 msg/s, 3 s operations, 20 workers): `SIGTERM` to exit minus the longest remaining time of the operations in flight at the signal | 5 | ≤ 5 ms, median |
//! | `deadline` | a 1 s deadline with a hook and a blocking thread that never return: `SIGTERM` to exit minus the deadline; exit code 124 | 5 | ≤ +20 ms |
//!
//! In the scenario each subject prints every operation's start and end on the shared
//! clock; the signal falls at a random point 4 to 7 s after `ready`. An operation started
//! before the signal must end, 3 s after its start; one started after it must not exist
//! (one started within [`NOTICE`] of the signal, before the subject could know of it, is
//! counted and shown; later, the subject is wrong and the benchmark stops).
//!
//! With many tasks, tokio-graceful-shutdown is used as its documentation advises (a
//! subsystem each is "quite heavy"): one subsystem spawns them on a `TaskTracker`, each
//! with a token from `create_cancellation_token()`, and waits for them.
//!
//! For the deadline, the hand-written tokio program is shown twice: as it reads naturally
//! (`tokio::time::timeout`, then `main` returns, and dropping the runtime waits for the
//! blocking thread: it is killed after the deadline plus [`HANG_PATIENCE`]) and with the
//! `std::process::exit` it needs. tokio-graceful-shutdown is shown as it behaves.
//!
//! `cargo bench --bench shutdown` runs them all (about four minutes on 2 cores);
//! `cargo bench --bench shutdown -- scenario` runs one; `GRACEFUL_BENCH_RUNS=n` sets the
//! runs of every measure (`1` for a quick check that everything works).

use graceful_benches as support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::stats::{ratio, secs, Samples};
use support::subject::{Ended, Subject, SETTLE};
use support::table::Table;
use support::{clock, fail, heading, runs, selected};
// One operation of the queue scenario.
use support::service::OP;

/// How long a subject that should exit promptly may take after the signal.
const PATIENCE: Duration = Duration::from_secs(30);

/// The signal falls this long after `ready`, plus up to [`SIGNAL_SPREAD`].
const SIGNAL_AFTER: Duration = Duration::from_secs(4);
const SIGNAL_SPREAD: Duration = Duration::from_secs(3);

/// How long after the signal a subject may still take a message it could not yet know
/// it should leave: the signal's delivery to the subject's loop.
const NOTICE: Duration = Duration::from_millis(10);

/// The deadline of the deadline measure.
const DEADLINE: Duration = Duration::from_secs(1);

/// How long after the deadline a subject that should have exited is waited for.
const HANG_PATIENCE: Duration = Duration::from_secs(3);

fn main() {
    heading("Shutdown: how fast and how surely a service stops");
    if selected("idle") {
        exit_times(
            "Idle service: SIGTERM to exit",
            &trio("idle"),
            runs(61),
            1.10,
        );
    }
    if selected("tasks") {
        exit_times(
            "100,000 tracked tasks waiting for the shutdown: SIGTERM to exit",
            &trio("tasks"),
            runs(21),
            1.25,
        );
    }
    if selected("scenario") {
        scenario(runs(5));
    }
    if selected("deadline") {
        deadline(runs(5));
    }
}

/// One program doing the measured work, as one library's users would write it.
struct Competitor {
    label: &'static str,
    bin: &'static str,
    args: Vec<String>,
    envs: Vec<(&'static str, String)>,
}

impl Competitor {
    fn new(label: &'static str, bin: &'static str) -> Self {
        Competitor {
            label,
            bin,
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    fn start(&self) -> Subject {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = self.envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Subject::start(self.bin, &args, &envs)
    }
}

const GRACEFUL: &str = "graceful";
const TOKIO: &str = "hand-written tokio";
const TGS: &str = "tokio-graceful-shutdown";

/// The three versions of the service `kind` (`bench-<kind>-{graceful,tokio,tgs}`), in
/// the order graceful, tokio, tokio-graceful-shutdown.
fn trio(kind: &str) -> Vec<Competitor> {
    let bins = match kind {
        "idle" => [
            env!("CARGO_BIN_EXE_bench-idle-graceful"),
            env!("CARGO_BIN_EXE_bench-idle-tokio"),
            env!("CARGO_BIN_EXE_bench-idle-tgs"),
        ],
        "tasks" => [
            env!("CARGO_BIN_EXE_bench-tasks-graceful"),
            env!("CARGO_BIN_EXE_bench-tasks-tokio"),
            env!("CARGO_BIN_EXE_bench-tasks-tgs"),
        ],
        "scenario" => [
            env!("CARGO_BIN_EXE_bench-scenario-graceful"),
            env!("CARGO_BIN_EXE_bench-scenario-tokio"),
            env!("CARGO_BIN_EXE_bench-scenario-tgs"),
        ],
        other => unreachable!("no subjects for {other:?}"),
    };
    [GRACEFUL, TOKIO, TGS]
        .into_iter()
        .zip(bins)
        .map(|(label, bin)| Competitor::new(label, bin))
        .collect()
}

/// Runs `measure` `runs` times on every competitor, taking turns: round `r` starts with
/// competitor `r mod n`. The results come back per competitor, in their order.
fn interleaved<T>(
    competitors: &[Competitor],
    runs: usize,
    mut measure: impl FnMut(&Competitor) -> T,
) -> Vec<Vec<T>> {
    let n = competitors.len();
    let mut results: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(runs)).collect();
    for round in 0..runs {
        for k in 0..n {
            let i = (round + k) % n;
            results[i].push(measure(&competitors[i]));
        }
    }
    results
}

/// Prints a measure's heading and how it was run.
fn section(title: &str, how: &str) {
    println!("\n## {title}\n");
    println!("{how}");
}

/// `yes` or `no`, for the table.
fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "no"
    }
}

/// The median of `samples` against the hand-written tokio program's, for the table.
fn vs_tokio(samples: &Samples, tokio: &Samples) -> String {
    ratio(samples.median(), tokio.median())
}

// ---- idle, tasks: SIGTERM to exit, against hand-written tokio ----

/// Times `SIGTERM` to exit of each competitor (graceful, tokio, tgs), and holds
/// graceful to `target` times the hand-written tokio program.
fn exit_times(title: &str, competitors: &[Competitor], runs: usize, target: f64) {
    section(
        title,
        &format!(
            "{runs} runs each, interleaved; settle {SETTLE:?} after `ready`, then SIGTERM; \
             every exit must be 0."
        ),
    );
    let results = interleaved(competitors, runs, |c| {
        let subject = c.start();
        std::thread::sleep(SETTLE);
        subject.terminate_and_time(PATIENCE)
    });
    let samples: Vec<Samples> = results.into_iter().map(to_samples).collect();
    let (graceful, tokio) = (&samples[0], &samples[1]);
    let mut table = Table::new([
        "competitor",
        "median",
        "min",
        "max",
        "vs tokio",
        "target",
        "met?",
    ]);
    for (c, s) in competitors.iter().zip(&samples) {
        let (target_cell, met_cell) = if c.label == GRACEFUL {
            (
                format!("≤ {target:.2}× tokio"),
                met(s.median() <= target * tokio.median()).to_owned(),
            )
        } else {
            ("–".to_owned(), "–".to_owned())
        };
        table.row([
            c.label.to_owned(),
            secs(s.median()),
            secs(s.min()),
            secs(s.max()),
            vs_tokio(s, tokio),
            target_cell,
            met_cell,
        ]);
    }
    table.print();
    println!(
        "graceful exits {} after SIGTERM, {} the hand-written tokio program's {}.",
        secs(graceful.median()),
        ratio(graceful.median(), tokio.median()),
        secs(tokio.median()),
    );
}

fn to_samples(values: Vec<f64>) -> Samples {
    let mut samples = Samples::new();
    for v in values {
        samples.push(v);
    }
    samples
}

// ---- The queue scenario ----

/// A small xorshift generator, seeded from the clock: where each signal falls.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        Rng(clock::now_ns() | 1)
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One run of the scenario, in seconds.
struct ScenarioRun {
    /// `SIGTERM` to exit.
    shutdown: f64,
    /// The longest remaining time of the operations in flight at the signal.
    bound: f64,
    /// Operations running at the signal.
    in_flight: usize,
    /// Operations started after the signal, within [`NOTICE`].
    late: usize,
}

impl ScenarioRun {
    fn overhead(&self) -> f64 {
        self.shutdown - self.bound
    }
}

fn scenario(runs: usize) {
    section(
        "The queue scenario: shutdown time minus the physical lower bound",
        &format!(
            "20 msg/s on an in-memory queue, 20 workers, 3 s per operation. {runs} runs each, \
             interleaved; SIGTERM at a random point {}-{} s after `ready`. Lower bound: the \
             longest remaining time of the operations in flight at the signal. Every \
             operation started must end, none may start after the signal, every exit must be 0.",
            SIGNAL_AFTER.as_secs(),
            (SIGNAL_AFTER + SIGNAL_SPREAD).as_secs(),
        ),
    );
    let competitors = trio("scenario");
    let mut rng = Rng::from_clock();
    let results = interleaved(&competitors, runs, |c| {
        let wait = SIGNAL_AFTER + SIGNAL_SPREAD.mul_f64(rng.unit());
        scenario_run(c, wait)
    });

    let mut table = Table::new([
        "competitor",
        "overhead (median)",
        "min",
        "max",
        "lower bound (median)",
        "SIGTERM to exit (median)",
        "ops in flight",
        "ops taken after SIGTERM",
        "vs tokio",
        "target",
        "met?",
    ]);
    let overheads: Vec<Samples> = results
        .iter()
        .map(|rs| to_samples(rs.iter().map(ScenarioRun::overhead).collect()))
        .collect();
    for ((c, rs), overhead) in competitors.iter().zip(&results).zip(&overheads) {
        let bound = to_samples(rs.iter().map(|r| r.bound).collect());
        let shutdown = to_samples(rs.iter().map(|r| r.shutdown).collect());
        let in_flight_min = rs.iter().map(|r| r.in_flight).min().unwrap_or(0);
        let in_flight_max = rs.iter().map(|r| r.in_flight).max().unwrap_or(0);
        let in_flight = if in_flight_min == in_flight_max {
            in_flight_min.to_string()
        } else {
            format!("{in_flight_min}-{in_flight_max}")
        };
        let (target_cell, met_cell) = if c.label == GRACEFUL {
            (
                "≤ 5 ms".to_owned(),
                met(overhead.median() <= 0.005).to_owned(),
            )
        } else {
            ("–".to_owned(), "–".to_owned())
        };
        table.row([
            c.label.to_owned(),
            secs(overhead.median()),
            secs(overhead.min()),
            secs(overhead.max()),
            secs(bound.median()),
            secs(shutdown.median()),
            in_flight,
            rs.iter().map(|r| r.late).sum::<usize>().to_string(),
            vs_tokio(overhead, &overheads[1]),
            target_cell,
            met_cell,
        ]);
    }
    table.print();
    println!(
        "graceful exits {} after the last operation in flight at SIGTERM could end \
         (hand-written tokio: {}); no operation was dropped.",
        secs(overheads[0].median()),
        secs(overheads[1].median()),
    );
}

/// An operation as the subject told it: its start and, once it has ended, its end.
struct Op {
    start: u64,
    end: Option<u64>,
}

/// Starts `c`, signals it `wait` after `ready`, and checks what it did with its work.
fn scenario_run(c: &Competitor, wait: Duration) -> ScenarioRun {
    let subject = c.start();
    std::thread::sleep(wait);
    let sent = subject.terminate();
    let (ended, lines) = subject.ended_with_lines(OP + PATIENCE);
    let exited = match ended {
        Ended::Exited { at_ns, status } if status.success() => at_ns,
        Ended::Exited { status, .. } => fail(&format!("{} ended with {status}", c.label)),
        Ended::Hung => fail(&format!(
            "{} had not exited {:?} after SIGTERM, and was killed",
            c.label,
            OP + PATIENCE
        )),
    };
    let ops = parse_ops(c.label, &lines);
    let op_ns = OP.as_nanos() as u64;
    let notice_ns = NOTICE.as_nanos() as u64;
    let mut bound_end = sent;
    let (mut in_flight, mut late) = (0, 0);
    for (id, op) in &ops {
        let Some(end) = op.end else {
            fail(&format!(
                "{}: operation {id} started and never ended: it was dropped",
                c.label
            ))
        };
        if end - op.start < op_ns {
            fail(&format!(
                "{}: operation {id} ended {} after its start, short of {OP:?}",
                c.label,
                secs((end - op.start) as f64 / 1e9)
            ));
        }
        if op.start > sent + notice_ns {
            fail(&format!(
                "{}: operation {id} started {} after SIGTERM: the subject took work after \
                 the shutdown began",
                c.label,
                secs((op.start - sent) as f64 / 1e9)
            ));
        }
        if op.start > sent {
            late += 1;
        } else {
            bound_end = bound_end.max(op.start + op_ns);
            if end > sent {
                in_flight += 1;
            }
        }
    }
    ScenarioRun {
        shutdown: (exited - sent) as f64 / 1e9,
        bound: (bound_end - sent) as f64 / 1e9,
        in_flight,
        late,
    }
}

/// Reads `start <id> <ns>` and `end <id> <ns>` lines into operations by id.
fn parse_ops(label: &str, lines: &[String]) -> BTreeMap<u64, Op> {
    let mut ops = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields[..] {
            [what @ ("start" | "end"), id, ns] => id
                .parse::<u64>()
                .ok()
                .zip(ns.parse().ok())
                .map(|p| (what, p)),
            _ => None,
        };
        let Some((what, (id, ns))) = parsed else {
            fail(&format!(
                "{label} printed {line:?}, expected `start|end <id> <ns>`"
            ))
        };
        match what {
            "start" => {
                if ops
                    .insert(
                        id,
                        Op {
                            start: ns,
                            end: None,
                        },
                    )
                    .is_some()
                {
                    fail(&format!("{label}: operation {id} was started twice"));
                }
            }
            _ => match ops.get_mut(&id) {
                Some(op @ Op { end: None, .. }) => op.end = Some(ns),
                Some(_) => fail(&format!("{label}: operation {id} ended twice")),
                None => fail(&format!("{label}: operation {id} ended without a start")),
            },
        }
    }
    ops
}

// ---- The deadline ----

/// What a deadline competitor must do: exit with this code, or anything, shown as it is.
#[derive(Clone, Copy)]
enum Expect {
    Exit(i32),
    AsItBehaves,
}

fn deadline(runs: usize) {
    section(
        "Deadline: a hook and a blocking thread that never return",
        &format!(
            "Deadline {DEADLINE:?}. {runs} runs each, interleaved; settle {SETTLE:?} after \
             `ready`, then SIGTERM; a program still running {HANG_PATIENCE:?} after the \
             deadline is killed. graceful and the tokio program with `process::exit` must \
             exit with 124."
        ),
    );
    let ms = DEADLINE.as_millis().to_string();
    let mut graceful = Competitor::new(
        "graceful (GRACEFUL_DEADLINE=1s)",
        env!("CARGO_BIN_EXE_bench-deadline-graceful"),
    );
    graceful.envs = vec![("GRACEFUL_DEADLINE", format!("{ms}ms"))];
    let mut natural = Competitor::new(
        "tokio: timeout, then return from main",
        env!("CARGO_BIN_EXE_bench-deadline-tokio"),
    );
    natural.args = vec![ms.clone()];
    let mut with_exit = Competitor::new(
        "tokio: timeout, then process::exit",
        env!("CARGO_BIN_EXE_bench-deadline-tokio"),
    );
    with_exit.args = vec![ms.clone(), "exit".to_owned()];
    let mut tgs = Competitor::new(
        "tokio-graceful-shutdown: handle_shutdown_requests(1s)",
        env!("CARGO_BIN_EXE_bench-deadline-tgs"),
    );
    tgs.args = vec![ms];
    let competitors = [graceful, natural, with_exit, tgs];
    // The hand-written program that does exit: what the others are set against.
    const BASELINE: usize = 2;
    let expect = [
        Expect::Exit(124),
        Expect::AsItBehaves,
        Expect::Exit(124),
        Expect::AsItBehaves,
    ];

    let results = interleaved(&competitors, runs, |c| {
        let subject = c.start();
        std::thread::sleep(SETTLE);
        let sent = subject.terminate();
        match subject.ended(DEADLINE + HANG_PATIENCE) {
            Ended::Exited { at_ns, status } => Some(((at_ns - sent) as f64 / 1e9, status)),
            Ended::Hung => None,
        }
    });

    let mut table = Table::new([
        "competitor",
        "SIGTERM to exit (median)",
        "min",
        "max",
        "over the deadline (median)",
        "exited",
        "exit code",
        "vs tokio + exit",
        "target",
        "met?",
    ]);
    let samples: Vec<Samples> = results
        .iter()
        .map(|rs| to_samples(rs.iter().flatten().map(|(t, _)| *t).collect()))
        .collect();
    let mut readings = Vec::new();
    for (i, c) in competitors.iter().enumerate() {
        let rs = &results[i];
        if let Expect::Exit(code) = expect[i] {
            for r in rs {
                match r {
                    Some((_, status)) if status.code() == Some(code) => {}
                    Some((_, status)) => fail(&format!(
                        "{} ended with {status}, expected exit code {code}",
                        c.label
                    )),
                    None => fail(&format!(
                        "{} had not exited {:?} after SIGTERM, and was killed",
                        c.label,
                        DEADLINE + HANG_PATIENCE
                    )),
                }
            }
        }
        let s = &samples[i];
        let hung = rs.len() - s.len();
        if hung > 0 {
            readings.push(format!(
                "{}: {hung} of {} runs still running {} after SIGTERM, killed: past its timeout, \
                 main returns, and dropping the tokio runtime waits for the blocking thread.",
                c.label,
                rs.len(),
                secs((DEADLINE + HANG_PATIENCE).as_secs_f64())
            ));
        }
        let (target_cell, met_cell) = if i == 0 {
            (
                "≤ deadline + 20 ms".to_owned(),
                met(s.median() - DEADLINE.as_secs_f64() <= 0.020).to_owned(),
            )
        } else {
            ("–".to_owned(), "–".to_owned())
        };
        let exited = format!("{}/{}", s.len(), rs.len());
        if s.is_empty() {
            let none = || "–".to_owned();
            table.row([
                c.label.to_owned(),
                "did not exit (killed)".to_owned(),
                none(),
                none(),
                none(),
                exited,
                none(),
                none(),
                target_cell,
                met_cell,
            ]);
            continue;
        }
        let mut codes: Vec<String> = rs
            .iter()
            .flatten()
            .map(|(_, status)| match status.code() {
                Some(code) => code.to_string(),
                None => status.to_string(),
            })
            .collect();
        codes.sort();
        codes.dedup();
        table.row([
            c.label.to_owned(),
            secs(s.median()),
            secs(s.min()),
            secs(s.max()),
            format!("+{}", secs(s.median() - DEADLINE.as_secs_f64())),
            exited,
            codes.join(", "),
            vs_tokio(s, &samples[BASELINE]),
            target_cell,
            met_cell,
        ]);
    }
    table.print();
    for reading in readings {
        println!("{reading}");
    }
}
