//! The queue example on a broker, as real processes: a producer process sends, consumer
//! processes are stopped by SIGTERM, cut at the deadline, killed, upgraded in place and
//! cut off from the broker, and the journal shows afterwards that nothing was lost or
//! done twice. Shared by the tests of RabbitMQ, PostgreSQL, Redis Streams and NATS
//! JetStream; what differs between brokers is in the small functions at the end.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graceful_process_tests as support;
use support::broker::Broker;
use support::journal::Journal;
use support::{eventually, example, Exited, Service};

/// How a broker keeps its messages, which decides a few of the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// RabbitMQ and PostgreSQL: a message leaves the queue (the table) once acknowledged,
    /// and what a killed process held comes back at once.
    Queue,
    /// Redis Streams and NATS JetStream: a message stays in the stream, leased to one
    /// consumer at a time; what a killed process held comes back after the lease.
    Stream,
}

/// One test's queue on one broker, and its journal. Dropped, it deletes what the test
/// made on the broker.
pub(crate) struct Queue {
    pub(crate) broker: Broker,
    /// The queue's (table's, stream's) name, of this test only.
    pub(crate) name: String,
    /// The journal file of this test.
    pub(crate) journal: PathBuf,
}

impl Queue {
    /// A queue named after `name` on `broker`, or `None` when the broker does not answer
    /// (skipped, or failed under `GRACEFUL_TEST_BROKERS=require`, naming `test`).
    #[track_caller]
    pub(crate) fn on(broker: Broker, test: &str, name: &str) -> Option<Queue> {
        if !support::broker::available(broker, test) {
            return None;
        }
        let name = support::broker::unique_name(name);
        // Of its own too: runs of one test at once never share a journal.
        let journal = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-{name}.log"));
        let _ = std::fs::remove_file(&journal);
        Some(Queue {
            broker,
            name,
            journal,
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        match self.broker.name {
            "RabbitMQ" | "PostgreSQL" => Kind::Queue,
            "Redis" | "NATS" => Kind::Stream,
            other => panic!("no kind for {other}"),
        }
    }

    /// Starts `program` on this queue at `url`, with the journal, as `consumer` (made this
    /// test's own: the name is also the scratch directory's), and waits for it to be ready.
    pub(crate) fn start_at(
        &self,
        program: &str,
        url: &str,
        consumer: &str,
        flags: &[(&str, &str)],
    ) -> Service {
        let journal = self.journal.to_str().expect("a UTF-8 path");
        let consumer = format!("{}-{consumer}", self.name);
        let mut envs = vec![
            ("QUEUE_WORKER_QUEUE", url),
            ("QUEUE_WORKER_QUEUE_NAME", self.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal),
        ];
        envs.extend_from_slice(flags);
        let mut svc = support::start(program, &envs);
        svc.wait_for("ready");
        svc
    }

    /// Starts the example on this queue as `consumer`, and waits for it to be ready.
    pub(crate) fn start(&self, consumer: &str, flags: &[(&str, &str)]) -> Service {
        self.start_at(&example("queue_worker"), self.broker.url, consumer, flags)
    }

    /// A producer of `rate` messages a second, consuming nothing.
    pub(crate) fn producer(&self, rate: &str) -> Service {
        self.start(
            "producer",
            &[("QUEUE_WORKER_RATE", rate), ("QUEUE_WORKER_WORKERS", "0")],
        )
    }

    pub(crate) fn journal(&self) -> Journal {
        Journal::read(&self.journal)
    }

    /// Whether every message sent has a `done` line.
    pub(crate) fn all_sent_done(&self) -> bool {
        missing(&self.journal()).is_empty()
    }

    /// The clean exit of a process of this queue.
    #[track_caller]
    pub(crate) fn assert_clean_exit(&self, out: &Exited) {
        assert_eq!(out.code, Some(0), "{out:#?}");
        match self.kind() {
            Kind::Queue => {
                out.assert_stderr("exit code 0 (clean)");
                assert!(out.has_line("unplugged "), "{out:#?}");
            }
            Kind::Stream => out.assert_stderr(
                "steps: 4 ok, 0 failed, 0 timed out, 0 skipped; exit code 0 (clean)",
            ),
        }
    }

    /// Starts a last consumer (with `lease`, when given) and waits, at most 30 s, until
    /// `settled` says the ids still without a `done` line are all there will be. Returns
    /// the consumer, still running, and those ids; or the ids missing after the 30 s.
    fn last_consumer(
        &self,
        lease: Option<&str>,
        mut settled: impl FnMut(&Journal, &[String]) -> bool,
    ) -> (Service, Result<Vec<String>, Vec<String>>) {
        let mut flags = vec![("QUEUE_WORKER_RATE", "0"), ("QUEUE_WORKER_OP_TIME", "10ms")];
        flags.extend(lease.map(|lease| ("QUEUE_WORKER_LEASE", lease)));
        let last = self.start("last", &flags);
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let journal = self.journal();
            let missing = missing(&journal);
            if settled(&journal, &missing) {
                return (last, Ok(missing));
            }
            if Instant::now() > until {
                return (last, Err(missing));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A last consumer does every message sent and stops cleanly; each was done exactly
    /// once. On a stream, with `lease`, and the stream is then empty. Returns the last
    /// consumer's pid and how many were sent.
    pub(crate) fn drain_and_check(&self, lease: &str) -> (u32, usize) {
        match self.kind() {
            Kind::Queue => {
                let (pid, _) = self.drain_but(0);
                (pid, self.journal().assert_each_sent_done_once())
            }
            Kind::Stream => self.drain_after_a_kill(lease, 0),
        }
    }

    /// On a queue: a last consumer takes everything left, until at most `unjournaled`
    /// messages sent have no `done` line and nothing more is done for two seconds (after a
    /// kill, a message the broker had the acknowledgement of when the kill came has none),
    /// and stops cleanly. Returns its pid and the ids without a `done` line.
    pub(crate) fn drain_but(&self, unjournaled: usize) -> (u32, Vec<String>) {
        let mut settled_since: Option<(Instant, usize)> = None;
        let (mut last, missing) = self.last_consumer(None, |journal, missing| {
            let nothing_sent = journal.sent.is_empty();
            if !nothing_sent && missing.is_empty() {
                return true;
            }
            if !nothing_sent && missing.len() <= unjournaled {
                match settled_since {
                    Some((since, n)) if n == missing.len() => {
                        return since.elapsed() > Duration::from_secs(2);
                    }
                    _ => settled_since = Some((Instant::now(), missing.len())),
                }
            }
            false
        });
        let pid = last.id();
        let missing = missing.unwrap_or_else(|missing| {
            panic!("not every message sent was done: missing {missing:?}")
        });
        last.signal("TERM");
        self.assert_clean_exit(&last.exited());
        (pid, missing)
    }

    /// On a stream, after a kill: a last consumer (with `lease`) does every message sent
    /// and stops cleanly. Up to `unjournaled` messages may lack their `done` line,
    /// acknowledged by the killed process in the instant before the kill, after their work
    /// and before its journal line; the broker must hold nothing then (none waits, none
    /// was lost on the broker's side), and none was done twice. Returns the last
    /// consumer's pid and how many were sent.
    pub(crate) fn drain_after_a_kill(&self, lease: &str, unjournaled: usize) -> (u32, usize) {
        let (mut last, left) = self.last_consumer(Some(lease), |_, missing| {
            missing.is_empty() || (missing.len() <= unjournaled && self.remaining() == 0)
        });
        let pid = last.id();
        if let Err(left) = left {
            last.signal("TERM");
            let out = last.exited();
            panic!(
                "the last consumer did not do {} message(s) sent within 30 s: {:?}; its output: {out:#?}",
                left.len(),
                &left[..left.len().min(10)]
            );
        }
        // Long enough for a message done twice to show.
        std::thread::sleep(Duration::from_millis(300));
        last.signal("TERM");
        self.assert_clean_exit(&last.exited());
        assert_eq!(self.remaining(), 0, "messages left on the broker");
        let journal = self.journal();
        if unjournaled == 0 {
            return (pid, journal.assert_each_sent_done_once());
        }
        assert!(
            journal.done_twice().is_empty(),
            "done twice: {:?}",
            journal.done_twice()
        );
        let left = missing(&journal);
        assert!(left.len() <= unjournaled, "never done: {left:?}");
        (pid, journal.sent.len())
    }

    /// Messages still on the broker: ready in the queue, rows in the table, entries in the
    /// stream (delivered or not).
    pub(crate) fn remaining(&self) -> u64 {
        match self.broker.name {
            "RabbitMQ" => rabbitmq_counts(self.broker.url, &self.name).ready,
            "PostgreSQL" => postgres_rows(self.broker.url, &self.name),
            "Redis" => redis_xlen(self.broker.addr, &self.name),
            "NATS" => nats_stream_messages(self.broker.addr, &self.name),
            other => panic!("no count for {other}"),
        }
    }
}

impl Drop for Queue {
    /// Deletes what the test made on the broker, whatever happened, and the journal when
    /// the test passed. A failed deletion on a stream fails a test that passed.
    fn drop(&mut self) {
        let (broker, name) = (self.broker, self.name.clone());
        // On a thread of its own, waited for a bounded time: a broker that stopped
        // answering must not keep a test from ending and saying what it found.
        let (sent, deleted) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| delete(broker, &name));
            let _ = sent.send(result);
        });
        match deleted.recv_timeout(CLEANUP_PATIENCE) {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!(
                "cannot delete the test's {} on {}: {e}",
                self.name, broker.name
            ),
            Ok(Err(panic)) if !std::thread::panicking() => std::panic::resume_unwind(panic),
            Ok(Err(_)) => {}
            Err(_) => eprintln!(
                "cannot delete the test's {} on {}: no answer within {CLEANUP_PATIENCE:?}",
                self.name, broker.name
            ),
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.journal);
        }
    }
}

