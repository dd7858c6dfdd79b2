//! The `rust-version` the library claims is true of the versions in the committed
//! `Cargo.lock`: no dependency it builds with its default features asks for a newer Rust.
//! A user who builds with that lock file, or with the newest versions, on the claimed
//! Rust, builds. (CI also builds the library with that Rust, on a lock file resolved for
//! it, and runs clippy's `incompatible_msrv`.)

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `1.85`, `1.85.0` → `(1, 85, 0)`.
fn version(text: &str) -> (u32, u32, u32) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u32>()
            .unwrap_or_else(|_| panic!("a rust-version that is not a version: {text:?}"))
    });
    let major = parts.next().unwrap();
    (major, parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn no_dependency_in_the_lock_file_needs_a_newer_rust_than_the_library_claims() {
    let claimed = version(env!("CARGO_PKG_RUST_VERSION"));
    // What the library builds with its default features, on every platform: name and
    // version of each package, from the lock file (`--locked`: as committed; the crates
    // of other platforms are fetched where this machine has not got them yet).
    let tree = cargo(&[
        "tree",
        "--locked",
        "-p",
        "graceful-runtime",
        "-e",
        "normal,build",
        "--target",
        "all",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let used: BTreeSet<(String, String)> = tree
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?.to_owned();
            let version = words.next()?.trim_start_matches('v').to_owned();
            Some((name, version))
        })
        .collect();
    assert!(
        used.iter().any(|(name, _)| name == "tokio"),
        "cargo tree listed no tokio: {tree}"
    );
    // Each package's rust-version, from its manifest.
    let metadata = cargo(&["metadata", "--locked", "--format-version", "1"]);
    let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    let mut wanted = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        if let Some(rust) = package["rust_version"].as_str() {
            let key = (
                package["name"].as_str().unwrap().to_owned(),
                package["version"].as_str().unwrap().to_owned(),
            );
            wanted.insert(key, rust.to_owned());
        }
    }
    let too_new: Vec<String> = used
        .iter()
        .filter_map(|key| {
            let rust = wanted.get(key)?;
            (version(rust) > claimed).then(|| format!("{} {} needs Rust {rust}", key.0, key.1))
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "graceful-runtime claims rust-version {}, but in Cargo.lock:\n{}\nraise \
         rust-version in the root Cargo.toml (and say so in the CHANGELOG)",
        env!("CARGO_PKG_RUST_VERSION"),
        too_new.join("\n")
    );
}
