//! The attributes at compile time: every accepted form in `pass/` compiles (and runs), and
//! every misuse in `fail/` fails with exactly the error in its `.stderr` file.
//!
//! After a deliberate change of a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p graceful-ui-tests` and read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
