//! The environment overrides the attribute, in real processes: `GRACEFUL_DEADLINE`,
//! `GRACEFUL_DRAIN_DELAY` and `GRACEFUL_GRACE_PERIOD`. The fixture service says
//! `deadline = "2s", drain_delay = "300ms"` and has one `always` hook (1 s by default).

use graceful_process_tests as support;

use support::{start, start_with_stderr_closed, stopped_by};

const SERVICE: &str = env!("CARGO_BIN_EXE_fixture-service");

/// Starts the service with `envs` and expects it to stop before its body, with code 2.
fn refused(envs: &[(&str, &str)]) -> support::Exited {
    let out = start(SERVICE, envs).exited();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stdout.is_empty(),
        "neither the body nor a hook may run: {out:#?}"
    );
    out
}

#[test]
fn the_environment_overrides_the_attribute() {
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[
            ("GRACEFUL_DEADLINE", "1m30s"),
            ("GRACEFUL_DRAIN_DELAY", "50ms"),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("graceful: SIGTERM: shutting down (deadline 90s, draining for 50ms first)");
}

#[test]
fn one_variable_overrides_only_its_own_setting() {
    let out = stopped_by(SERVICE, "TERM", &[("GRACEFUL_DEADLINE", "1500ms")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("shutting down (deadline 1.5s, draining for 300ms first)");
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let out = stopped_by(
        SERVICE,
        "TERM",
        &[("GRACEFUL_DEADLINE", ""), ("GRACEFUL_DRAIN_DELAY", " ")],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("shutting down (deadline 2s, draining for 300ms first)");
}

#[test]
fn a_deadline_that_does_not_parse_stops_the_program_before_its_body_with_code_2() {
    let out = refused(&[("GRACEFUL_DEADLINE", "soon")]);
    out.assert_stderr(
        "graceful: configuration error: GRACEFUL_DEADLINE=\"soon\" is not a duration: expected a number, found `soon`",
    );
}

#[test]
fn every_bad_variable_is_named_at_once() {
    let out = refused(&[
        ("GRACEFUL_DEADLINE", "30"),
        ("GRACEFUL_DRAIN_DELAY", "1.5s"),
    ]);
    out.assert_stderr("GRACEFUL_DEADLINE=\"30\" is not a duration: `30` has no unit");
    out.assert_stderr(
        "GRACEFUL_DRAIN_DELAY=\"1.5s\" is not a duration: fractions are not supported",
    );
}

#[test]
fn a_drain_delay_not_shorter_than_the_deadline_stops_the_program_with_code_2() {
    let out = refused(&[("GRACEFUL_DRAIN_DELAY", "2s")]);
    out.assert_stderr(
        "graceful: configuration error: the drain delay (GRACEFUL_DRAIN_DELAY=\"2s\") must be shorter than the deadline (2s)",
    );
    let out = refused(&[("GRACEFUL_DEADLINE", "300ms")]);
    out.assert_stderr(
        "the drain delay (300ms) must be shorter than the deadline (GRACEFUL_DEADLINE=\"300ms\")",
    );
}

#[test]
fn a_zero_deadline_stops_the_program_with_code_2() {
    let out = refused(&[("GRACEFUL_DEADLINE", "0s")]);
    out.assert_stderr("the shutdown deadline (GRACEFUL_DEADLINE=\"0s\") must be longer than zero");
}

#[test]
fn a_grace_period_too_short_for_the_deadline_and_the_always_hooks_is_a_warning() {
    // 2 s of deadline and 1 s for the `always` hook do not fit in 2 s.
    let out = stopped_by(SERVICE, "TERM", &[("GRACEFUL_GRACE_PERIOD", "2")]);
    assert_eq!(out.code, Some(0), "a warning, not an error: {out:#?}");
    out.assert_stderr(
        "graceful: warning: the shutdown may take up to 3s (deadline 2s + `always` hooks 1s), longer than the grace period (GRACEFUL_GRACE_PERIOD=\"2\", 2s)",
    );
    // It is said at startup, before the shutdown.
    let warning = out.stderr.find("warning: the shutdown may take").unwrap();
    let shutdown = out.stderr.find("shutting down").unwrap();
    assert!(warning < shutdown, "{}", out.stderr);
}

#[test]
fn a_grace_period_that_holds_the_shutdown_says_nothing() {
    for grace in ["30", "3s", "1m"] {
        let out = stopped_by(SERVICE, "TERM", &[("GRACEFUL_GRACE_PERIOD", grace)]);
        assert_eq!(out.code, Some(0), "{out:#?}");
        assert!(!out.stderr.contains("warning"), "{grace}: {}", out.stderr);
    }
}

#[test]
fn a_grace_period_that_does_not_parse_stops_the_program_with_code_2() {
    let out = refused(&[("GRACEFUL_GRACE_PERIOD", "thirty")]);
    out.assert_stderr(
        "GRACEFUL_GRACE_PERIOD=\"thirty\" is not a duration: expected a number, found `thirty` (expected a duration like \"30s\" or \"1m30s\", or whole seconds like \"30\")",
    );
}

#[test]
fn a_bad_value_stops_the_program_with_code_2_even_when_stderr_is_closed() {
    let out = start_with_stderr_closed(SERVICE, &[("GRACEFUL_DEADLINE", "soon")]).exited();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
}
