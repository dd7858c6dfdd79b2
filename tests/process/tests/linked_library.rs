//! Hooks written in a library crate run in a binary that links the crate with
//! `graceful::link!` and otherwise never names it.

use graceful_process_tests as support;

use support::stopped_by;

#[test]
fn the_hooks_of_a_linked_library_run_in_order_with_the_binarys_own() {
    let out = stopped_by(env!("CARGO_BIN_EXE_fixture-linked"), "TERM", &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let own = out.line("fixture closed the service journal (trigger: SIGTERM)");
    let flushed = out.line("hooks_lib flushed the audit log (trigger: SIGTERM)");
    let closed = out.line("hooks_lib closed the storage");
    assert!(own < flushed && flushed < closed, "{out:#?}");
    // Named by their path in the library, or by their `name`.
    out.assert_stderr("[order 15] hooks_lib::flush: ok");
    out.assert_stderr("[order 25] audit storage: ok");
    out.assert_stderr("steps: 4 ok, 0 failed");
}
