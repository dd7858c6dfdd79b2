//! The report as JSON, written by hand: a few dozen lines spare every program the
//! compile time of a serialization framework. The schema is documented on
//! [`Report::to_json`].

use std::fmt::Write;
use std::time::Duration;

use super::timestamp::Rfc3339;
use super::{millis, Exit, HookReport, Outcome, Report};
use crate::trigger::Trigger;

/// The schema's version: bumped only when a field changes meaning or goes away.
const VERSION: u32 = 1;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::with_capacity(512 + 160 * report.hooks.len());
    out.push_str(&format!("{{\"version\":{VERSION},\"trigger\":"));
    trigger(&mut out, &report.trigger);
    let _ = write!(
        out,
        ",\"started_at\":\"{}\",\"ended_at\":\"{}\",\"deadline_ms\":{},\"drain_delay_ms\":{},\"duration_ms\":{},\"exit_code\":{},\"exit\":\"{}\",\"forced_by\":",
        Rfc3339(report.started_at()),
        Rfc3339(report.ended_at),
        Millis(report.deadline),
        Millis(report.drain_delay),
        Millis(report.duration),
        report.exit.code(),
        exit_kind(report.exit),
    );
    match report.exit {
        Exit::Forced(signal) => string(&mut out, signal.name()),
        _ => out.push_str("null"),
    }
    out.push_str(",\"main_error\":");
    optional_string(&mut out, report.main_error.as_deref());
    let _ = write!(
        out,
        ",\"main_still_running\":{},\"tasks_still_running_count\":{},\"tasks_still_running\":[",
        report.body_still_running,
        report.tasks_still_running.len()
    );
    // A few names: a report must fit where it is read (Kubernetes keeps 4096 bytes of a
    // termination log), and thousands of connections cut alike say no more than twenty.
    let shown = report.tasks_still_running.iter().take(super::NAMES_SHOWN);
    for (i, task) in shown.enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, task);
    }
    out.push_str("],\"tasks_panicked\":[");
    for (i, task) in report.tasks_panicked.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        string(&mut out, &task.name);
        out.push_str(",\"message\":");
        string(&mut out, &task.message);
        out.push('}');
    }
    let counts = report.counts();
    let _ = write!(
        out,
        "],\"cut_at_hard_stop\":{},\"counts\":{{\"completed\":{},\"failed\":{},\"panicked\":{},\"timed_out\":{},\"cut_by_deadline\":{},\"skipped\":{},\"interrupted\":{},\"not_started\":{}}},\"hooks\":[",
        report.cut_at_hard_stop,
        counts.completed,
        counts.failed,
        counts.panicked,
        counts.timed_out,
        counts.cut_by_deadline,
        counts.skipped,
        counts.interrupted,
        counts.not_started
    );
    for (i, step) in report.hooks.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        hook(&mut out, step);
    }
    out.push_str("],\"consumers\":[");
    for (i, consumer) in report.consumers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        string(&mut out, &consumer.name);
        let c = consumer.counts;
        let _ = write!(
            out,
            ",\"taken\":{},\"done\":{},\"failed\":{},\"panicked\":{},\"retried\":{},\"rejected\":{},\"handed_back_unstarted\":{},\"handed_back_cut\":{},\"settle_failed\":{}}}",
            c.taken,
            c.done,
            c.failed,
            c.panicked,
            c.retried,
            c.rejected,
            c.handed_back_unstarted,
            c.handed_back_cut,
            c.settle_failed
        );
    }
    out.push_str("]}");
    out
}

fn trigger(out: &mut String, trigger: &Trigger) {
    match trigger {
        Trigger::Signal(signal) => {
            out.push_str("{\"kind\":\"signal\",\"signal\":");
            string(out, signal.name());
            out.push('}');
        }
        Trigger::Requested(reason) => {
            out.push_str("{\"kind\":\"requested\",\"reason\":");
            string(out, reason);
            out.push('}');
        }
        Trigger::BodyReturned => out.push_str("{\"kind\":\"main_returned\"}"),
        Trigger::BodyFailed => out.push_str("{\"kind\":\"main_failed\"}"),
        Trigger::BodyPanicked => out.push_str("{\"kind\":\"main_panicked\"}"),
        Trigger::TaskPanicked { task } => {
            out.push_str("{\"kind\":\"task_panicked\",\"task\":");
            string(out, task);
            out.push('}');
        }
        Trigger::Upgrade { pid } => {
            let _ = write!(out, "{{\"kind\":\"upgrade\",\"pid\":{pid}}}");
        }
    }
}