/// How long a test's cleanup may take on its broker.
const CLEANUP_PATIENCE: Duration = Duration::from_secs(15);

/// The ids sent that have no `done` line.
fn missing(journal: &Journal) -> Vec<String> {
    let done: HashSet<&str> = journal.done.iter().map(|(id, _)| id.as_str()).collect();
    journal
        .sent
        .iter()
        .filter(|id| !done.contains(id.as_str()))
        .cloned()
        .collect()
}

/// SIGTERM to a consumer while another process produces: it finishes what it holds (on a
/// stream, and hands back what it took ahead), a last consumer empties the queue, and
/// every message sent was done exactly once.
pub(crate) fn sigterm_mid_traffic(queue: &Queue) {
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
        queue.journal().done_by(first_pid) > 10
    });
    first.signal("TERM");
    let out = first.exited();
    queue.assert_clean_exit(&out);
    // It finished what it held: no handler gave its message up (a failed one would be
    // retried and done by the last consumer, and the journal would not show it).
    out.assert_stderr(", failed 0 (");
    match queue.kind() {
        Kind::Queue => out.assert_stderr(" intake stopped; "),
        Kind::Stream => {
            out.assert_stderr(&format!(
                "consumer \"{}-first\": intake stopped; ",
                queue.name
            ));
            out.assert_stderr(" 0 cut");
            assert!(out.has_line("final: here done"), "{out:#?}");
        }
    }
    producer.signal("TERM");
    queue.assert_clean_exit(&producer.exited());
    let (_, sent) = queue.drain_and_check("30s");
    match queue.kind() {
        Kind::Queue => assert!(queue.journal().done_by(first_pid) > 10),
        Kind::Stream => {
            assert!(sent > 10);
            assert!(queue.journal().done_by(first_pid) > 0);
        }
    }
}

