//! The queue example on a broker, the same checks for each: messages arrive from a producer
//! process, consumers are stopped by SIGTERM, cut at the deadline, killed; the journal
//! shows afterwards that every message sent was done exactly once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use graceful_process_tests as support;
use support::broker::Broker;
use support::journal::Journal;
use support::{eventually, example, Exited, Service};

/// One test's queue on one broker, and its journal.
pub(crate) struct Queue {
    pub(crate) broker: Broker,
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) journal: PathBuf,
}

impl Queue {
    pub(crate) fn new(broker: Broker, test: &str) -> Queue {
        let name = support::broker::unique_name(test);
        // Of its own too: runs of one test at once never share a journal.
        let journal = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-{name}.log"));
        Queue {
            broker,
            url: broker.url.to_owned(),
            name,
            journal,
        }
    }

    /// Starts the example on this queue, with the journal, as `consumer` (made this test's
    /// own: the name is also the scratch directory's), and waits for it to be ready.
    pub(crate) fn start(&self, consumer: &str, flags: &[(&str, &str)]) -> Service {
        let journal = self.journal.to_str().expect("a UTF-8 path");
        let consumer = format!("{}-{consumer}", self.name);
        let mut envs = vec![
            ("QUEUE_WORKER_QUEUE", self.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", self.name.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
        ];
        envs.extend_from_slice(flags);
        let mut svc = support::start(&example("queue_worker"), &envs);
        svc.wait_for("ready");
        svc
    }

    pub(crate) fn journal(&self) -> Journal {
        Journal::read(&self.journal)
    }

    /// Starts a last consumer, lets it do every message sent, stops it, and checks that
    /// each was done exactly once. Returns how many were sent.
    pub(crate) fn drain_and_check(&self, lease: &str) -> usize {
        self.drain_and_check_after_a_kill(lease, 0)
    }

    /// The same, after a kill: up to `unjournaled` messages may lack their `done` line,
    /// acknowledged by the killed process in the instant before the kill, after their work
    /// and before its journal line; the broker must hold nothing then (none waits, none
    /// was lost on the broker's side), and none was done twice.
    pub(crate) fn drain_and_check_after_a_kill(&self, lease: &str, unjournaled: usize) -> usize {
        let mut last = self.start(
            "last",
            &[
                ("QUEUE_WORKER_RATE", "0"),
                ("QUEUE_WORKER_OP_TIME", "10ms"),
                ("QUEUE_WORKER_LEASE", lease),
            ],
        );
        let missing = || {
            let journal = self.journal();
            let done: std::collections::HashSet<&str> =
                journal.done.iter().map(|(id, _)| id.as_str()).collect();
            let missing: Vec<String> = journal
                .sent
                .iter()
                .filter(|id| !done.contains(id.as_str()))
                .cloned()
                .collect();
            missing
        };
        let until = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = missing();
            if left.is_empty() || (left.len() <= unjournaled && self.remaining() == 0) {
                break;
            }
            if std::time::Instant::now() > until {
                last.signal("TERM");
                let out = last.exited();
                panic!(
                    "the last consumer did not do {} message(s) sent within 30 s: {:?}; its output: {out:#?}",
                    left.len(),
                    &left[..left.len().min(10)]
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Long enough for a message done twice to show.
        std::thread::sleep(Duration::from_millis(300));
        last.signal("TERM");
        assert_clean_exit(&last.exited());
        assert_eq!(self.remaining(), 0, "messages left on the broker");
        let journal = self.journal();
        if unjournaled == 0 {
            return journal.assert_each_sent_done_once();
        }
        assert!(
            journal.done_twice().is_empty(),
            "done twice: {:?}",
            journal.done_twice()
        );
        let left = missing();
        assert!(left.len() <= unjournaled, "never done: {left:?}");
        journal.sent.len()
    }

    /// Messages still on the broker: in the stream, delivered or not.
    pub(crate) fn remaining(&self) -> u64 {
        match self.broker.name {
            "Redis" => redis_xlen(self.broker.addr, &self.name),
            "NATS" => nats_stream_messages(self.broker.addr, &self.name),
            other => panic!("no count for {other}"),
        }
    }

    /// Deletes what the test made on the broker.
    pub(crate) fn delete(&self) {
        match self.broker.name {
            "Redis" => redis_del(
                self.broker.addr,
                &[&self.name, &format!("{}:dead", self.name)],
            ),
            "NATS" => nats_delete_stream(self.broker.addr, &self.name),
            other => panic!("no cleanup for {other}"),
        }
        let _ = std::fs::remove_file(&self.journal);
    }
}

#[track_caller]
pub(crate) fn assert_clean_exit(out: &Exited) {
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("steps: 4 ok, 0 failed, 0 timed out, 0 skipped; exit code 0 (clean)");
}

/// SIGTERM to a consumer while another process produces: it finishes what it holds and
/// hands back what it took ahead; a last consumer empties the queue; every message sent
/// was done exactly once.
pub(crate) fn sigterm_mid_traffic(queue: &Queue) {
    let mut producer = queue.start(
        "producer",
        &[("QUEUE_WORKER_RATE", "50"), ("QUEUE_WORKER_WORKERS", "0")],
    );
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
    assert_clean_exit(&out);
    out.assert_stderr(&format!(
        "consumer \"{}-first\": intake stopped; ",
        queue.name
    ));
    out.assert_stderr(" 0 cut");
    assert!(out.has_line("final: here done"), "{out:#?}");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    let sent = queue.drain_and_check("30s");
    assert!(sent > 10);
    assert!(queue.journal().done_by(first_pid) > 0);
}

/// Work longer than the deadline: exit 124, the cut messages handed back at once and
/// done by the next instance, none twice.
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
    out.assert_stderr("and 5 cut");
    let started = std::time::Instant::now();
    // A lease far longer than the test: what was cut must come back by the hand-back,
    // not by a timer.
    let sent = queue.drain_and_check("10m");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the cut messages waited: {:?}",
        started.elapsed()
    );
    assert!(sent >= 5);
    assert_eq!(
        queue.journal().done_by(cut_pid),
        0,
        "the cut instance finished nothing"
    );
}

/// SIGKILL mid-work: nothing is lost; what the killed process held comes back after the
/// lease (the claim time, the ack wait) and is done by another.
pub(crate) fn sigkill_loses_nothing(queue: &Queue) {
    let mut killed = queue.start(
        "killed",
        &[
            ("QUEUE_WORKER_RATE", "30"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "700ms"),
            ("QUEUE_WORKER_LEASE", "2s"),
        ],
    );
    let killed_pid = killed.id();
    eventually("the consumer is busy", || {
        queue.journal().done_by(killed_pid) > 5
    });
    killed.signal("KILL");
    let out = killed.exited();
    assert_eq!(out.code, None, "killed by a signal: {out:#?}");
    queue.drain_and_check_after_a_kill("2s", 10);
}

/// A broker that cannot be reached: exit 1 at once, naming the URL and the queue.
pub(crate) fn unreachable_broker(queue: &Queue, url: &str, expected: &str) {
    let started = std::time::Instant::now();
    let out = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_QUEUE", url),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_CONSUMER", "unreachable"),
        ],
    )
    .exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(expected);
    out.assert_stderr(&queue.name);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded in time"
    );
}