fn hook(out: &mut String, step: &HookReport) {
    out.push_str("{\"name\":");
    string(out, &step.name);
    let (outcome, message) = match &step.outcome {
        Outcome::Completed => ("completed", None),
        Outcome::Failed(message) => ("failed", Some(message.as_str())),
        Outcome::Panicked(message) => ("panicked", Some(message.as_str())),
        Outcome::TimedOut {
            by_deadline: false, ..
        } => ("timed_out", None),
        Outcome::TimedOut {
            by_deadline: true, ..
        } => ("cut_by_deadline", None),
        Outcome::Skipped => ("skipped", None),
        Outcome::Interrupted => ("interrupted", None),
        Outcome::NotStarted => ("not_started", None),
    };
    let _ = write!(
        out,
        ",\"order\":{},\"always\":{},\"started_after_ms\":",
        step.order, step.always,
    );
    match step.started_after {
        Some(after) => {
            let _ = write!(out, "{}", Millis(after));
        }
        None => out.push_str("null"),
    }
    let _ = write!(
        out,
        ",\"duration_ms\":{},\"outcome\":\"{outcome}\",\"message\":",
        Millis(step.duration),
    );
    optional_string(out, message);
    out.push('}');
}

fn exit_kind(exit: Exit) -> &'static str {
    match exit {
        Exit::Clean => "clean",
        Exit::Failed => "failed",
        Exit::Config => "config",
        Exit::Panicked => "panicked",
        Exit::DeadlineExceeded => "deadline_exceeded",
        Exit::Forced(_) => "forced",
    }
}

fn optional_string(out: &mut String, value: Option<&str>) {
    match value {
        Some(value) => string(out, value),
        None => out.push_str("null"),
    }
}

/// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7);
/// everything else, non-ASCII included, as is (the output is UTF-8).
fn string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            // Valid JSON as is, but JavaScript reads these as line ends: escaped, so the
            // report can be pasted into a script.
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A duration as a JSON number of milliseconds, to the microsecond: `2000`, `0.25`; the
/// same number the tracing events carry.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Display` of an `f64` writes the shortest decimal that reads back the same, and
        // never an exponent: `2000`, `0.25`, `1500.001`.
        write!(f, "{}", millis(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(value: &str) -> String {
        let mut out = String::new();
        string(&mut out, value);
        out
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quoted("plain"), "\"plain\"");
        assert_eq!(
            quoted("say \"no\" \\ twice\n\tthen\r"),
            r#""say \"no\" \\ twice\n\tthen\r""#
        );
        assert_eq!(
            quoted("\u{0}\u{1b}[31m\u{7f}"),
            r#""\u0000\u001b[31m\u007f""#
        );
        assert_eq!(quoted("naïve — 日本 🦀"), "\"naïve — 日本 🦀\"");
        assert_eq!(quoted("a\u{2028}b"), r#""a\u2028b""#);
    }

    #[test]
    fn milliseconds_keep_microseconds_and_drop_trailing_zeros() {
        assert_eq!(Millis(Duration::from_secs(2)).to_string(), "2000");
        assert_eq!(Millis(Duration::from_micros(250)).to_string(), "0.25");
        assert_eq!(
            Millis(Duration::from_micros(1_500_001)).to_string(),
            "1500.001"
        );
        assert_eq!(Millis(Duration::from_nanos(999)).to_string(), "0");
        assert_eq!(Millis(Duration::ZERO).to_string(), "0");
        assert_eq!(Millis(Duration::from_micros(9_766)).to_string(), "9.766");
        assert_eq!(
            Millis(Duration::from_secs(365 * 86_400)).to_string(),
            "31536000000"
        );
    }

    #[test]
    fn milliseconds_have_no_float_noise() {
        // Every microsecond count of the first ten seconds reads as written.
        for micros in (0..10_000_000u64).step_by(997) {
            let text = Millis(Duration::from_micros(micros)).to_string();
            let (whole, frac) = (micros / 1000, micros % 1000);
            let expected = if frac == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
            };
            assert_eq!(text, expected);
        }
    }
}