/// Work longer than the deadline: exit 124, what was cut is handed back before the exit
/// and done by the next instance, once.
pub(crate) fn cut_at_the_deadline(queue: &Queue) {
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
    out.assert_stderr(match queue.kind() {
        Kind::Queue => " and 5 cut",
        Kind::Stream => "and 5 cut",
    });
    let started = Instant::now();
    // On a stream, a lease far longer than the test: what was cut must come back by the
    // hand-back, not by a timer.
    let (next_pid, sent) = queue.drain_and_check("10m");
    if queue.kind() == Kind::Stream {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the cut messages waited: {:?}",
            started.elapsed()
        );
        assert!(sent >= 5);
    }
    let journal = queue.journal();
    assert_eq!(
        journal.done_by(cut_pid),
        0,
        "the cut instance finished nothing"
    );
    if queue.kind() == Kind::Queue {
        assert_eq!(journal.done_by(next_pid), sent);
    }
}

/// Starts `consumer`, waits until it has done more than 5 messages, and kills it.
fn kill_when_busy(queue: &Queue, consumer: &str, busy: &str, flags: &[(&str, &str)]) {
    let mut killed = queue.start(consumer, flags);
    let killed_pid = killed.id();
    eventually(busy, || queue.journal().done_by(killed_pid) > 5);
    killed.signal("KILL");
    let out = killed.exited();
    assert_eq!(out.code, None, "killed by a signal: {out:#?}");
}

/// On a queue, SIGKILL mid-work: the broker gives back what the killed process held,
/// without waiting for any timer, and nothing is lost. The caller checks that the queue
/// is empty.
pub(crate) fn a_killed_consumers_messages_come_back(queue: &Queue) {
    let mut producer = queue.producer("40");
    kill_when_busy(
        queue,
        "doomed",
        "the doomed consumer is busy",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "700ms"),
        ],
    );
    producer.signal("TERM");
    queue.assert_clean_exit(&producer.exited());
    // A message the killed process had acknowledged, but not yet journaled, when the kill
    // came has no `done` line: at most one per handler. The caller checks that the queue
    // is empty, so none of them is waiting anywhere.
    let (_, unjournaled) = queue.drain_but(5);
    let read = queue.journal();
    let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
    let sent: HashSet<&str> = read.sent.iter().map(String::as_str).collect();
    assert!(
        done.iter().all(|id| sent.contains(id)),
        "done but never sent"
    );
    // Only what the killed process held when it died can have run twice.
    assert!(
        read.done_twice().len() <= 5,
        "done twice: {:?}",
        read.done_twice()
    );
    if !unjournaled.is_empty() {
        eprintln!("acknowledged by the killed process before its journal line: {unjournaled:?}");
    }
}

/// On a stream, SIGKILL mid-work: nothing is lost; what the killed process held comes
/// back after the lease (the claim time, the ack wait) and is done by another.
pub(crate) fn sigkill_loses_nothing(queue: &Queue) {
    kill_when_busy(
        queue,
        "killed",
        "the consumer is busy",
        &[
            ("QUEUE_WORKER_RATE", "30"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "700ms"),
            ("QUEUE_WORKER_LEASE", "2s"),
        ],
    );
    queue.drain_after_a_kill("2s", 10);
}

/// Starts the example with `envs`, which must fail at start: exit code 1. Returns its
/// output and how long it took.
fn start_refused(envs: &[(&str, &str)]) -> (Exited, Duration) {
    let started = Instant::now();
    let out = support::start(&example("queue_worker"), envs).exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    (out, started.elapsed())
}

