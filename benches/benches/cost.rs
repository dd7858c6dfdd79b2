//! What using graceful costs a service, beside the same idle service written by hand on
//! `#[tokio::main]` and with tokio-graceful-shutdown: memory, binary size, compile time.
//!
//! The three services are the subjects `bench-idle-graceful`, `bench-idle-tokio` and
//! `bench-idle-tgs` (`src/bin/`): each installs its signal handlers, says
//! `ready`, and waits for the shutdown.
//!
//! - `rss`: peak resident memory (`VmHWM`) of the idle service, read 100 ms after it said
//!   `ready`, with the number of threads it runs then; then it gets `SIGTERM` and must
//!   exit 0. Median, min and max over 11 runs, round-robin across the three.
//! - `size`: the size of the release binaries that `cargo bench` built, and of a stripped
//!   copy of each (`strip`; the column is left out, with a note, where it is missing).
//! - `compile`: the compile time of each service as a hello-world crate of its own,
//!   generated in a temporary directory with the subject's source as `src/main.rs`,
//!   graceful by path and the registry crates pinned to the versions of the workspace's
//!   `Cargo.lock` (copied in, and built `--offline`: everything is in cargo's cache
//!   already). Measured: (a) a cold `cargo build` (dev profile, a fresh target directory:
//!   the whole dependency graph), 3 runs each; (b) the rebuild after touching
//!   `src/main.rs`, what a developer waits for on each edit, 5 runs each. Round-robin;
//!   medians, min and max, and how many crates a cold build compiles. The builds use a
//!   target directory of their own, never the workspace's; cargo's settings from the
//!   user's environment (`RUSTFLAGS`, jobs) apply, those `cargo bench` sets for this
//!   process do not, and the dev profile's default (incremental) holds even where
//!   `CARGO_INCREMENTAL` is set, as in CI. The temporary directory is removed at the end.
//!
//! There is no numeric target here, only the comparison with `#[tokio::main]`: each
//! figure is printed with its ratio to, and difference from, the hand-written tokio
//! service. `GRACEFUL_BENCH_RUNS` sets every run count at once (1 for a smoke run).
//!
//! Run: `cargo bench --bench cost` (about two minutes on 2 cores, mostly cold builds),
//! or one measure: `cargo bench --bench cost -- rss` (`size`, `compile`).

use graceful_benches as support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use support::stats::{bytes, ratio, secs, Samples};
use support::subject::{Subject, SETTLE};
use support::table::Table;

/// This package: the subjects' sources.
const PACKAGE: &str = env!("CARGO_MANIFEST_DIR");

/// The workspace, the package's parent: its `Cargo.lock` and graceful's sources.
fn workspace() -> &'static Path {
    Path::new(PACKAGE)
        .parent()
        .expect("the benchmarks' package lies inside the workspace")
}

/// How long an idle subject may take to exit after `SIGTERM`.
const EXIT_PATIENCE: Duration = Duration::from_secs(10);

/// One of the services compared.
struct Competitor {
    /// As the tables name it.
    name: &'static str,
    /// A short name for its hello-world crate.
    key: &'static str,
    /// The subject binary that `cargo bench` built.
    bin: &'static str,
    /// The subject's source, relative to this package.
    source: &'static str,
    /// The dependencies its hello world declares, as its users would.
    deps: &'static [Dep],
}

/// A dependency of a hello-world crate.
struct Dep {
    name: &'static str,
    features: &'static [&'static str],
    /// A crate of this workspace (by path), or else one from the registry at the version
    /// the workspace's `Cargo.lock` holds.
    workspace_path: Option<&'static str>,
}