/// Sends `DEL keys...` to Redis.
fn redis_del(addr: &str, keys: &[&str]) {
    let mut command = format!("*{}\r\n$3\r\nDEL\r\n", keys.len() + 1);
    for key in keys {
        command.push_str(&format!("${}\r\n{key}\r\n", key.len()));
    }
    let mut conn = TcpStream::connect(addr).expect("Redis");
    conn.write_all(command.as_bytes()).expect("DEL sent");
    let mut reply = [0; 64];
    let n = conn.read(&mut reply).expect("DEL answered");
    assert!(
        reply[..n].starts_with(b":"),
        "DEL: {:?}",
        String::from_utf8_lossy(&reply[..n])
    );
}

/// `XLEN key`.
fn redis_xlen(addr: &str, key: &str) -> u64 {
    let command = format!("*2\r\n$4\r\nXLEN\r\n${}\r\n{key}\r\n", key.len());
    let mut conn = TcpStream::connect(addr).expect("Redis");
    conn.write_all(command.as_bytes()).expect("XLEN sent");
    let mut reply = [0; 64];
    let n = conn.read(&mut reply).expect("XLEN answered");
    let reply = String::from_utf8_lossy(&reply[..n]);
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("XLEN: {reply:?}"))
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

/// The messages a JetStream stream holds.
fn nats_stream_messages(addr: &str, stream: &str) -> u64 {
    let json = nats_request(addr, &format!("$JS.API.STREAM.INFO.{stream}"));
    let after = json
        .split("\"state\":{\"messages\":")
        .nth(1)
        .unwrap_or_else(|| panic!("stream info: {json}"));
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("stream info: {json}"))
}

