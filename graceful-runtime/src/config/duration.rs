//! The duration grammar of the attributes and the `GRACEFUL_*` variables, public, so that
//! a service's own flags accept the very words its environment does.

use std::fmt;
use std::time::Duration;

use crate::shared::duration;

/// Parses a duration as `GRACEFUL_DEADLINE` and the attributes read it: `"25s"`,
/// `"1500ms"`, `"1m30s"`, `"2h"`.
///
/// One or more segments `<integer><unit>`, units from largest to smallest, each at most
/// once; units `h`, `m`, `s`, `ms`, `us` (or `µs`), `ns`; spaces may separate them. No
/// sign and no fractions: `1.5s` is written `1500ms`. Zero (`"0s"`) parses: whether it
/// makes sense is for the value's user to say ([`Main::deadline`](crate::Main::deadline)
/// refuses it).
///
/// Its signature fits clap's `value_parser`, so a flag and the environment accept the
/// same words and refuse them with the same message:
///
/// ```
/// # use std::time::Duration;
/// // #[derive(clap::Parser)]
/// // struct Cli {
/// //     #[arg(long, default_value = "25s", value_parser = graceful::parse_duration)]
/// //     deadline: Duration,
/// // }
/// assert_eq!(graceful::parse_duration("1m30s")?, Duration::from_secs(90));
/// assert_eq!(
///     graceful::parse_duration("30").unwrap_err().to_string(),
///     "`30` has no unit; write it like `30s`"
/// );
/// # Ok::<(), graceful::DurationError>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    duration::parse(text).map_err(DurationError)
}

/// Why [`parse_duration`] refused a text: its `Display` says what is wrong and how to
/// write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError(duration::DurationError);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DurationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_parser_reads_the_grammar_and_says_what_is_wrong() {
        assert_eq!(parse_duration("25s"), Ok(Duration::from_secs(25)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        let refused = |text: &str| parse_duration(text).unwrap_err().to_string();
        assert_eq!(refused("30"), "`30` has no unit; write it like `30s`");
        assert_eq!(
            refused("1.5s"),
            "fractions are not supported; use a smaller unit, like `1500ms` instead of `1.5s`"
        );
        assert_eq!(refused("soon"), "expected a number, found `soon`");
        assert_eq!(refused(""), "the duration is empty");
    }
}
