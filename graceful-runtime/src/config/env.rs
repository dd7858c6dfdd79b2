//! The environment variables that tune the shutdown without a rebuild, read once before
//! the body of `main` runs.
//!
//! Durations use the grammar of the attribute (`25s`, `1500ms`, `1m30s`): the parser is
//! the macro crate's own file, shared. A variable that is set but empty (or blank) counts
//! as unset: that is what a shell, a compose file or a manifest produce for a value left
//! out (`GRACEFUL_DEADLINE=${DEADLINE}`), and the only way an env file can take back an
//! inherited value.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::shared::duration;

/// The whole shutdown budget; overrides `deadline = "..."`.
pub(crate) const DEADLINE: &str = "GRACEFUL_DEADLINE";
/// The time between the signal and the teardown; overrides `drain_delay = "..."`.
pub(crate) const DRAIN_DELAY: &str = "GRACEFUL_DRAIN_DELAY";
/// The orchestrator's grace period, to check the shutdown fits in it.
pub(crate) const GRACE_PERIOD: &str = "GRACEFUL_GRACE_PERIOD";
/// Where to write the report as JSON.
pub(crate) const REPORT: &str = "GRACEFUL_REPORT";
/// How long an upgrade in place waits for the new process to say it is ready.
pub(crate) const UPGRADE_TIMEOUT: &str = "GRACEFUL_UPGRADE_TIMEOUT";

/// A duration read from a variable, with the text it was read from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvDuration {
    pub(crate) var: &'static str,
    pub(crate) text: String,
    pub(crate) value: Duration,
}

/// Shown as the operator wrote it: `GRACEFUL_DEADLINE="25s"`.
impl fmt::Display for EnvDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.var, self.text)
    }
}

/// What the environment sets; `None` for what it leaves to the attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Environment {
    pub(crate) deadline: Option<EnvDuration>,
    pub(crate) drain_delay: Option<EnvDuration>,
    pub(crate) grace_period: Option<EnvDuration>,
    pub(crate) report: Option<PathBuf>,
    pub(crate) upgrade_timeout: Option<EnvDuration>,
}

impl Environment {
    /// Reads the process environment. Returns one message per variable that does not
    /// parse, each naming the variable and its value.
    pub(crate) fn read() -> Result<Environment, Vec<String>> {
        Environment::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the variables through `get`.
    pub(crate) fn from_lookup(
        get: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Environment, Vec<String>> {
        let mut errors = Vec::new();
        let mut duration_var = |var: &'static str, bare_seconds: bool| {
            let text = match text(var, get(var)) {
                Ok(Some(text)) => text,
                Ok(None) => return None,
                Err(message) => {
                    errors.push(message);
                    return None;
                }
            };
            match parse_duration(&text, bare_seconds) {
                Ok(value) => Some(EnvDuration { var, text, value }),
                Err(error) => {
                    let expected = if bare_seconds {
                        "a duration like \"30s\" or \"1m30s\", or whole seconds like \"30\""
                    } else {
                        "a duration like \"25s\", \"1500ms\" or \"1m30s\""
                    };
                    errors.push(format!(
                        "{var}={text:?} is not a duration: {error} (expected {expected})"
                    ));
                    None
                }
            }
        };
        let deadline = duration_var(DEADLINE, false);
        let drain_delay = duration_var(DRAIN_DELAY, false);
        let grace_period = duration_var(GRACE_PERIOD, true);
        let upgrade_timeout = duration_var(UPGRADE_TIMEOUT, false);
        // A path need not be UTF-8: it is taken as the OS gives it.
        let report = get(REPORT)
            .filter(|path| !path.to_string_lossy().trim().is_empty())
            .map(PathBuf::from);
        if errors.is_empty() {
            Ok(Environment {
                deadline,
                drain_delay,
                grace_period,
                report,
                upgrade_timeout,
            })
        } else {
            Err(errors)
        }
    }
}

/// The variable's text; `None` when unset, empty or blank.
fn text(var: &str, value: Option<OsString>) -> Result<Option<String>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.into_string() {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(text)),
        Err(raw) => Err(format!(
            "{var}={:?} is not valid UTF-8",
            raw.to_string_lossy()
        )),
    }
}

