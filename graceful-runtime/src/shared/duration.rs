//! Parsing of duration strings such as `"30s"`, `"1500ms"` or `"1m30s"`.
//!
//! Grammar: one or more segments `<integer><unit>`, units from largest to smallest, each unit
//! at most once. Whitespace may separate segments and a number from its unit. Units: `h`,
//! `m`, `s`, `ms`, `us` (or `µs`), `ns`. No sign, no fractions: `1.5s` is written `1500ms`.
//!
//! The attributes parse their durations with it at compile time, the runtime parses the
//! `GRACEFUL_*` variables with it at run time: one grammar for both.

use core::fmt;
use core::time::Duration;

/// The units, largest first, with their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
];

/// The unit list as shown in error messages.
pub(crate) const UNIT_LIST: &str = "`h`, `m`, `s`, `ms`, `us`, `ns`";

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Nothing but whitespace.
    Empty,
    /// Starts with `-`.
    Negative,
    /// Something other than a digit where a number must start.
    ExpectedNumber(String),
    /// A number with no unit after it.
    MissingUnit(String),
    /// A unit that is not one of [`UNIT_LIST`].
    UnknownUnit(String),
    /// A number with `_` between its digits, as Rust allows in literals: `1_500`.
    DigitSeparator(String),
    /// A number with a decimal point.
    Fraction,
    /// A unit repeated or smaller units before larger ones.
    UnitOrder,
    /// More than `Duration` can hold.
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the duration is empty"),
            Self::Negative => f.write_str("a duration cannot be negative"),
            Self::ExpectedNumber(found) => write!(f, "expected a number, found `{found}`"),
            Self::MissingUnit(number) => {
                write!(f, "`{number}` has no unit; write it like `{number}s`")
            }
            Self::UnknownUnit(unit) => {
                write!(f, "unknown unit `{unit}`; expected one of {UNIT_LIST}")
            }
            Self::DigitSeparator(number) => write!(
                f,
                "`_` cannot separate digits in a duration; write `{}` instead of `{number}`",
                number.replace('_', "")
            ),
            Self::Fraction => f.write_str(
                "fractions are not supported; use a smaller unit, like `1500ms` instead of `1.5s`",
            ),
            Self::UnitOrder => f.write_str(
                "units must go from largest to smallest, each at most once, like `1m30s`",
            ),
            Self::Overflow => f.write_str("the duration is too large"),
        }
    }
}

/// Parses a duration such as `"25s"`, `"1500ms"`, `"1m30s"` or `"2h"`. Zero is allowed here;
/// callers that need a positive value check for it.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    if rest.starts_with('-') {
        return Err(DurationError::Negative);
    }
    let mut total: u128 = 0;
    // Index into `UNITS` of the previous segment's unit; the next one must come after it.
    let mut previous_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            let found = rest.split_whitespace().next().unwrap_or(rest);
            return Err(DurationError::ExpectedNumber(found.to_owned()));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with(['.', ',']) {
            return Err(DurationError::Fraction);
        }
        if after.starts_with('_') {
            let separated = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c == '_')
                    .len();
            return Err(DurationError::DigitSeparator(rest[..separated].to_owned()));
        }
        let after = after.trim_start();
        let unit_len = after.len() - after.trim_start_matches(char::is_alphabetic).len();
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(number.to_owned()));
        }
        let (unit, after) = after.split_at(unit_len);
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(DurationError::UnknownUnit(unit.to_owned()));
        };
        if previous_unit.is_some_and(|previous| index <= previous || same_unit(index, previous)) {
            return Err(DurationError::UnitOrder);
        }
        previous_unit = Some(index);
        let value: u128 = number.parse().map_err(|_| DurationError::Overflow)?;
        total = value
            .checked_mul(UNITS[index].1)
            .and_then(|nanos| total.checked_add(nanos))
            .ok_or(DurationError::Overflow)?;
        rest = after.trim_start();
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| DurationError::Overflow)?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| DurationError::Overflow)?;
    Ok(Duration::new(secs, nanos))
}

/// `us` and `µs` are one unit.
fn same_unit(a: usize, b: usize) -> bool {
    UNITS[a].1 == UNITS[b].1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        match parse(text) {
            Ok(duration) => duration,
            Err(error) => panic!("`{text}` should parse, got: {error}"),
        }
    }

    fn err(text: &str) -> DurationError {
        match parse(text) {
            Ok(duration) => panic!("`{text}` should not parse, got {duration:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn single_units() {
        assert_eq!(ok("25s"), Duration::from_secs(25));
        assert_eq!(ok("1500ms"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("250µs"), Duration::from_micros(250));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn combinations() {
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h2m3s"), Duration::from_secs(3723));
        assert_eq!(ok("1s500ms"), Duration::from_millis(1500));
        assert_eq!(ok("1m 30s"), Duration::from_secs(90));
        assert_eq!(ok(" 30 s "), Duration::from_secs(30));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(err(""), DurationError::Empty);
        assert_eq!(err("   "), DurationError::Empty);
        assert_eq!(err("soon"), DurationError::ExpectedNumber("soon".into()));
        assert_eq!(
            err("3 parsecs"),
            DurationError::UnknownUnit("parsecs".into())
        );
        assert_eq!(err("30"), DurationError::MissingUnit("30".into()));
        assert_eq!(err("-5s"), DurationError::Negative);
        assert_eq!(err("+5s"), DurationError::ExpectedNumber("+5s".into()));
        assert_eq!(err("1.5s"), DurationError::Fraction);
        assert_eq!(
            err("1_500ms"),
            DurationError::DigitSeparator("1_500".into())
        );
        assert_eq!(
            err("1m 1_0_0s"),
            DurationError::DigitSeparator("1_0_0".into())
        );
        assert_eq!(err("30S"), DurationError::UnknownUnit("S".into()));
        assert_eq!(err("30s1m"), DurationError::UnitOrder);
        assert_eq!(err("1s1s"), DurationError::UnitOrder);
        assert_eq!(err("1us1µs"), DurationError::UnitOrder);
        assert_eq!(err("1m30"), DurationError::MissingUnit("30".into()));
        assert_eq!(err("30s!"), DurationError::ExpectedNumber("!".into()));
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(
            err("99999999999999999999999999999999999999999h"),
            DurationError::Overflow
        );
        assert_eq!(err("18446744073709551615h"), DurationError::Overflow);
        assert_eq!(ok("18446744073709551615s"), Duration::from_secs(u64::MAX));
    }

    #[test]
    fn messages_are_lowercase_and_helpful() {
        assert_eq!(
            err("3 parsecs").to_string(),
            "unknown unit `parsecs`; expected one of `h`, `m`, `s`, `ms`, `us`, `ns`"
        );
        assert_eq!(
            err("30").to_string(),
            "`30` has no unit; write it like `30s`"
        );
        assert_eq!(err("soon").to_string(), "expected a number, found `soon`");
        // Not "`1` has no unit; write it like `1s`", which would be 1.5 s off.
        assert_eq!(
            err("1_500ms").to_string(),
            "`_` cannot separate digits in a duration; write `1500` instead of `1_500`"
        );
    }
}
