//! `src/shared` is the macro crate's `src/shared`, copied: the duration grammar, the
//! limits and the signal names that the attributes check at compile time and the runtime
//! at run time. A copy, because a published package cannot hold a symbolic link and a
//! Windows checkout cannot follow one; this keeps the two the same, file for file.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn the_runtime_compiles_the_very_files_the_macros_do() {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/shared");
    let macros = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graceful-macros/src/shared");
    let (runtime, macros) = (files(&runtime), files(&macros));
    assert!(macros.contains_key("duration.rs"), "{:?}", macros.keys());
    assert_eq!(
        runtime.keys().collect::<Vec<_>>(),
        macros.keys().collect::<Vec<_>>(),
        "graceful-runtime/src/shared and graceful-macros/src/shared hold different files"
    );
    for (name, text) in &macros {
        assert!(
            runtime[name] == *text,
            "graceful-runtime/src/shared/{name} differs from graceful-macros/src/shared/{name}: \
             edit the macros' copy and copy it over (cp graceful-macros/src/shared/*.rs graceful-runtime/src/shared/)"
        );
    }
}
