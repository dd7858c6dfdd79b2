//! The queue example on a broker, as real processes: one producer process sends, consumer
//! processes are stopped, cut at the deadline and killed, and the journal shows that
//! nothing was lost or done twice. Shared by the test of each broker.

use graceful_process_tests as support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::journal::Journal;
use support::{eventually, example, Exited, Service};

/// One test's queue on one broker.
pub(crate) struct Queue {
    /// The broker's URL, for `--queue`.
    pub(crate) url: String,
    /// The queue's (or table's) name, of this test only.
    pub(crate) name: String,
    /// The journal file of this test.
    pub(crate) journal: PathBuf,
}

impl Queue {
    pub(crate) fn new(url: &str, test: &str) -> Queue {
        let name = support::broker::unique_name(test);
        let journal = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-{name}.log"));
        let _ = std::fs::remove_file(&journal);
        Queue {
            url: url.to_string(),
            name,
            journal,
        }
    }

    /// Starts the example on this queue, journaling, and waits for it to be ready.
    pub(crate) fn start(&self, consumer: &str, flags: &[(&str, &str)]) -> Service {
        let journal = self.journal.to_str().expect("a UTF-8 path");
        let consumer = format!("{}-{consumer}", self.name);
        let mut envs = vec![
            ("QUEUE_WORKER_QUEUE", self.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", self.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal),
        ];
        envs.extend_from_slice(flags);
        let mut svc = support::start(&example("queue_worker"), &envs);
        svc.wait_for("ready");
        svc
    }

    /// A producer of `rate` messages a second, consuming nothing.
    pub(crate) fn producer(&self, rate: &str) -> Service {
        self.start(
            "producer",
            &[("QUEUE_WORKER_RATE", rate), ("QUEUE_WORKER_WORKERS", "0")],
        )
    }

    pub(crate) fn read(&self) -> Journal {
        Journal::read(&self.journal)
    }

    /// A last consumer takes everything left, until each message sent was done, and
    /// stops cleanly.
    pub(crate) fn drain(&self) -> u32 {
        let mut last = self.start(
            "last",
            &[("QUEUE_WORKER_RATE", "0"), ("QUEUE_WORKER_OP_TIME", "10ms")],
        );
        let pid = last.id();
        eventually("every message sent is done", || {
            let read = self.read();
            let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
            !read.sent.is_empty() && read.sent.iter().all(|id| done.contains(id.as_str()))
        });
        last.signal("TERM");
        assert_clean_exit(&last.exited());
        pid
    }
}

#[track_caller]
pub(crate) fn assert_clean_exit(out: &Exited) {
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("exit code 0 (clean)");
    assert!(out.has_line("unplugged "), "{out:#?}");
}

/// SIGTERM to a consumer while another process produces: it finishes what it holds, a
/// final consumer empties the queue, and each message sent was done exactly once.
pub(crate) fn sigterm_mid_traffic_every_message_is_done_exactly_once(queue: &Queue) {
    let mut producer = queue.producer("50");
    let mut first = queue.start(
        "first",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
        ],
    );
    let first_pid = first.id();
    eventually("the first consumer is busy", || {
        queue.read().done_by(first_pid) > 10
    });
    first.signal("TERM");
    let out = first.exited();
    assert_clean_exit(&out);
    out.assert_stderr(" intake stopped; ");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    queue.drain();
    let read = queue.read();
    read.assert_each_sent_done_once();
    assert!(read.done_by(first_pid) > 10);
}

/// Work longer than the deadline: exit 124, what was cut is handed back before the exit
/// and done by the next instance, once.
pub(crate) fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once(queue: &Queue) {
    let mut cut = queue.start(
        "cut",
        &[
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "60s"),
            ("GRACEFUL_DEADLINE", "3s"),
        ],
    );
    let cut_pid = cut.id();
    cut.wait_for("running");
    cut.wait_for("running");
    cut.signal("TERM");
    let out = cut.exited();
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr(" and 5 cut");
    let next_pid = queue.drain();
    let read = queue.read();
    let sent = read.assert_each_sent_done_once();
    assert_eq!(
        read.done_by(cut_pid),
        0,
        "the cut instance finished nothing"
    );
    assert_eq!(read.done_by(next_pid), sent);
}

/// SIGKILL mid-work: the broker gives back what the killed process held, without waiting
/// for any timer, and nothing is lost.
pub(crate) fn a_killed_consumers_messages_come_back_and_nothing_is_lost(queue: &Queue) {
    let mut producer = queue.producer("40");
    let mut doomed = queue.start(
        "doomed",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "700ms"),
        ],
    );
    let doomed_pid = doomed.id();
    eventually("the doomed consumer is busy", || {
        queue.read().done_by(doomed_pid) > 5
    });
    doomed.signal("KILL");
    let out = doomed.exited();
    assert_eq!(out.code, None, "killed by a signal: {out:#?}");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    queue.drain();
    let read = queue.read();
    let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
    let lost: Vec<&String> = read
        .sent
        .iter()
        .filter(|id| !done.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "lost after a kill: {lost:?}");
    // Only the killed process's last moments can have run a message twice.
    let sent: HashSet<&str> = read.sent.iter().map(String::as_str).collect();
    assert!(
        done.iter().all(|id| sent.contains(id)),
        "done but never sent"
    );
}

/// A broker that cannot be reached, or refuses the login: a clear message naming it
/// without the password, and exit code 1, at once.
pub(crate) fn refused_at_start(url: &str, expected: &str) {
    let started = std::time::Instant::now();
    let svc = support::start(
        &example("queue_worker"),
        &[("QUEUE_WORKER_QUEUE", url), ("QUEUE_WORKER_RATE", "0")],
    );
    let out = svc.exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains(expected), "{url}: {}", out.stderr);
    assert!(
        !out.stderr.contains("secret"),
        "the password is not shown: {}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "at once, not {:?}",
        started.elapsed()
    );
}
