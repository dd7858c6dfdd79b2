//! The queue example's journal, read back: with `--journal PATH`, the producer appends
//! `sent <id>` once the queue has a message, each worker `done <id> <pid>` once its
//! acknowledgement returned. A test of any queue reads it to see that nothing was lost or
//! done twice, whatever the broker's own ids.

use std::collections::HashMap;
use std::path::Path;

/// What a journal says.
#[derive(Debug, Default)]
pub struct Journal {
    /// The ids sent, in order.
    pub sent: Vec<String>,
    /// Each id done, and by which process, in order.
    pub done: Vec<(String, u32)>,
}

impl Journal {
    /// Reads the journal at `path`; a missing file is an empty journal. A line that is
    /// neither form fails the test: two processes' lines mixed into one. A last line with
    /// no newline yet is one still being written (a reader can see part of a write): it is
    /// read next time.
    pub fn read(path: &Path) -> Journal {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => panic!("cannot read the journal {}: {e}", path.display()),
        };
        Journal::parse(&text)
    }

    /// The journal of `text`, up to its last newline.
    fn parse(text: &str) -> Journal {
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        let mut journal = Journal::default();
        for line in complete.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["sent", id] => journal.sent.push((*id).to_owned()),
                ["done", id, pid] => journal.done.push((
                    (*id).to_owned(),
                    pid.parse()
                        .unwrap_or_else(|_| panic!("a journal line with a bad pid: {line:?}")),
                )),
                _ => panic!("a journal line of neither form: {line:?}"),
            }
        }
        journal
    }

    /// How many times each id was done.
    fn done_counts(&self) -> HashMap<&str, usize> {
        let mut counts = HashMap::new();
        for (id, _) in &self.done {
            *counts.entry(id.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// The ids done more than once.
    pub fn done_twice(&self) -> Vec<&str> {
        let mut twice: Vec<&str> = self
            .done_counts()
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id)
            .collect();
        twice.sort_unstable();
        twice
    }

    /// How many messages process `pid` did.
    pub fn done_by(&self, pid: u32) -> usize {
        self.done.iter().filter(|(_, by)| *by == pid).count()
    }

    /// How many `done` lines there are, by any process.
    pub fn done_lines(&self) -> usize {
        self.done.len()
    }

    /// Fails the test unless every id sent was done exactly once, and nothing was done
    /// that was not sent; names the ids at fault. Returns how many were sent.
    #[track_caller]
    pub fn assert_each_sent_done_once(&self) -> usize {
        assert!(!self.sent.is_empty(), "the journal shows nothing sent");
        let done = self.done_counts();
        let lost: Vec<&str> = self
            .sent
            .iter()
            .map(String::as_str)
            .filter(|id| !done.contains_key(id))
            .collect();
        let twice = self.done_twice();
        let sent: std::collections::HashSet<&str> = self.sent.iter().map(String::as_str).collect();
        assert_eq!(sent.len(), self.sent.len(), "an id was sent twice");
        let unknown: Vec<&str> = done
            .keys()
            .copied()
            .filter(|id| !sent.contains(id))
            .collect();
        assert!(
            lost.is_empty() && twice.is_empty() && unknown.is_empty(),
            "of {} sent: {} never done {:?}, {} done twice {:?}, {} done but never sent {:?}",
            self.sent.len(),
            lost.len(),
            first(&lost),
            twice.len(),
            first(&twice),
            unknown.len(),
            first(&unknown),
        );
        self.sent.len()
    }
}

/// The first few ids, for a message that stays readable.
fn first<'a>(ids: &'a [&'a str]) -> &'a [&'a str] {
    &ids[..ids.len().min(10)]
}

/// Watches a journal from another thread for the longest time between two `done` lines,
/// counted from the first: [`AckGaps::longest`] stops watching and says it.
pub struct AckGaps {
    watching: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: std::thread::JoinHandle<std::time::Duration>,
}

impl AckGaps {
    /// Starts watching the journal at `path`, reading it every 20 ms.
    pub fn watch(path: &Path) -> AckGaps {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::{Duration, Instant};
        let watching = std::sync::Arc::new(AtomicBool::new(true));
        let path = path.to_owned();
        let still = watching.clone();
        let watcher = std::thread::spawn(move || {
            let mut last_count = 0;
            let mut last_change = Instant::now();
            let mut longest = Duration::ZERO;
            while still.load(Ordering::Relaxed) {
                let count = Journal::read(&path).done.len();
                let now = Instant::now();
                if count != last_count {
                    if last_count > 0 {
                        longest = longest.max(now - last_change);
                    }
                    last_count = count;
                    last_change = now;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            longest
        });
        AckGaps { watching, watcher }
    }

    /// Stops watching; the longest time between two acknowledgements seen.
    pub fn longest(self) -> std::time::Duration {
        self.watching
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.watcher.join().expect("the watcher does not panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_still_being_written_is_not_read_yet() {
        let journal = Journal::parse("sent 1\ndone 1 42\ndone 2");
        assert_eq!(journal.sent, ["1"]);
        assert_eq!(journal.done, [("1".to_owned(), 42)]);
        let whole = Journal::parse("sent 1\ndone 1 42\ndone 2 43\n");
        assert_eq!(whole.done.len(), 2);
    }

    #[test]
    #[should_panic(expected = "a journal line of neither form")]
    fn a_whole_line_of_neither_form_fails() {
        Journal::parse("sent 1\ndone 1 42sent 2\n");
    }
}
