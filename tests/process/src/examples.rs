//! The built examples of the package under test (`graceful-examples`), started like the
//! fixtures.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::Service;

/// The path of the example `name`, built by `cargo test` (or `cargo build --examples`)
/// into `examples/` beside the `deps/` directory that holds the calling test binary.
///
/// `cargo test --test <file>` alone does not rebuild the examples: after changing one,
/// run `cargo build --examples` first, or the test runs the old binary.
pub fn example(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let path: PathBuf = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the example {name} is not built at {}: `cargo test` builds it, or run `cargo build --examples`",
        path.display()
    );
    path.into_os_string()
        .into_string()
        .expect("the target directory's path is UTF-8")
}

impl Service {
    /// The first stdout line seen so far that starts with `prefix`.
    pub fn printed(&self, prefix: &str) -> Option<String> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .find(|line| line.starts_with(prefix))
            .cloned()
    }

    /// Every stdout line seen so far that starts with `prefix`: after an upgrade in place,
    /// those of every generation, which share the pipe.
    pub fn printed_all(&self, prefix: &str) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// Starts the server at `bin` with `envs`, waits for its `ready` line, and returns it with
/// the address that line ends with (`ready: listening on http://127.0.0.1:41234`).
pub fn start_server(bin: &str, envs: &[(&str, &str)]) -> (Service, SocketAddr) {
    let mut svc = super::start(bin, envs);
    svc.wait_for("ready");
    let ready = svc.printed("ready").unwrap();
    let addr = ready
        .rsplit("http://")
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    (svc, addr)
}