/// A broker that cannot be reached, or refuses the login: a clear message naming it
/// without the password, and exit code 1, at once.
pub(crate) fn refused_at_start(url: &str, expected: &str) {
    let (out, took) = start_refused(&[("QUEUE_WORKER_QUEUE", url), ("QUEUE_WORKER_RATE", "0")]);
    assert!(out.stderr.contains(expected), "{url}: {}", out.stderr);
    assert!(
        !out.stderr.contains("secret"),
        "the password is not shown: {}",
        out.stderr
    );
    assert!(took < Duration::from_secs(8), "at once, not {took:?}");
}

/// A broker that cannot be reached: exit 1 at once, naming the URL and the queue.
pub(crate) fn unreachable_broker(queue: &Queue, url: &str, expected: &str) {
    let (out, took) = start_refused(&[
        ("QUEUE_WORKER_QUEUE", url),
        ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
        (
            "QUEUE_WORKER_CONSUMER",
            &format!("{}-unreachable", queue.name),
        ),
    ]);
    out.assert_stderr(expected);
    out.assert_stderr(&queue.name);
    assert!(took < Duration::from_secs(20), "bounded in time");
}

/// For an upgrade test: this process the reaper of its descendants, and a scratch
/// directory with a copy of the example in it. Returns the directory and the copy.
#[cfg(target_os = "linux")]
fn deployed(queue: &Queue) -> (PathBuf, PathBuf) {
    support::upgrade::become_subreaper();
    let dir = support::upgrade::scratch(&queue.name);
    let app = dir.join("queue_worker");
    support::upgrade::deploy(&example("queue_worker"), &app);
    (dir, app)
}

