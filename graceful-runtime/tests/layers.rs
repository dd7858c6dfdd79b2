//! The runtime's modules form layers, and imports only go down: a module uses those below
//! it and never one above, so no two modules need each other and each layer can be read
//! (and tested) on top of the ones beneath it alone. ARCHITECTURE.md draws the same map.
//!
//! This test reads the sources and fails on an import that goes up, on one made through a
//! re-export at the crate root (which would hide where it goes), and on files of one
//! folder that import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, bottom first: each may import only from those before it.
const LAYERS: &[&str] = &[
    "shared",
    "sync",
    "trigger",
    "config",
    "report",
    "sys",
    "systemd",
    "handover",
    "controller",
    "hook",
    "api",
    "serve",
    "consume",
    "upgrade",
    "sequence",
    "entry",
    "testing",
];

/// `lib.rs` declares the modules and re-exports the public API: it sits above them all.
const ROOT: &str = "lib";

#[test]
fn imports_only_go_down_the_layers() {
    let files = sources();
    let mut wrong = Vec::new();
    for (file, text) in &files {
        let from = top_module(file);
        if from == ROOT {
            continue;
        }
        let from_layer = layer(&from)
            .unwrap_or_else(|| panic!("{file}: module `{from}` is in no layer of LAYERS"));
        for (to, _) in crate_paths(text) {
            match layer(&to) {
                Some(to_layer) if to_layer <= from_layer => {}
                Some(_) => wrong.push(format!("{file}: `{from}` imports `{to}`, a layer above it")),
                None => wrong.push(format!(
                    "{file}: `crate::{to}` is not a module: import it from the module that defines it"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that break the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_bottom_layers_import_nothing_from_the_rest() {
    // `shared` is compiled by the macro crate too; `sync` is the primitives.
    for (file, text) in sources() {
        let from = top_module(&file);
        if from == "shared" || from == "sync" {
            let outside: Vec<String> = crate_paths(&text)
                .into_iter()
                .map(|(to, _)| to)
                .filter(|to| *to != from)
                .collect();
            assert!(outside.is_empty(), "{file} imports {outside:?}");
        }
    }
}

#[test]
fn files_of_one_folder_do_not_import_each_other_in_a_circle() {
    let files = sources();
    // Edges between files of one top-level folder, `mod.rs` aside: a folder's `mod.rs`
    // declares and re-exports its files, which is not a dependency between them.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let known: BTreeSet<String> = files.keys().cloned().collect();
    for (file, text) in &files {
        if file.ends_with("mod.rs") {
            continue;
        }
        let dir = parent_dir(file);
        let top = top_module(file);
        let mut targets = BTreeSet::new();
        for (to, rest) in crate_paths(text) {
            if to == top {
                if let Some(sibling) = rest.first() {
                    targets.insert(format!("{top}/{sibling}.rs"));
                }
            }
        }
        for sibling in super_paths(text) {
            targets.insert(format!("{dir}/{sibling}.rs"));
        }
        targets.retain(|t| t != file && known.contains(t) && !t.ends_with("mod.rs"));
        edges.insert(file.clone(), targets);
    }
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "files that import each other in a circle: {}",
            cycle.join(" -> ")
        );
    }
}

/// Every `.rs` file under `src/`, by its path relative to `src/`, with `/` separators.
fn sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if fs::metadata(&path).unwrap().is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&src).unwrap();
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.insert(name, code_only(&fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(files.len() > 20, "read only {} files", files.len());
    files
}

fn top_module(file: &str) -> String {
    let first = file.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

fn parent_dir(file: &str) -> String {
    file.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned()
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

/// The text without comments (docs included): links in docs are not imports.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal ("http://") is rare here; strings with `crate::`
            // would be too.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each path that starts with `crate::`, as its first segment and the segments after it,
/// `use crate::{a::b, c}` groups included.
fn crate_paths(text: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `graceful_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                let segments = segments(item.trim());
                if let Some((first, more)) = segments.split_first() {
                    if first != "self" {
                        found.push((first.clone(), more.to_vec()));
                    }
                }
            }
        } else {
            let segments = segments(rest);
            if let Some((first, more)) = segments.split_first() {
                found.push((first.clone(), more.to_vec()));
            }
        }
    }
    found
}

/// The siblings named by `super::name` paths (`super::*` and `super::{..}` groups too).
fn super_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                if let Some(first) = segments(item.trim()).first() {
                    found.push(first.clone());
                }
            }
        } else if let Some(first) = segments(rest).first() {
            found.push(first.clone());
        }
    }
    found
}

/// `a::b::C` up to the first character that ends a path.
fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        out.push(rest[..len].to_owned());
        match rest[len..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') => rest = next,
            _ => break,
        }
    }
    out
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let text = "use crate::{a::b::{C, D}, e};\nuse crate::f::G;\nlet x = crate::h::i();\n";
    let firsts: Vec<String> = crate_paths(text).into_iter().map(|(f, _)| f).collect();
    assert_eq!(firsts, ["a", "e", "f", "h"]);
    assert_eq!(
        super_paths("use super::{x::Y, z};\nsuper::w::f();"),
        ["x", "z", "w"]
    );
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "a"]);
}
