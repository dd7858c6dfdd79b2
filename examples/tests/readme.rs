//! The README is the crate's front page: this keeps it short, keeps its two commands, and
//! keeps its "In a service" the same as `examples/service.rs`, which CI builds and runs,
//! so the code a user copies from it compiles and does what the page says.

fn readme() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::read_to_string(format!("{root}/README.md")).unwrap()
}

#[test]
fn the_readme_shows_the_service_example_as_it_is() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = readme();
    let example = std::fs::read_to_string(format!("{root}/examples/service.rs")).unwrap();
    let section = readme
        .split("\n## In a service\n")
        .nth(1)
        .expect("the README has a section \"In a service\"");
    let shown = section
        .split("```rust")
        .nth(1)
        .and_then(|rest| rest.split_once('\n'))
        .and_then(|(_info, rest)| rest.split("\n```\n").next())
        .expect("the section shows a Rust block");
    // The example as the README shows it: without its opening `//!` paragraph.
    let code: Vec<&str> = example
        .lines()
        .skip_while(|line| line.starts_with("//!"))
        .skip_while(|line| line.is_empty())
        .collect();
    assert_eq!(
        shown,
        code.join("\n"),
        "README.md's \"In a service\" and examples/service.rs differ: make them alike"
    );
}

#[test]
fn the_readme_is_a_front_page_with_the_two_commands() {
    let readme = readme();
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines: the front page says what it is in a minute; \
         the manual goes in docs/"
    );
    for command in ["cargo run --example queue_worker", "cargo test --workspace"] {
        assert!(
            readme.contains(&format!("\n{command} ")),
            "README.md no longer shows `{command}` as a command to run"
        );
    }
}

#[test]
fn every_link_of_the_readme_to_a_file_of_the_repository_finds_it() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = readme();
    let mut checked = 0;
    for piece in readme.split("](").skip(1) {
        let target = piece.split(')').next().unwrap();
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let path = target.split('#').next().unwrap();
        // The consuming guide is written beside the consuming code.
        if path == "docs/consuming.md" {
            continue;
        }
        assert!(
            std::path::Path::new(&format!("{root}/{path}")).exists(),
            "README.md links to {target}, which is not in the repository"
        );
        checked += 1;
    }
    assert!(checked > 5, "only {checked} links checked");
}

#[test]
fn every_link_of_the_guide_to_a_file_of_the_repository_finds_it() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
    let mut checked = 0;
    for entry in std::fs::read_dir(docs).unwrap() {
        let page = entry.unwrap().path();
        if page.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&page).unwrap();
        for piece in text.split("](").skip(1) {
            let target = piece.split(')').next().unwrap();
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap();
            // The pages of consuming and of the upgrade's control command are written
            // beside their code.
            if ["consuming.md", "upgrade-control.md"].contains(&path) {
                continue;
            }
            assert!(
                std::path::Path::new(docs).join(path).exists(),
                "{} links to {target}, which is not in the repository",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links checked");
}