/// The attribute's grammar; with `bare_seconds`, a plain integer counts seconds, as
/// Kubernetes writes `terminationGracePeriodSeconds`.
fn parse_duration(text: &str, bare_seconds: bool) -> Result<Duration, duration::DurationError> {
    let trimmed = text.trim();
    if bare_seconds && !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| duration::DurationError::Overflow);
    }
    duration::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Environment, Vec<String>> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        Environment::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn value(d: &Option<EnvDuration>) -> Option<Duration> {
        d.as_ref().map(|d| d.value)
    }

    #[test]
    fn a_bad_upgrade_timeout_is_reported_with_its_variable_and_value() {
        let errors = read(&[(UPGRADE_TIMEOUT, "soon")]).unwrap_err();
        assert_eq!(
            errors,
            ["GRACEFUL_UPGRADE_TIMEOUT=\"soon\" is not a duration: expected a number, found `soon` (expected a duration like \"25s\", \"1500ms\" or \"1m30s\")"]
        );
    }

    #[test]
    fn nothing_set_overrides_nothing() {
        assert_eq!(read(&[]).unwrap(), Environment::default());
    }

    #[test]
    fn durations_use_the_attribute_grammar() {
        let env = read(&[
            (DEADLINE, "1m30s"),
            (DRAIN_DELAY, "1500ms"),
            (GRACE_PERIOD, "2m"),
            (REPORT, "/dev/termination-log"),
        ])
        .unwrap();
        assert_eq!(value(&env.deadline), Some(Duration::from_secs(90)));
        assert_eq!(value(&env.drain_delay), Some(Duration::from_millis(1500)));
        assert_eq!(value(&env.grace_period), Some(Duration::from_secs(120)));
        assert_eq!(env.report, Some(PathBuf::from("/dev/termination-log")));
        assert_eq!(
            env.deadline.unwrap().to_string(),
            "GRACEFUL_DEADLINE=\"1m30s\""
        );
    }

    #[test]
    fn the_grace_period_may_be_whole_seconds_like_kubernetes_writes_it() {
        let env = read(&[(GRACE_PERIOD, " 30 ")]).unwrap();
        assert_eq!(value(&env.grace_period), Some(Duration::from_secs(30)));
        // Only the grace period: a bare number is ambiguous for the deadline.
        let errors = read(&[(DEADLINE, "30")]).unwrap_err();
        assert_eq!(
            errors,
            ["GRACEFUL_DEADLINE=\"30\" is not a duration: `30` has no unit; write it like `30s` (expected a duration like \"25s\", \"1500ms\" or \"1m30s\")"]
        );
    }

    #[test]
    fn empty_and_blank_values_count_as_unset() {
        let env = read(&[
            (DEADLINE, ""),
            (DRAIN_DELAY, "  "),
            (GRACE_PERIOD, ""),
            (REPORT, ""),
        ])
        .unwrap();
        assert_eq!(env, Environment::default());
    }

    #[test]
    fn every_bad_value_is_reported_with_its_variable_and_value() {
        let errors = read(&[
            (DEADLINE, "soon"),
            (DRAIN_DELAY, "1.5s"),
            (GRACE_PERIOD, "-30"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "GRACEFUL_DEADLINE=\"soon\" is not a duration: expected a number, found `soon`"
            ),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with(
                "GRACEFUL_DRAIN_DELAY=\"1.5s\" is not a duration: fractions are not supported"
            ),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with(
                "GRACEFUL_GRACE_PERIOD=\"-30\" is not a duration: a duration cannot be negative"
            ) && errors[2].ends_with("or whole seconds like \"30\")"),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn too_many_seconds_is_an_error_not_a_wrap() {
        let errors = read(&[(GRACE_PERIOD, "99999999999999999999999")]).unwrap_err();
        assert!(
            errors[0].contains("the duration is too large"),
            "{errors:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let errors = Environment::from_lookup(|name| {
            (name == DEADLINE).then(|| OsString::from_vec(vec![b'2', 0xff, b's']))
        })
        .unwrap_err();
        assert_eq!(
            errors,
            ["GRACEFUL_DEADLINE=\"2\u{fffd}s\" is not valid UTF-8"]
        );
    }
}
