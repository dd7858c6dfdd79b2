//! What the benchmarks and the programs they measure share.
//!
//! - The benchmarks (`benches/`): how many runs ([`runs`]) of which measures
//!   ([`selected`]), medians ([`stats`]), the tables they print ([`table`]), the machine
//!   they ran on ([`heading`]), and the subject programs they start, signal and time
//!   ([`subject`]).
//! - The subjects (`src/bin/`): the parts of the services they run, so that the three
//!   versions of a service differ only in how each library stops it ([`service`]). The
//!   idle subjects use none of it: the `cost` benchmark compiles each as a hello world of
//!   its own.
//! - Both: one clock they can compare ([`clock`]).
//! - The `serve` benchmark: HTTP load from threads of this process ([`load`]).
//!
//! The measures signal their subjects with `kill(2)` and read the clock that all
//! processes share: they run on Unix. Elsewhere the package builds, and what needs Unix
//! stops with a message and exit code 2.

pub mod clock;
pub mod load;
pub mod service;
pub mod stats;
pub mod subject;
pub mod table;

use std::process::Command;

/// How many runs a measure makes: `default`, or `GRACEFUL_BENCH_RUNS` when set. A value
/// that is not a positive whole number stops the benchmark with a message.
pub fn runs(default: usize) -> usize {
    match std::env::var("GRACEFUL_BENCH_RUNS") {
        Err(std::env::VarError::NotPresent) => default,
        Ok(v) if v.trim().is_empty() => default,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => fail(&format!(
                "GRACEFUL_BENCH_RUNS={v:?} is not a positive whole number of runs (e.g. 5)"
            )),
        },
        Err(std::env::VarError::NotUnicode(v)) => fail(&format!(
            "GRACEFUL_BENCH_RUNS={v:?} is not a positive whole number of runs (e.g. 5)"
        )),
    }
}

/// The measures to run: those whose name contains the first argument that is not a flag
/// (`cargo bench --bench shutdown -- idle`), or all of them.
pub fn selected(name: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(filter) => name.contains(&filter),
        None => true,
    }
}

/// A subject's setting: the environment variable `name` (or `default`), parsed. One that
/// is missing or does not parse stops the program with a message and exit code 2.
pub fn setting<T: std::str::FromStr>(name: &str, default: Option<&str>) -> T {
    let value = std::env::var(name).ok().or(default.map(str::to_owned));
    match value.as_deref().map(str::parse) {
        Some(Ok(parsed)) => parsed,
        Some(Err(_)) => fail(&format!("{name}={value:?} does not parse")),
        None => fail(&format!("{name} is not set")),
    }
}

/// Stops the benchmark with a message and exit code 2.
pub fn fail(message: &str) -> ! {
    eprintln!("benchmark: {message}");
    std::process::exit(2)
}

/// Stops a benchmark or a subject that needs `what`, which only Unix has, on another
/// platform: a message and exit code 2.
pub fn unix_only(what: &str) -> ! {
    let program = std::env::args().next().unwrap_or_default();
    eprintln!("{program}: runs on Unix only: it needs {what}");
    std::process::exit(2)
}

/// One line about the machine: CPU, cores, kernel, compiler. Figures mean little without it.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!("Linux {}", k.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_owned());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (version unknown)".to_owned());
    format!("{cpu}, {cores} cores, {kernel}, {rustc}")
}

/// Prints the heading every benchmark starts with.
pub fn heading(title: &str) {
    println!("\n# {title}\n");
    println!("machine: {}", machine());
}