const fn registry(name: &'static str, features: &'static [&'static str]) -> Dep {
    Dep {
        name,
        features,
        workspace_path: None,
    }
}

const COMPETITORS: [Competitor; 3] = [
    Competitor {
        name: "graceful",
        key: "graceful",
        bin: env!("CARGO_BIN_EXE_bench-idle-graceful"),
        source: "src/bin/bench-idle-graceful.rs",
        // The runtime and the signals come with it: a graceful service names nothing else.
        deps: &[Dep {
            name: "graceful-runtime",
            features: &[],
            workspace_path: Some("graceful-runtime"),
        }],
    },
    Competitor {
        name: "tokio by hand",
        key: "tokio",
        bin: env!("CARGO_BIN_EXE_bench-idle-tokio"),
        source: "src/bin/bench-idle-tokio.rs",
        deps: &[
            registry("tokio", &["macros", "rt-multi-thread", "signal"]),
            registry("tokio-util", &["rt"]),
        ],
    },
    Competitor {
        name: "tokio-graceful-shutdown",
        key: "tgs",
        bin: env!("CARGO_BIN_EXE_bench-idle-tgs"),
        source: "src/bin/bench-idle-tgs.rs",
        deps: &[
            registry("tokio", &["macros", "rt-multi-thread"]),
            registry("tokio-graceful-shutdown", &[]),
        ],
    },
];

/// The baseline every figure is set against: the hand-written tokio service.
const TOKIO: usize = 1;

fn main() {
    support::heading("Cost: memory, binary size and compile time against #[tokio::main]");
    if support::selected("rss") {
        peak_rss(support::runs(11));
    }
    if support::selected("size") {
        binary_size();
    }
    if support::selected("compile") {
        compile_time(support::runs(3), support::runs(5));
    }
}

fn peak_rss(runs: usize) {
    let mut figures = vec![Samples::new(); COMPETITORS.len()];
    let mut threads = vec![String::new(); COMPETITORS.len()];
    for _ in 0..runs {
        for ((c, out), threads) in COMPETITORS.iter().zip(&mut figures).zip(&mut threads) {
            let subject = Subject::start(c.bin, &[], &[]);
            std::thread::sleep(SETTLE);
            out.push(subject.peak_rss() as f64);
            *threads = thread_count(&subject).to_string();
            // An idle service exits 0 on SIGTERM; anything else stops the benchmark.
            subject.terminate_and_time(EXIT_PATIENCE);
        }
    }
    println!(
        "\n## Peak RSS of the idle service (VmHWM, {} ms after `ready`; {})",
        SETTLE.as_millis(),
        runs_each(runs)
    );
    figures_table_with(&figures, bytes, Some(("threads", &threads)));
}

/// How many threads `subject` runs (each has a stack of its own).
fn thread_count(subject: &Subject) -> usize {
    fs::read_to_string(format!("/proc/{}/status", subject.pid()))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or_else(|| support::fail(&format!("cannot count {}'s threads", subject.name())))
}

fn binary_size() {
    let scratch = Scratch::new();
    let mut sizes = Vec::new();
    let mut stripped = Vec::new();
    let mut no_strip = None;
    for c in &COMPETITORS {
        let size = fs::metadata(c.bin)
            .unwrap_or_else(|e| scratch.fail(&format!("cannot read {}: {e}", c.bin)))
            .len();
        sizes.push(size as f64);
        if no_strip.is_none() {
            match stripped_size(&scratch, c) {
                Ok(s) => stripped.push(s as f64),
                Err(why) => no_strip = Some(why),
            }
        }
    }
    scratch.remove();

    println!("\n## Release binary size (the binaries `cargo bench` built)");
    let mut header = vec!["competitor", "size", "vs tokio", "− tokio"];
    if no_strip.is_none() {
        header.extend(["stripped", "vs tokio", "− tokio"]);
    }
    let mut table = Table::new(header);
    for (i, c) in COMPETITORS.iter().enumerate() {
        let mut row = vec![
            c.name.to_owned(),
            bytes(sizes[i]),
            ratio(sizes[i], sizes[TOKIO]),
            difference(i, sizes[i] - sizes[TOKIO], bytes),
        ];
        if no_strip.is_none() {
            row.extend([
                bytes(stripped[i]),
                ratio(stripped[i], stripped[TOKIO]),
                difference(i, stripped[i] - stripped[TOKIO], bytes),
            ]);
        }
        table.row(row);
    }
    table.print();
    if let Some(why) = no_strip {
        println!("(no stripped sizes: {why})");
    }
}

/// The size of a stripped copy of `c`'s binary, or why there is none.
fn stripped_size(scratch: &Scratch, c: &Competitor) -> Result<u64, String> {
    let copy = scratch.path().join(c.key);
    fs::copy(c.bin, &copy).unwrap_or_else(|e| scratch.fail(&format!("cannot copy {}: {e}", c.bin)));
    let out = Command::new("strip")
        .arg(&copy)
        .output()
        .map_err(|e| format!("cannot run `strip`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`strip` failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(fs::metadata(&copy)
        .unwrap_or_else(|e| scratch.fail(&format!("cannot read {}: {e}", copy.display())))
        .len())
}

fn compile_time(cold_runs: usize, edit_runs: usize) {
    let scratch = Scratch::new();
    let lock = fs::read_to_string(workspace().join("Cargo.lock"))
        .unwrap_or_else(|e| scratch.fail(&format!("cannot read the workspace's Cargo.lock: {e}")));
    let crates: Vec<HelloWorld> = COMPETITORS
        .iter()
        .map(|c| HelloWorld::generate(&scratch, c, &lock))
        .collect();

    let mut cold = vec![Samples::new(); crates.len()];
    let mut built = vec![0; crates.len()];
    let mut waited = false;
    for _ in 0..cold_runs {
        for ((hello, out), count) in crates.iter().zip(&mut cold).zip(&mut built) {
            if hello.target.exists() {
                fs::remove_dir_all(&hello.target).unwrap_or_else(|e| {
                    scratch.fail(&format!("cannot remove {}: {e}", hello.target.display()))
                });
            }
            let build = hello.build(&scratch);
            out.push_duration(build.took);
            *count = build.compiled;
            waited |= build.waited_for_lock;
        }
    }
    let mut edits = vec![Samples::new(); crates.len()];
    for _ in 0..edit_runs {
        for (hello, out) in crates.iter().zip(&mut edits) {
            hello.touch(&scratch);
            let build = hello.build(&scratch);
            if build.compiled != 1 {
                scratch.fail(&format!(
                    "touching {}'s src/main.rs rebuilt {} crates instead of 1",
                    hello.name, build.compiled
                ));
            }
            out.push_duration(build.took);
            waited |= build.waited_for_lock;
        }
    }
    scratch.remove();

    println!(
        "\n## Compile time of a hello world: cold `cargo build` (dev profile, fresh target \
         directory; {})",
        runs_each(cold_runs)
    );
    let crates_built: Vec<String> = built.iter().map(usize::to_string).collect();
    figures_table_with(&cold, secs, Some(("crates built", &crates_built)));
    println!(
        "\n## Compile time of a hello world: rebuild after touching src/main.rs ({})",
        runs_each(edit_runs)
    );
    figures_table(&edits, secs);
    if waited {
        println!(
            "(some builds waited for a lock of cargo's while another cargo ran on the machine; \
             the wait is in their figures)"
        );
    }
}

/// What one `cargo build` took.
struct Build {
    took: Duration,
    /// How many crates it compiled.
    compiled: usize,
    /// Whether it waited for a lock that another cargo held (the package cache).
    waited_for_lock: bool,
}

/// One competitor's hello-world crate in the scratch directory, and its target directory.
struct HelloWorld {
    name: &'static str,
    package: String,
    dir: PathBuf,
    target: PathBuf,
}

impl HelloWorld {
    /// Writes the crate: a manifest, the workspace's `Cargo.lock`, the subject's source.
    fn generate(scratch: &Scratch, c: &Competitor, lock: &str) -> HelloWorld {
        let package = format!("hello-{}", c.key);
        let dir = scratch.path().join(&package);
        let mut manifest = format!(
            "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n"
        );
        for dep in c.deps {
            let source = match dep.workspace_path {
                Some(path) => format!(
                    "path = {}",
                    toml_string(&workspace().join(path).display().to_string())
                ),
                None => format!(
                    "version = \"={}\"",
                    locked_version(lock, dep.name).unwrap_or_else(|e| scratch.fail(&e))
                ),
            };
            let features: Vec<String> = dep.features.iter().map(|f| format!("\"{f}\"")).collect();
            manifest.push_str(&format!(
                "{} = {{ {source}, features = [{}] }}\n",
                dep.name,
                features.join(", ")
            ));
        }
        // A workspace of its own, whatever directory the scratch is in.
        manifest.push_str("\n[workspace]\n");

        let write = |path: PathBuf, contents: &str| {
            fs::write(&path, contents)
                .unwrap_or_else(|e| scratch.fail(&format!("cannot write {}: {e}", path.display())));
        };
        fs::create_dir_all(dir.join("src"))
            .unwrap_or_else(|e| scratch.fail(&format!("cannot create {}: {e}", dir.display())));
        let source = fs::read_to_string(Path::new(PACKAGE).join(c.source))
            .unwrap_or_else(|e| scratch.fail(&format!("cannot read {}: {e}", c.source)));
        write(dir.join("Cargo.toml"), &manifest);
        write(dir.join("Cargo.lock"), lock);
        write(dir.join("src/main.rs"), &source);
        HelloWorld {
            name: c.name,
            target: scratch.path().join(format!("{package}-target")),
            package,
            dir,
        }
    }

    /// `cargo build --offline`. A failed build stops the benchmark with cargo's message.
    fn build(&self, scratch: &Scratch) -> Build {
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&self.dir)
            .args(["build", "--offline", "--color", "never", "--target-dir"])
            .arg(&self.target)
            .env("CARGO_TARGET_DIR", &self.target);
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(set_by_cargo_bench) {
                cmd.env_remove(key);
            }
        }
        let start = Instant::now();
        let out = cmd.output().unwrap_or_else(|e| {
            scratch.fail(&format!("cannot run cargo for {}: {e}", self.package))
        });
        let took = start.elapsed();
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            scratch.fail(&format!(
                "`cargo build --offline` of the {} hello world failed ({}). Every \
                 crate must already be in cargo's cache, at the versions of the workspace's \
                 Cargo.lock: run `cargo fetch` in the workspace once. cargo said:\n{}",
                self.name,
                out.status,
                tail.join("\n")
            ));
        }
        Build {
            took,
            compiled: log
                .lines()
                .filter(|l| l.trim_start().starts_with("Compiling "))
                .count(),
            waited_for_lock: log.contains("Blocking waiting for file lock"),
        }
    }

    /// Marks `src/main.rs` as edited, as saving it in an editor does.
    fn touch(&self, scratch: &Scratch) {
        let main = self.dir.join("src/main.rs");
        fs::File::options()
            .write(true)
            .open(&main)
            .and_then(|f| f.set_modified(SystemTime::now()))
            .unwrap_or_else(|e| scratch.fail(&format!("cannot touch {}: {e}", main.display())));
    }
}