/// Deletes a JetStream stream (and its consumers) with the JetStream API.
fn nats_delete_stream(addr: &str, stream: &str) {
    nats_request(addr, &format!("$JS.API.STREAM.DELETE.{stream}"));
}

/// Three upgrades in place of a consumer while another process produces: every old
/// process exits 0, every message sent is done exactly once, and the journal's `done`
/// lines never stop for long while messages arrive.
#[cfg(target_os = "linux")]
pub(crate) fn upgrades_in_place_under_load(queue: &Queue) {
    use std::thread;
    use support::journal::AckGaps;
    use support::upgrade;

    upgrade::become_subreaper();
    let dir = upgrade::scratch(&queue.name);
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let journal_path = queue.journal.to_str().expect("a UTF-8 path").to_owned();
    let consumer = format!("{}-upgraded", queue.name);
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_QUEUE", queue.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal_path.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "400ms"),
        ],
    );
    svc.wait_for("ready");
    // 20 a second for 10 handlers of 400 ms (25 a second): no backlog, so that the
    // acknowledgements come spread out and a gap between them is a pause of consumption,
    // not handlers that started together ending together.
    let mut producer = queue.start(
        "producer",
        &[("QUEUE_WORKER_RATE", "20"), ("QUEUE_WORKER_WORKERS", "0")],
    );

    // The longest time between two acknowledgements, watched while the upgrades run.
    let gaps = AckGaps::watch(&queue.journal);
    let mut pids = vec![svc.id()];
    eventually("the consumer is busy", || {
        queue.journal().done_by(pids[0]) > 10
    });
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
        thread::sleep(Duration::from_millis(700));
    }
    let longest_gap = gaps.longest();
    eprintln!("the longest pause in acknowledgements through three upgrades: {longest_gap:?}");
    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    eventually("every message sent is done", || {
        let journal = queue.journal();
        let done: std::collections::HashSet<&str> =
            journal.done.iter().map(|(id, _)| id.as_str()).collect();
        journal.sent.iter().all(|id| done.contains(id.as_str()))
    });
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
    // Each generation finished what it had started: nothing was cut.
    assert_eq!(svc.printed_all("final:").len(), pids.len());
    assert!(
        !svc.stderr_has("work cut short at the hard stop"),
        "work was cut"
    );
    // About 0.1 s on an idle machine; a pause of consumption (a restart, or messages
    // waiting for a claim or an ack wait) is seconds.
    assert!(
        longest_gap <= Duration::from_millis(500),
        "acknowledgements paused for {longest_gap:?}"
    );
    assert_eq!(queue.remaining(), 0, "messages left on the broker");
    let _ = std::fs::remove_dir_all(dir);
}