/// Puts a binary that exits 3 at once in place of `app`, as a broken build would be.
#[cfg(target_os = "linux")]
fn break_binary(dir: &Path, app: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let broken = dir.join("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&broken, app).unwrap();
}

/// Three upgrades in place (SIGHUP, a fresh binary on disk) of a consumer while another
/// process produces: every old process exits 0, every message sent is done exactly once,
/// and the acknowledgements never pause for more than half a second.
#[cfg(target_os = "linux")]
pub(crate) fn upgrades_in_place_under_load(queue: &Queue) {
    use support::journal::AckGaps;
    use support::upgrade;

    let (dir, app) = deployed(queue);
    let svc = queue.start_at(
        app.to_str().unwrap(),
        queue.broker.url,
        "upgraded",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "400ms"),
        ],
    );
    // 20 a second for 10 handlers of 400 ms (25 a second): no backlog, so that the
    // acknowledgements come spread out and a gap between them is a pause of consumption,
    // not handlers that started together ending together.
    let mut producer = queue.producer("20");
    let (busy, done_at_least, between_rounds) = match queue.kind() {
        Kind::Queue => ("the first generation acknowledges", 5, 500),
        Kind::Stream => ("the consumer is busy", 10, 700),
    };

    // The longest time between two acknowledgements, watched while the upgrades run.
    let gaps = AckGaps::watch(&queue.journal);
    let mut pids = vec![svc.id()];
    eventually(busy, || queue.journal().done_by(pids[0]) > done_at_least);
    for round in 0..3 {
        let old = *pids.last().unwrap();
        upgrade::deploy(&example("queue_worker"), &app);
        upgrade::signal(old, "HUP");
        let new = upgrade::replaced(old, || {
            queue
                .journal()
                .done
                .iter()
                .rev()
                .map(|(_, pid)| *pid)
                .find(|pid| !pids.contains(pid))
                .unwrap_or(old)
        });
        pids.push(new);
        assert_eq!(
            upgrade::exit_code(old, support::PATIENCE),
            Some(0),
            "round {round}: the old process {old} did not exit 0"
        );
        std::thread::sleep(Duration::from_millis(between_rounds));
    }
    let longest_gap = gaps.longest();
    eprintln!("the longest pause in acknowledgements through three upgrades: {longest_gap:?}");
    producer.signal("TERM");
    queue.assert_clean_exit(&producer.exited());
    eventually("every message sent is done", || queue.all_sent_done());
    let last = *pids.last().unwrap();
    upgrade::signal(last, "TERM");
    assert_eq!(upgrade::exit_code(last, support::PATIENCE), Some(0));
    eventually("every generation's output is read", || {
        svc.printed_all("unplugged ").len() == pids.len()
    });
    let journal = queue.journal();
    journal.assert_each_sent_done_once();
    for pid in &pids {
        assert!(journal.done_by(*pid) > 0, "generation {pid} did nothing");
    }
    // No generation gave up a message at its handover (the next one would have done it,
    // and the journal would not show it).
    assert!(
        !svc.stderr_has(" failed (attempt "),
        "a message failed through the upgrades"
    );
    if queue.kind() == Kind::Stream {
        // Each generation finished what it had started: nothing was cut.
        assert_eq!(svc.printed_all("final:").len(), pids.len());
        assert!(
            !svc.stderr_has("work cut short at the hard stop"),
            "work was cut"
        );
    }
    // About 0.1 s on an idle machine; a pause of consumption (a restart, or messages
    // waiting for a claim or an ack wait) is seconds.
    assert!(
        longest_gap <= Duration::from_millis(500),
        "acknowledgements paused for {longest_gap:?}"
    );
    if queue.kind() == Kind::Stream {
        assert_eq!(queue.remaining(), 0, "messages left on the broker");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Upgrades that fail: a new binary that exits at once, then the real one, started and
/// rolled back before it is ready. Neither leaves a trace: while each upgrade runs and
/// after it, the consumers the broker has on the queue stay as they were (none on
/// PostgreSQL's table to count) and no message is done by another process; the old
/// process goes on consuming what it holds and what arrives, and at the end every message
/// sent was done exactly once, by it, and nothing is left on the broker.
///
/// The real binary is made to be mid-start at its rollback, whatever the machine's speed:
/// the old process reaches the broker through a proxy, which holds the new process's
/// first connection unanswered past the upgrade's timeout, until the new process has
/// heard its rollback (its `SIGTERM`); then lets it through. The new process finishes its
/// start during its drain delay: connected, its consumer started, never ready. A process
/// whose consumer took messages before it was ready (or once its stop had begun) would
/// show, on RabbitMQ, Redis and NATS, as a consumer more on the broker, and everywhere as
/// messages done by another process.
#[cfg(target_os = "linux")]
pub(crate) fn upgrades_that_fail_leave_no_trace(queue: &Queue) {
    let (dir, app) = deployed(queue);
    let proxy = Proxy::start(queue.broker);
    let mut producer = queue.producer("20");
    let mut svc = queue.start_at(
        app.to_str().unwrap(),
        &proxy.url(),
        "kept",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
            // Long enough for a new process to start its program (its signal handlers
            // in place), far shorter than the proxy holds its first connection.
            ("GRACEFUL_UPGRADE_TIMEOUT", "300ms"),
        ],
    );
    let pid = svc.id();
    eventually("the process acknowledges", || {
        queue.journal().done_by(pid) > 5
    });
    // The consumer the old process registered, and no other.
    let before = registrations(queue);
    assert!(
        before.is_none_or(|n| n == 1),
        "one registration: {before:?}"
    );

    break_binary(&dir, &app);
    failed_upgrade(
        queue,
        &mut svc,
        before,
        "a binary that exits at once",
        |_| {},
    );

    // The real binary, held at its first connection until its rollback has begun.
    support::upgrade::deploy(&example("queue_worker"), &app);
    let rolled_back = "new): SIGTERM: shutting down";
    proxy.hold();
    failed_upgrade(
        queue,
        &mut svc,
        before,
        "the real binary, rolled back",
        |svc| {
            if proxy.held() > 0 && svc.stderr_has(rolled_back) {
                proxy.release();
            }
        },
    );
    assert!(
        proxy.released(),
        "the real binary never connected, or never heard its rollback"
    );
    // It started its consumer, which took nothing.
    let consumer = format!("{}-kept", queue.name);
    assert!(
        svc.stderr_has(&format!(
            "new): consumer \"{consumer}\": intake stopped; 0 message(s) under way, 0 handed back unstarted"
        )),
        "the rolled-back process's consumer did not end having taken nothing"
    );

    let done_before = queue.journal().done_by(pid);
    eventually("the old process goes on consuming", || {
        queue.journal().done_by(pid) > done_before + 20
    });
    producer.signal("TERM");
    queue.assert_clean_exit(&producer.exited());
    eventually("every message sent is done", || queue.all_sent_done());
    svc.signal("TERM");
    let out = svc.exited();
    queue.assert_clean_exit(&out);
    let journal = queue.journal();
    journal.assert_each_sent_done_once();
    assert_eq!(
        journal.done_by(pid),
        journal.done_lines(),
        "a process whose upgrade failed did messages"
    );
    assert_eq!(queue.remaining(), 0, "messages left on the broker");
    // The second upgrade's process was the real binary, and its rollback came before it
    // was ready: it said so, and never that it was.
    let started = out.stderr.matches("upgrade: started ").count();
    assert_eq!(started, 2, "{}", out.stderr);
    let new = out
        .stderr
        .rsplit("upgrade: started ")
        .next()
        .and_then(|line| line.split(" as pid ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no pid for the second upgrade: {}", out.stderr));
    out.assert_stderr(&format!(
        "the new process (pid {new}) was not ready after 300ms"
    ));
    out.assert_stderr(&format!("(pid {new}, new): SIGTERM: shutting down"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Sends `svc` a SIGHUP whose upgrade must fail (`what` is its new process), calling
/// `meanwhile` each turn while it runs. The broker's registrations stay `before`
/// throughout and after it, and no process but `svc` does a message.
#[cfg(target_os = "linux")]
fn failed_upgrade(
    queue: &Queue,
    svc: &mut Service,
    before: Option<u64>,
    what: &str,
    mut meanwhile: impl FnMut(&Service),
) {
    let failed = svc.stderr_count("upgrade failed");
    svc.signal("HUP");
    let until = Instant::now() + support::PATIENCE;
    while svc.stderr_count("upgrade failed") == failed {
        assert!(Instant::now() < until, "{what}: the upgrade did not fail");
        assert_eq!(
            registrations(queue),
            before,
            "{what}: a consumer more on the broker during the upgrade"
        );
        meanwhile(svc);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        registrations(queue),
        before,
        "{what}: a consumer more on the broker"
    );
    let journal = queue.journal();
    assert_eq!(
        journal.done_by(svc.id()),
        journal.done_lines(),
        "{what}: messages done by another process"
    );
}

/// A TCP proxy to a broker, on threads of the test, that the test cuts: the broker goes
/// away for the processes behind it, while it stays up for everyone else. It can also
/// hold the connections it accepts, unanswered, until the test lets them through.
pub(crate) struct Proxy {
    broker: Broker,
    pub(crate) addr: SocketAddr,
    links: Arc<Mutex<Links>>,
}

/// A proxy's connections. Each decision (link, hold, close) is taken under its lock, the
/// one `cut` and `release` take: a connection is either in a list when they look, or
/// finds what they decided.
#[derive(Default)]
struct Links {
    /// Set by `cut`: from then on a connection is closed as soon as it is accepted.
    cut: bool,
    /// Set by `hold`, cleared by `release`.
    holding: bool,
    /// Whether `release` let connections through.
    released: bool,
    /// The connections accepted while holding, not yet linked to the broker.
    held: Vec<TcpStream>,
    /// Both ends of every connection linked through it.
    open: Vec<TcpStream>,
}

/// The proxy's connections, locked (a panicked thread of the proxy leaves them usable).
fn locked(links: &Mutex<Links>) -> std::sync::MutexGuard<'_, Links> {
    links
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Proxy {
    pub(crate) fn start(broker: Broker) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let links: Arc<Mutex<Links>> = Arc::default();
        let kept = links.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let mut links = locked(&kept);
                if links.cut {
                    let _ = client.shutdown(Shutdown::Both);
                } else if links.holding {
                    links.held.push(client);
                } else {
                    drop(links);
                    link(&kept, broker, client);
                }
            }
        });
        Proxy {
            broker,
            addr,
            links,
        }
    }

    /// The broker's URL, through the proxy.
    pub(crate) fn url(&self) -> String {
        self.broker
            .url
            .replace(self.broker.addr, &self.addr.to_string())
    }

    /// Closes every connection through it, and lets no new one through: one accepted at
    /// the same moment is closed at once.
    pub(crate) fn cut(&self) {
        let mut links = locked(&self.links);
        links.cut = true;
        let Links { held, open, .. } = &mut *links;
        for link in held.drain(..).chain(open.drain(..)) {
            let _ = link.shutdown(Shutdown::Both);
        }
    }

    /// Holds the connections accepted from now on, unanswered, until [`Proxy::release`];
    /// those already through go on.
    pub(crate) fn hold(&self) {
        locked(&self.links).holding = true;
    }

    /// How many connections wait, held.
    pub(crate) fn held(&self) -> usize {
        locked(&self.links).held.len()
    }

    /// Lets the held connections through to the broker, and those accepted from now on.
    pub(crate) fn release(&self) {
        let held = {
            let mut links = locked(&self.links);
            links.holding = false;
            links.released = true;
            std::mem::take(&mut links.held)
        };
        for client in held {
            link(&self.links, self.broker, client);
        }
    }

    /// Whether [`Proxy::release`] was called.
    pub(crate) fn released(&self) -> bool {
        locked(&self.links).released
    }
}

