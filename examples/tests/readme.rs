//! The README's "In a service" shows `examples/service.rs`, which CI builds: this keeps
//! the two the same, so the code a user copies from the README compiles.

#[test]
fn the_readme_shows_the_service_example_as_it_is() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/service.rs")).unwrap();
    let section = readme
        .split("\n## In a service\n")
        .nth(1)
        .expect("the README has a section \"In a service\"");
    let shown = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```\n").next())
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