/// The variables `cargo bench` sets for the benchmark it runs, which would change what a
/// nested `cargo build` does; also `CARGO_INCREMENTAL`, so that the dev profile's default
/// (incremental) holds, and any other target directory.
fn set_by_cargo_bench(key: &str) -> bool {
    const EXACT: [&str; 12] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_MAKEFLAGS",
        "CARGO_INCREMENTAL",
        "CARGO_BUILD_TARGET_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&key)
        || key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || key.starts_with("__CARGO")
}

/// The one version of `name` in a `Cargo.lock`.
fn locked_version(lock: &str, name: &str) -> Result<String, String> {
    let wanted = format!("name = \"{name}\"");
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|block| block.lines().any(|l| l.trim() == wanted))
        .filter_map(|block| {
            block.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("version = \"")
                    .and_then(|v| v.strip_suffix('"'))
            })
        })
        .collect();
    match versions.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(format!("the workspace's Cargo.lock has no {name}")),
        many => Err(format!(
            "the workspace's Cargo.lock has {name} at several versions ({}): which one a \
             hello world would get is unclear",
            many.join(", ")
        )),
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The difference of competitor `i` from the hand-written tokio service, with its sign,
/// written by `unit` ("–" for tokio itself).
fn difference(i: usize, value: f64, unit: fn(f64) -> String) -> String {
    if i == TOKIO {
        return "–".to_owned();
    }
    let sign = if value < 0.0 { "−" } else { "+" };
    format!("{sign}{}", unit(value.abs()))
}