/// Links `client` to `broker` through the proxy whose connections are `links`, unless the
/// proxy was cut: then it closes `client`.
fn link(links: &Mutex<Links>, broker: Broker, client: TcpStream) {
    let Ok(server) = TcpStream::connect(broker.addr) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(client_end), Ok(server_end)) = (client.try_clone(), server.try_clone()) else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return;
    };
    {
        // Checked and listed under the lock `cut` takes: a cut either finds this link in
        // the list, or this link finds the cut.
        let mut links = locked(links);
        if links.cut {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        }
        links.open.push(client_end);
        links.open.push(server_end);
    }
    let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone()) else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return;
    };
    for (mut from, mut to) in [(client_copy, server_copy), (server, client)] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
    }
}

/// Starts `consumer` through `proxy`, waits until it has done more than `busy` messages,
/// stops it, and cuts the proxy while it drains. Returns its output.
fn cut_off_mid_drain(
    queue: &Queue,
    proxy: &Proxy,
    consumer: &str,
    busy: usize,
    flags: &[(&str, &str)],
) -> Exited {
    let mut svc = queue.start_at(&example("queue_worker"), &proxy.url(), consumer, flags);
    let pid = svc.id();
    eventually("the consumer is busy", || {
        queue.journal().done_by(pid) > busy
    });
    svc.signal("TERM");
    svc.wait_for_stderr("intake stopped");
    proxy.cut();
    svc.exited()
}

