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
        self.drain_but(0).0
    }

    /// As [`drain`](Queue::drain), but done when at most `unjournaled` messages sent have
    /// no `done` line and nothing more is done for two seconds: after a kill, a message
    /// the broker had the acknowledgement of when the kill came has none. Returns the
    /// last consumer's pid and the ids without a `done` line.
    pub(crate) fn drain_but(&self, unjournaled: usize) -> (u32, Vec<String>) {
        let mut last = self.start(
            "last",
            &[("QUEUE_WORKER_RATE", "0"), ("QUEUE_WORKER_OP_TIME", "10ms")],
        );
        let pid = last.id();
        let missing = || {
            let read = self.read();
            let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
            let missing: Vec<String> = read
                .sent
                .iter()
                .filter(|id| !done.contains(id.as_str()))
                .cloned()
                .collect();
            (read.sent.is_empty(), missing)
        };
        let until = std::time::Instant::now() + Duration::from_secs(30);
        let mut settled_since: Option<(std::time::Instant, usize)> = None;
        let missing = loop {
            let (nothing_sent, missing) = missing();
            if !nothing_sent && missing.is_empty() {
                break missing;
            }
            if !nothing_sent && missing.len() <= unjournaled {
                match settled_since {
                    Some((since, n)) if n == missing.len() => {
                        if since.elapsed() > Duration::from_secs(2) {
                            break missing;
                        }
                    }
                    _ => settled_since = Some((std::time::Instant::now(), missing.len())),
                }
            }
            assert!(
                std::time::Instant::now() < until,
                "not every message sent was done: missing {missing:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        last.signal("TERM");
        assert_clean_exit(&last.exited());
        (pid, missing)
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
    // A message the killed process had acknowledged, but not yet journaled, when the kill
    // came has no `done` line: at most one per handler. The caller checks that the queue
    // is empty, so none of them is waiting anywhere.
    let (_, unjournaled) = queue.drain_but(5);
    let read = queue.read();
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

/// Three upgrades in place (SIGHUP, a fresh binary on disk) while another process
/// produces: every generation exits 0, nothing is lost or done twice, and the
/// acknowledgements never pause for more than half a second.
#[cfg(target_os = "linux")]
pub(crate) fn upgrades_in_place_lose_nothing_and_never_pause(queue: &Queue) {
    use std::thread;
    use support::journal::AckGaps;
    use support::upgrade;

    upgrade::become_subreaper();
    let dir = upgrade::scratch(&queue.name);
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let mut producer = queue.producer("20");
    let journal = queue.journal.to_str().expect("a UTF-8 path").to_string();
    let consumer = format!("{}-upgraded", queue.name);
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_QUEUE", queue.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal.as_str()),
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "400ms"),
        ],
    );
    svc.wait_for("ready");

    // The longest time between two acknowledgements, watched while the upgrades run.
    let gaps = AckGaps::watch(&queue.journal);
    let mut pids = vec![svc.id()];
    eventually("the first generation acknowledges", || {
        queue.read().done_by(pids[0]) > 5
    });
    for round in 0..3 {
        let old = *pids.last().unwrap();
        upgrade::deploy(&example("queue_worker"), &app);
        upgrade::signal(old, "HUP");
        let known = pids.clone();
        let new = upgrade::replaced(old, || {
            queue
                .read()
                .done
                .iter()
                .map(|(_, pid)| *pid)
                .find(|pid| !known.contains(pid))
                .unwrap_or(old)
        });
        pids.push(new);
        assert_eq!(
            upgrade::exit_code(old, support::PATIENCE),
            Some(0),
            "round {round}: the old process {old} did not exit 0"
        );
        thread::sleep(Duration::from_millis(500));
    }
    let longest_gap = gaps.longest();
    eprintln!("the longest pause in acknowledgements through three upgrades: {longest_gap:?}");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    eventually("every message sent is done", || {
        let read = queue.read();
        let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
        read.sent.iter().all(|id| done.contains(id.as_str()))
    });
    let last = *pids.last().unwrap();
    upgrade::signal(last, "TERM");
    assert_eq!(upgrade::exit_code(last, support::PATIENCE), Some(0));
    eventually("every generation's output is read", || {
        svc.printed_all("unplugged ").len() == pids.len()
    });
    queue.read().assert_each_sent_done_once();
    for pid in &pids {
        assert!(
            queue.read().done_by(*pid) > 0,
            "generation {pid} did nothing"
        );
    }
    assert!(
        longest_gap <= Duration::from_millis(500),
        "acknowledgements paused for {longest_gap:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Upgrades that fail: a new binary that exits at once, then a real one rolled back before
/// it is ready (its upgrade timeout is shorter than its start). Each leaves no trace: the
/// old process goes on consuming what it holds and what arrives, and at the end every
/// message sent was done exactly once.
#[cfg(target_os = "linux")]
pub(crate) fn upgrades_that_fail_leave_no_trace(queue: &Queue) {
    use std::os::unix::fs::PermissionsExt;
    use support::upgrade;

    upgrade::become_subreaper();
    let dir = upgrade::scratch(&queue.name);
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let mut producer = queue.producer("20");
    let journal = queue.journal.to_str().expect("a UTF-8 path").to_string();
    let consumer = format!("{}-kept", queue.name);
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_QUEUE", queue.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal.as_str()),
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
            // Too short for a new process to connect and be ready: the real binary's
            // upgrade is rolled back.
            ("GRACEFUL_UPGRADE_TIMEOUT", "5ms"),
        ],
    );
    svc.wait_for("ready");
    let pid = svc.id();
    eventually("the process acknowledges", || queue.read().done_by(pid) > 5);

    // The new binary fails at once, as a broken build would.
    let broken = dir.join("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&broken, &app).unwrap();
    svc.signal("HUP");
    svc.wait_for_stderr("upgrade failed");
    // The real binary, rolled back before it is ready.
    upgrade::deploy(&example("queue_worker"), &app);
    let done_before = queue.read().done_by(pid);
    svc.signal("HUP");
    eventually("the second upgrade fails too", || {
        svc.stderr_has("upgrade failed") && svc.printed_all("ready").len() == 1
    });
    eventually("the old process goes on consuming", || {
        queue.read().done_by(pid) > done_before + 20
    });
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    eventually("every message sent is done", || {
        let read = queue.read();
        let done: HashSet<&str> = read.done.iter().map(|(id, _)| id.as_str()).collect();
        read.sent.iter().all(|id| done.contains(id.as_str()))
    });
    svc.signal("TERM");
    assert_clean_exit(&svc.exited());
    queue.read().assert_each_sent_done_once();
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP proxy to a broker, on threads of the test, that the test cuts: the broker goes
/// away for the processes behind it, while it stays up for everyone else.
pub(crate) struct Proxy {
    pub(crate) addr: std::net::SocketAddr,
    streams: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    pub(crate) fn start(to: &'static str) -> Proxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let open = Arc::new(AtomicBool::new(true));
        let (kept, accepting) = (streams.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if !accepting.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(to) else {
                    continue;
                };
                let mut all = kept.lock().unwrap();
                all.push(client.try_clone().unwrap());
                all.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy {
            addr,
            streams,
            open,
        }
    }

    /// Closes every connection through it, and lets no new one through.
    pub(crate) fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The broker goes away while a consumer drains: the consumer says so, exits with the
/// documented code, and no message is acknowledged twice; a consumer on a broker that
/// stayed reachable then does what was left.
pub(crate) fn the_broker_going_away_mid_drain_is_said_and_nothing_is_done_twice(
    queue: &Queue,
    proxy: &Proxy,
    proxied_url: &str,
) {
    let mut producer = queue.producer("40");
    let journal = queue.journal.to_str().expect("a UTF-8 path").to_string();
    let consumer = format!("{}-cut", queue.name);
    let mut svc = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_QUEUE", proxied_url),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal.as_str()),
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "2s"),
            ("GRACEFUL_DEADLINE", "10s"),
        ],
    );
    svc.wait_for("ready");
    let pid = svc.id();
    eventually("the consumer is busy", || queue.read().done_by(pid) >= 5);
    svc.signal("TERM");
    svc.wait_for_stderr("intake stopped");
    proxy.cut();
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    // Each settlement that could not reach the broker says so, naming the queue.
    out.assert_stderr(&format!("of queue \"{}\" on ", queue.name));
    out.assert_stderr("the connection was lost");
    out.assert_stderr(" settlements failed");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    queue.drain();
    let read = queue.read();
    assert!(
        read.done_twice().is_empty(),
        "done twice: {:?}",
        read.done_twice()
    );
}
