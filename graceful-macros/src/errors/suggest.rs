//! "Did you mean …?": the nearest valid name to a misspelt one.

/// The candidate closest to `input`, if it is close enough to be what the user meant.
///
/// A candidate that differs only in case, or in `-` versus `_`, always wins. Otherwise the
/// distance is the number of single-character insertions, deletions, substitutions and
/// swaps of neighbours (`dedline`, `dealdine` → `deadline`), and it must be at most a
/// third of the longer name (at least 1), as rustc does for its own suggestions.
pub(crate) fn nearest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let normalized = normalize(input);
    if let Some(same) = candidates.iter().find(|c| normalize(c) == normalized) {
        return Some(same);
    }
    candidates
        .iter()
        .map(|candidate| (distance(&normalized, &normalize(candidate)), *candidate))
        .filter(|(distance, candidate)| {
            *distance <= input.chars().count().max(candidate.chars().count()).max(3) / 3
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The middle of "unknown X `y`{here}expected one of ...": `"; did you mean `z`? "` or `"; "`.
/// `shown` is the suggestion as it should be shown (`` `deadline` `` or `"SIGTERM"`).
pub(crate) fn did_you_mean(shown: Option<String>) -> String {
    shown.map_or_else(
        || "; ".to_owned(),
        |shown| format!("; did you mean {shown}? "),
    )
}

fn normalize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Optimal string alignment distance (Levenshtein plus swaps of two neighbours).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j] = distance between a[..i] and b[..j]
    let mut rows = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &[&str] = &[
        "deadline",
        "drain_delay",
        "signals",
        "flavor",
        "worker_threads",
        "tasks_order",
        "crate",
    ];

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("dedline", "deadline"), 1);
        assert_eq!(distance("dealdine", "deadline"), 1);
        assert_eq!(distance("ab", "ba"), 1);
    }

    #[test]
    fn suggests_the_nearest_name() {
        assert_eq!(nearest("dedline", MAIN), Some("deadline"));
        assert_eq!(nearest("dealdine", MAIN), Some("deadline"));
        assert_eq!(nearest("drain_dealy", MAIN), Some("drain_delay"));
        assert_eq!(nearest("signal", MAIN), Some("signals"));
        assert_eq!(nearest("flavour", MAIN), Some("flavor"));
        assert_eq!(nearest("worker_thread", MAIN), Some("worker_threads"));
        assert_eq!(nearest("task_order", MAIN), Some("tasks_order"));
        assert_eq!(
            nearest("timout", &["order", "timeout", "name", "always"]),
            Some("timeout")
        );
    }

    #[test]
    fn ignores_case_and_dashes() {
        assert_eq!(nearest("Deadline", MAIN), Some("deadline"));
        assert_eq!(nearest("drain-delay", MAIN), Some("drain_delay"));
        assert_eq!(nearest("sigterm", &["SIGINT", "SIGTERM"]), Some("SIGTERM"));
        assert_eq!(nearest("ctrl-c", &["ctrl_c", "ctrl_break"]), Some("ctrl_c"));
    }

    #[test]
    fn stays_quiet_when_nothing_is_close() {
        assert_eq!(nearest("runtime", MAIN), None);
        assert_eq!(nearest("x", MAIN), None);
        assert_eq!(nearest("", MAIN), None);
        assert_eq!(nearest("anything", &[]), None);
    }
}