/// On a queue, the broker goes away while a consumer drains: the consumer says so, exits
/// with the documented code, and no message is acknowledged twice; a consumer on a broker
/// that stayed reachable then does what was left.
pub(crate) fn the_broker_going_away_mid_drain_is_said(queue: &Queue, proxy: &Proxy) {
    let mut producer = queue.producer("40");
    let out = cut_off_mid_drain(
        queue,
        proxy,
        "cut",
        4,
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "2s"),
            ("GRACEFUL_DEADLINE", "10s"),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Each settlement that could not reach the broker says so, naming the queue.
    out.assert_stderr(&format!("of queue \"{}\" on ", queue.name));
    out.assert_stderr("the connection was lost");
    out.assert_stderr(" settlements failed");
    producer.signal("TERM");
    queue.assert_clean_exit(&producer.exited());
    queue.drain_but(0);
    let read = queue.journal();
    assert!(
        read.done_twice().is_empty(),
        "done twice: {:?}",
        read.done_twice()
    );
}

/// On a stream, the broker goes away while a consumer drains: it exits with what the
/// caller checks, and a last consumer (after the lease) does what it could not
/// acknowledge: every message sent done exactly once, none acknowledged twice.
pub(crate) fn broker_gone_mid_drain(queue: &Queue, proxy: &Proxy) -> Exited {
    let out = cut_off_mid_drain(
        queue,
        proxy,
        "cut-off",
        3,
        &[
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "1500ms"),
            ("QUEUE_WORKER_LEASE", "2s"),
        ],
    );
    queue.drain_and_check("2s");
    out
}

/// The consumers the broker has for this queue: RabbitMQ's consumers of the queue, Redis's
/// group members, JetStream's consumers of the stream; `None` on PostgreSQL, where a
/// consumer leaves nothing on the server to count.
pub(crate) fn registrations(queue: &Queue) -> Option<u64> {
    match queue.broker.name {
        "RabbitMQ" => Some(rabbitmq_counts(queue.broker.url, &queue.name).consumers),
        "PostgreSQL" => None,
        "Redis" => Some(redis_group_members(
            queue.broker.addr,
            &queue.name,
            "graceful",
        )),
        "NATS" => Some(nats_consumers(queue.broker.addr, &queue.name)),
        other => panic!("no registrations for {other}"),
    }
}

/// Deletes what a test made on `broker` under `name`: a queue, a table, a stream (with its
/// dead letters), with the broker's own client or protocol.
fn delete(broker: Broker, name: &str) -> Result<(), String> {
    match broker.name {
        "RabbitMQ" => rabbitmq_delete(broker.url, name).map_err(|e| e.to_string()),
        "PostgreSQL" => postgres_drop(broker.url, name).map_err(|e| e.to_string()),
        "Redis" => {
            redis_del(broker.addr, &[name, &format!("{name}:dead")]);
            Ok(())
        }
        "NATS" => {
            nats_delete_stream(broker.addr, name);
            Ok(())
        }
        other => panic!("no cleanup for {other}"),
    }
}

/// Runs `work` on a runtime of its own, on this thread.
fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

/// `%XX` decoded, as a URL's parts are.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// What connecting to the RabbitMQ of `url` takes: `amqp://user:password@host:port/vhost`,
/// with the defaults of RabbitMQ's URI spec for what it leaves out (guest, port 5672, the
/// vhost `/`).
fn rabbitmq_arguments(url: &str) -> amqprs::connection::OpenConnectionArguments {
    let rest = url
        .strip_prefix("amqp://")
        .unwrap_or_else(|| panic!("not an AMQP URL: {url}"));
    let rest = rest.split_once('?').map_or(rest, |(rest, _)| rest);
    let (authority, vhost) = rest.split_once('/').unwrap_or((rest, ""));
    let (login, host) = authority
        .rsplit_once('@')
        .unwrap_or(("guest:guest", authority));
    let (user, password) = login.split_once(':').unwrap_or((login, ""));
    let (host, port) = match host.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .unwrap_or_else(|_| panic!("not a port in {url}")),
        ),
        None => (host, 5672),
    };
    let vhost = if vhost.is_empty() {
        "/".to_owned()
    } else {
        percent_decoded(vhost)
    };
    let mut arguments = amqprs::connection::OpenConnectionArguments::new(
        host,
        port,
        &percent_decoded(user),
        &percent_decoded(password),
    );
    arguments.virtual_host(&vhost);
    arguments
}

/// A channel on the RabbitMQ of `url`.
async fn rabbitmq_channel(
    url: &str,
) -> Result<(amqprs::connection::Connection, amqprs::channel::Channel), amqprs::error::Error> {
    let connection = amqprs::connection::Connection::open(&rabbitmq_arguments(url)).await?;
    let channel = connection.open_channel(None).await?;
    Ok((connection, channel))
}

/// Deletes a queue on the RabbitMQ of `url`.
fn rabbitmq_delete(url: &str, queue: &str) -> Result<(), amqprs::error::Error> {
    block_on(async {
        use amqprs::channel::QueueDeleteArguments;
        let (connection, channel) = rabbitmq_channel(url).await?;
        channel
            .queue_delete(QueueDeleteArguments::new(queue))
            .await?;
        channel.close().await?;
        connection.close().await
    })
}

