//! Medians over repeated runs, and figures written in a unit a reader takes in at once.

use std::time::Duration;

/// The figures of one measure over its runs.
#[derive(Clone, Debug, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// No figures yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a figure, which must be a number.
    pub fn push(&mut self, value: f64) {
        assert!(value.is_finite(), "a sample must be a number, got {value}");
        self.0.push(value);
    }

    /// Adds a duration, in seconds.
    pub fn push_duration(&mut self, d: Duration) {
        self.push(d.as_secs_f64());
    }

    /// How many figures there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The middle value (the mean of the two middle ones for an even count).
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        assert!(!v.is_empty(), "the median of no samples");
        let mid = v.len() / 2;
        if v.len() % 2 == 0 {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        }
    }

    /// The smallest figure.
    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    /// The largest figure.
    pub fn max(&self) -> f64 {
        *self.sorted().last().expect("the max of no samples")
    }
}

/// Seconds written in s, ms, µs or ns, whichever reads best.
pub fn secs(s: f64) -> String {
    let abs = s.abs();
    if abs >= 1.0 {
        format!("{s:.3} s")
    } else if abs >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if abs >= 1e-6 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ns", s * 1e9)
    }
}

/// Bytes written in KiB or MiB.
pub fn bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

/// `value / base` as `1.03×`.
pub fn ratio(value: f64, base: f64) -> String {
    if base == 0.0 {
        "–".to_owned()
    } else {
        format!("{:.2}×", value / base)
    }
}
