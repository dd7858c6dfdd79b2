//! The docs of the macros (`src/lib.rs`) against the compile-fail cases of `tests/ui/fail/`,
//! whose `.stderr` files hold the exact message of each error: rustdoc checks only that a
//! `compile_fail` example fails, not why, so this checks that the `// error` comment of each
//! example is the message of a case, and that the docs point at every case and only at
//! those that exist.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cases_dir() -> PathBuf {
    manifest_dir().join("../tests/ui/fail")
}

/// The text of the doc comments of `src/lib.rs`, a line each, without `///` or `//!`.
fn doc_lines() -> Vec<String> {
    let lib = fs::read_to_string(manifest_dir().join("src/lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let doc = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"))?;
            Some(doc.strip_prefix(' ').unwrap_or(doc).to_owned())
        })
        .collect()
}

/// The `// error...` comment of each `compile_fail` example, its lines joined by a space;
/// `None` for an example without one.
fn compile_fail_comments(docs: &[String]) -> Vec<Option<String>> {
    let mut examples = Vec::new();
    let mut lines = docs.iter().map(|line| line.trim());
    while let Some(line) = lines.next() {
        if line != "```compile_fail" {
            continue;
        }
        let mut comment: Option<String> = None;
        let mut in_comment = false;
        for line in lines.by_ref().take_while(|line| *line != "```") {
            match line.strip_prefix("//") {
                Some(text) if text.trim_start().starts_with("error") && comment.is_none() => {
                    comment = Some(text.trim().to_owned());
                    in_comment = true;
                }
                // A continuation is indented under the message.
                Some(text) if in_comment && text.starts_with("  ") => {
                    if let Some(comment) = &mut comment {
                        comment.push(' ');
                        comment.push_str(text.trim());
                    }
                }
                _ => in_comment = false,
            }
        }
        examples.push(comment);
    }
    examples
}

/// The first line of each case's expected output: `error: ...` or `error[E0277]: ...`.
fn case_messages() -> BTreeSet<String> {
    fs::read_dir(cases_dir())
        .expect("tests/ui/fail")
        .map(|entry| entry.expect("a case").path())
        .filter(|path| path.extension().is_some_and(|e| e == "stderr"))
        .map(|path| {
            let text = fs::read_to_string(&path).expect("a .stderr file");
            text.lines().next().unwrap_or_default().to_owned()
        })
        .collect()
}

#[test]
fn each_compile_fail_example_shows_the_message_of_a_case() {
    let messages = case_messages();
    let examples = compile_fail_comments(&doc_lines());
    // A few for each macro: the most common misuses.
    assert!(
        examples.len() >= 9,
        "{} compile_fail examples",
        examples.len()
    );
    for comment in examples {
        let comment = comment.expect("a compile_fail example without an `// error: ...` comment");
        assert!(
            messages.contains(&comment),
            "this `// error` comment of a compile_fail example in src/lib.rs is the message of \
             no case in tests/ui/fail/*.stderr:\n{comment}"
        );
    }
}

#[test]
fn the_docs_point_at_every_case_and_only_at_cases() {
    let cases: BTreeSet<String> = fs::read_dir(cases_dir())
        .expect("tests/ui/fail")
        .map(|entry| {
            entry
                .expect("a case")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".rs"))
        .collect();
    assert!(cases.len() > 40, "only {} cases", cases.len());
    // Each `name.rs` between backticks in a table row of the docs.
    let named: BTreeSet<String> = doc_lines()
        .iter()
        .filter(|line| line.starts_with('|'))
        .flat_map(|line| {
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|code| {
            code.strip_suffix(".rs").is_some_and(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
        })
        .collect();
    let missing: Vec<_> = cases.difference(&named).collect();
    let unknown: Vec<_> = named.difference(&cases).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "cases the docs do not point at: {missing:?}; cases the docs name that do not exist: {unknown:?}"
    );
}