/// A RabbitMQ queue's counts, as a passive declaration answers them.
struct RabbitMqCounts {
    /// The messages ready in the queue.
    ready: u64,
    /// The consumers of the queue.
    consumers: u64,
}

/// The counts of a queue on the RabbitMQ of `url` (none of a queue that is not there).
fn rabbitmq_counts(url: &str, queue: &str) -> RabbitMqCounts {
    let (ready, consumers) = block_on(async {
        use amqprs::channel::QueueDeclareArguments;
        let (connection, channel) = rabbitmq_channel(url).await?;
        let declared = channel
            .queue_declare(QueueDeclareArguments::new(queue).passive(true).finish())
            .await?;
        let _ = connection.close().await;
        Ok::<_, amqprs::error::Error>(
            declared.map_or((0, 0), |(_, ready, consumers)| (ready, consumers)),
        )
    })
    .expect("count the queue");
    RabbitMqCounts {
        ready: u64::from(ready),
        consumers: u64::from(consumers),
    }
}

/// A client of the PostgreSQL database of `url`.
async fn postgres_client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Drops a table of the PostgreSQL database of `url`.
fn postgres_drop(url: &str, table: &str) -> Result<(), tokio_postgres::Error> {
    block_on(async {
        postgres_client(url)
            .await?
            .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
            .await
    })
}

/// The rows of a table of the PostgreSQL database of `url`.
fn postgres_rows(url: &str, table: &str) -> u64 {
    let rows: i64 = block_on(async {
        let row = postgres_client(url)
            .await?
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .await?;
        Ok::<i64, tokio_postgres::Error>(row.get(0))
    })
    .expect("count the table");
    u64::try_from(rows).expect("a count")
}

/// Sends a command to Redis and returns the start of its reply.
fn redis_command(addr: &str, parts: &[&str]) -> String {
    let mut command = format!("*{}\r\n", parts.len());
    for part in parts {
        command.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    let mut conn = TcpStream::connect(addr).expect("Redis");
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(command.as_bytes())
        .unwrap_or_else(|e| panic!("{} sent: {e}", parts[0]));
    let mut reply = [0; 64];
    let n = conn
        .read(&mut reply)
        .unwrap_or_else(|e| panic!("{} answered: {e}", parts[0]));
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

/// `DEL keys...`.
fn redis_del(addr: &str, keys: &[&str]) {
    let reply = redis_command(addr, &[&["DEL"], keys].concat());
    assert!(reply.starts_with(':'), "DEL: {reply:?}");
}

/// `XLEN key`.
fn redis_xlen(addr: &str, key: &str) -> u64 {
    let reply = redis_command(addr, &["XLEN", key]);
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("XLEN: {reply:?}"))
}

/// `XINFO CONSUMERS stream group`: how many consumers the group has.
fn redis_group_members(addr: &str, stream: &str, group: &str) -> u64 {
    let reply = redis_command(addr, &["XINFO", "CONSUMERS", stream, group]);
    reply
        .strip_prefix('*')
        .and_then(|r| r.split("\r\n").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("XINFO CONSUMERS: {reply:?}"))
}

/// A JetStream API request, answered: the reply's JSON.
fn nats_request(addr: &str, subject: &str) -> String {
    let mut conn = TcpStream::connect(addr).expect("NATS");
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB _INBOX.test 1\r\nPUB {subject} _INBOX.test 0\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).expect("request sent");
    let mut seen = String::new();
    let mut buf = [0; 8192];
    loop {
        let n = conn.read(&mut buf).expect("NATS answers");
        assert!(n > 0, "NATS closed the connection: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(at) = seen.find("MSG _INBOX.test") {
            let body = &seen[at..];
            if let Some(json) = body.split("\r\n").nth(1) {
                if json.ends_with('}') {
                    return json.to_owned();
                }
            }
        }
    }
}

/// The number after `"field":` in a JetStream API reply, for the request `what`.
fn nats_number(json: &str, field: &str, what: &str) -> u64 {
    let after = json
        .split(field)
        .nth(1)
        .unwrap_or_else(|| panic!("{what}: {json}"));
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{what}: {json}"))
}

/// The messages a JetStream stream holds.
fn nats_stream_messages(addr: &str, stream: &str) -> u64 {
    let json = nats_request(addr, &format!("$JS.API.STREAM.INFO.{stream}"));
    nats_number(&json, "\"state\":{\"messages\":", "stream info")
}

/// The consumers of a JetStream stream.
fn nats_consumers(addr: &str, stream: &str) -> u64 {
    let json = nats_request(addr, &format!("$JS.API.CONSUMER.NAMES.{stream}"));
    nats_number(&json, "\"total\":", "consumer names")
}

/// Deletes a JetStream stream (and its consumers) with the JetStream API.
fn nats_delete_stream(addr: &str, stream: &str) {
    nats_request(addr, &format!("$JS.API.STREAM.DELETE.{stream}"));
}