/// The consumers the broker has for this queue: Redis's group members, JetStream's
/// consumers of the stream.
pub(crate) fn registrations(queue: &Queue) -> u64 {
    match queue.broker.name {
        "Redis" => {
            let (stream, group) = (&queue.name, "graceful");
            let command = format!(
                "*4\r\n$5\r\nXINFO\r\n$9\r\nCONSUMERS\r\n${}\r\n{stream}\r\n${}\r\n{group}\r\n",
                stream.len(),
                group.len()
            );
            let mut conn = TcpStream::connect(queue.broker.addr).expect("Redis");
            conn.write_all(command.as_bytes()).expect("XINFO sent");
            let mut reply = [0; 16];
            let n = conn.read(&mut reply).expect("XINFO answered");
            let reply = String::from_utf8_lossy(&reply[..n]);
            reply
                .strip_prefix('*')
                .and_then(|r| r.split("\r\n").next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("XINFO CONSUMERS: {reply:?}"))
        }
        "NATS" => {
            let json = nats_request(
                queue.broker.addr,
                &format!("$JS.API.CONSUMER.NAMES.{}", queue.name),
            );
            let after = json
                .split("\"total\":")
                .nth(1)
                .unwrap_or_else(|| panic!("consumer names: {json}"));
            after
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("consumer names: {json}"))
        }
        other => panic!("no registrations for {other}"),
    }
}

/// An upgrade whose new process exits at once, never ready, is rolled back: the broker's
/// registrations stay as they were, the old process goes on consuming, and nothing is lost
/// or done twice.
#[cfg(target_os = "linux")]
pub(crate) fn an_upgrade_rolled_back_leaves_no_trace(queue: &Queue) {
    use std::os::unix::fs::PermissionsExt;
    use support::upgrade;

    upgrade::become_subreaper();
    let dir = upgrade::scratch(&queue.name);
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let journal_path = queue.journal.to_str().expect("a UTF-8 path").to_owned();
    let consumer = format!("{}-rolled-back", queue.name);
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_QUEUE", queue.url.as_str()),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal_path.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_RATE", "40"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
        ],
    );
    svc.wait_for("ready");
    let pid = svc.id();
    eventually("the consumer is busy", || queue.journal().done_by(pid) > 10);
    let before = registrations(queue);
    assert_eq!(before, 1, "one registration before the upgrade");

    // The new binary fails at once, as a broken build would.
    let broken = dir.join("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&broken, &app).unwrap();
    let done_before = queue.journal().done_by(pid);
    svc.signal("HUP");
    svc.wait_for_stderr("upgrade failed");
    assert_eq!(registrations(queue), before, "the registrations changed");
    eventually("the old process goes on consuming", || {
        queue.journal().done_by(pid) > done_before + 20
    });
    svc.signal("TERM");
    assert_clean_exit(&svc.exited());
    queue.drain_and_check("30s");
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP proxy to the broker, on a thread of its own, that `cut` closes with every
/// connection through it and refuses new ones: the broker gone away, for one process.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub(crate) fn start(broker: Broker) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (cutting, linking) = (cut.clone(), links.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if cutting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(broker.addr) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                linking.lock().unwrap().extend([client, server]);
            }
        });
        Proxy { port, cut, links }
    }

    pub(crate) fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            let _ = link.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The broker goes away while a consumer drains: its acknowledgements fail with a clear
/// error naming the queue and the message, it exits with `code`, and a last consumer
/// (after the lease) does what it could not acknowledge: every message sent done exactly
/// once, none acknowledged twice.
pub(crate) fn broker_gone_mid_drain(queue: &Queue, proxied_url: &str, proxy: &Proxy) -> Exited {
    let journal = queue.journal.to_str().expect("a UTF-8 path").to_owned();
    let consumer = format!("{}-cut-off", queue.name);
    let mut svc = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_QUEUE", proxied_url),
            ("QUEUE_WORKER_QUEUE_NAME", queue.name.as_str()),
            ("QUEUE_WORKER_JOURNAL", journal.as_str()),
            ("QUEUE_WORKER_CONSUMER", consumer.as_str()),
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "1500ms"),
            ("QUEUE_WORKER_LEASE", "2s"),
        ],
    );
    svc.wait_for("ready");
    let pid = svc.id();
    eventually("the consumer is busy", || queue.journal().done_by(pid) > 3);
    svc.signal("TERM");
    svc.wait_for_stderr("intake stopped");
    proxy.cut();
    let out = svc.exited();
    queue.drain_and_check("2s");
    out
}