/// "1 run", "3 runs".
fn runs_each(n: usize) -> String {
    format!("{n} run{} each", if n == 1 { "" } else { "s" })
}

/// A table of one figure per competitor: median, min, max, ratio to and difference from
/// the hand-written tokio service.
fn figures_table(figures: &[Samples], unit: fn(f64) -> String) {
    figures_table_with(figures, unit, None);
}

/// [`figures_table`] with one more column after the competitor's name.
fn figures_table_with(
    figures: &[Samples],
    unit: fn(f64) -> String,
    extra: Option<(&str, &[String])>,
) {
    let mut header = vec!["competitor"];
    header.extend(extra.map(|(title, _)| title));
    header.extend(["median", "min", "max", "vs tokio", "− tokio"]);
    let mut table = Table::new(header);
    let tokio = figures[TOKIO].median();
    for (i, (c, s)) in COMPETITORS.iter().zip(figures).enumerate() {
        let mut row = vec![c.name.to_owned()];
        row.extend(extra.map(|(_, cells)| cells[i].clone()));
        row.extend([
            unit(s.median()),
            unit(s.min()),
            unit(s.max()),
            ratio(s.median(), tokio),
            difference(i, s.median() - tokio, unit),
        ]);
        table.row(row);
    }
    table.print();
}

/// A temporary directory of this run, removed at the end, and on the way out when the
/// benchmark gives up.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "graceful-bench-cost-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir(&dir)
            .unwrap_or_else(|e| support::fail(&format!("cannot create {}: {e}", dir.display())));
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Removes the directory and stops the benchmark with `message`.
    fn fail(&self, message: &str) -> ! {
        self.remove();
        support::fail(message)
    }

    fn remove(&self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("benchmark: cannot remove {}: {e}", self.0.display());
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}
