//! The queue worker example under load, stopped by `SIGTERM`, killed, and restarted in
//! turn with others on one database: afterwards the database shows that nothing was lost
//! and nothing was done twice.

use graceful_process_tests as support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rusqlite::Connection;
use support::{eventually, example, http, Exited, Service};

/// The queue's database for one test, fresh.
struct Db(PathBuf);

impl Db {
    fn new(test: &str) -> Db {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("queue-{test}.sqlite3"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Db(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }

    fn open(&self) -> Connection {
        let conn = Connection::open(&self.0).expect("the queue database opens");
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }

    /// Messages by state.
    fn states(&self) -> HashMap<String, u64> {
        let conn = self.open();
        let mut stmt = conn
            .prepare("SELECT state, COUNT(*) FROM queue_messages GROUP BY state")
            .unwrap();
        let rows = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn count(&self, state: &str) -> u64 {
        self.states().get(state).copied().unwrap_or(0)
    }

    /// Asserts that nothing was lost or done twice: no message is left in progress, each
    /// done message was acknowledged exactly once, and no pending one was acknowledged.
    /// Returns the number of messages.
    #[track_caller]
    fn assert_nothing_lost(&self) -> u64 {
        let conn = self.open();
        let in_progress: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM queue_messages WHERE state = 'in_progress'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            in_progress,
            0,
            "messages left in progress: {:?}",
            self.states()
        );
        let mut stmt = conn
            .prepare(
                "SELECT m.id, m.state, COUNT(a.message_id) FROM queue_messages m
                 LEFT JOIN queue_acks a ON a.message_id = m.id GROUP BY m.id",
            )
            .unwrap();
        let rows: Vec<(i64, String, u64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, state, acks) in &rows {
            match state.as_str() {
                "done" => assert_eq!(*acks, 1, "message {id} was acknowledged {acks} times"),
                "pending" => assert_eq!(*acks, 0, "pending message {id} was acknowledged"),
                other => panic!("message {id} is {other}"),
            }
        }
        let orphan_acks: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM queue_acks WHERE message_id NOT IN (SELECT id FROM queue_messages)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphan_acks, 0, "acknowledgements of unknown messages");
        assert!(!rows.is_empty(), "the producer enqueued nothing");
        rows.len() as u64
    }
}

/// Flags for a fast run: short work, so that a test takes seconds.
fn start(db: &Db, consumer: &str, flags: &[(&str, &str)]) -> Service {
    let mut envs = vec![
        ("QUEUE_WORKER_DB", db.path()),
        ("QUEUE_WORKER_CONSUMER", consumer),
    ];
    envs.extend_from_slice(flags);
    let mut svc = support::start(&example("queue_worker"), &envs);
    svc.wait_for("ready");
    svc
}

fn health_addr(svc: &Service) -> SocketAddr {
    let ready = svc.printed("ready").unwrap();
    let url = ready
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no health address in {ready:?}"));
    url.parse().unwrap()
}

fn scratch_dir(consumer: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{consumer}.scratch"))
}

#[track_caller]
fn assert_clean_exit(out: &Exited) {
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("steps: 4 ok, 0 failed, 0 timed out, 0 skipped; exit code 0 (clean)");
    assert!(out.has_line("unplugged "), "{out:#?}");
}

/// The last counts of a single instance: nothing of the queue in flight.
#[track_caller]
fn assert_alone_and_drained(out: &Exited) {
    let last = &out.stdout[out.line("final:")];
    assert!(last.ends_with("in flight 0"), "{last}");
}

#[test]
fn sigterm_under_load_finishes_the_work_in_flight_and_loses_nothing() {
    let db = Db::new("sigterm");
    let consumer = "load-test";
    let mut svc = start(
        &db,
        consumer,
        &[
            ("QUEUE_WORKER_RATE", "40"),
            ("QUEUE_WORKER_OP_TIME", "1500ms"),
            // Time enough to see /healthz answer 503 on a loaded machine.
            ("GRACEFUL_DRAIN_DELAY", "2s"),
        ],
    );
    let health = health_addr(&svc);
    svc.wait_for("running");
    svc.wait_for("running");
    assert_eq!(http::get(health, "/healthz").unwrap().status, 200);
    assert!(db.count("in_progress") > 0, "no work in flight to drain");
    let metrics = http::get(health, "/metrics").unwrap().body;
    let in_flight: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("worker_in_flight "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no worker_in_flight in /metrics:\n{metrics}"));
    assert!(in_flight > 0, "{metrics}");
    assert!(metrics.contains("shutting_down 0\n"), "{metrics}");

    svc.signal("TERM");
    // The drain delay: the instance still answers, and says it is going away.
    eventually("/healthz answers 503 during the drain delay", || {
        http::get(health, "/healthz").expect("still serving").status == 503
    });
    let out = svc.exited();

    assert_clean_exit(&out);
    assert_alone_and_drained(&out);
    assert!(
        out.stdout
            .iter()
            .any(|l| l.starts_with("final: here done") && l.contains("handed back 0;")),
        "work in flight was handed back instead of finished: {out:#?}"
    );
    // 2 s of drain delay, then at most one op of 1.5 s: generous for a loaded machine.
    assert!(
        out.elapsed >= Duration::from_secs(2) && out.elapsed < Duration::from_secs(8),
        "took {:?}",
        out.elapsed
    );
    assert!(out.line("health endpoint closed") < out.line("final:"));
    assert!(http::get(health, "/healthz").is_err(), "still listening");
    assert!(!scratch_dir(consumer).exists(), "scratch files left behind");
    db.assert_nothing_lost();
    assert!(db.count("done") > 0);
}

#[test]
fn a_probe_that_stalls_halfway_through_its_request_does_not_fail_the_shutdown() {
    let db = Db::new("stalled-probe");
    let mut svc = start(
        &db,
        "stalled-probe",
        &[
            ("QUEUE_WORKER_RATE", "10"),
            ("QUEUE_WORKER_OP_TIME", "200ms"),
        ],
    );
    let _stalled = http::send_head_start(health_addr(&svc), "/healthz").unwrap();
    svc.signal("TERM");
    let out = svc.exited();
    assert_clean_exit(&out);
    assert!(out.has_line("health endpoint closed"), "{out:#?}");
    db.assert_nothing_lost();
}

#[test]
fn work_longer_than_the_deadline_is_handed_back_before_it() {
    let db = Db::new("deadline");
    let mut svc = start(
        &db,
        "deadline-test",
        &[
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "60s"),
            ("GRACEFUL_DEADLINE", "4s"),
        ],
    );
    svc.wait_for("running");
    assert_eq!(db.count("in_progress"), 5);
    svc.signal("TERM");
    let out = svc.exited();

    out.assert_stderr("shutting down (deadline 4s");
    // Handed back a margin (400 ms) before the deadline, so every step ends in time; but
    // the deadline cut the work short, and the exit code says so.
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr(
        "steps: 4 ok, 0 failed, 0 timed out, 0 skipped; exit code 124 (deadline exceeded)",
    );
    out.assert_stderr("work cut short at the hard stop: 5 `until_deadline` call(s) gave up");
    assert!(out.has_line("unplugged "), "{out:#?}");
    assert_alone_and_drained(&out);
    assert!(
        out.elapsed >= Duration::from_secs(3) && out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
    let last = &out.stdout[out.line("final:")];
    assert!(
        last.starts_with("final: here done 0, handed back 5;"),
        "{last}"
    );
    let messages = db.assert_nothing_lost();
    assert_eq!(
        db.count("pending"),
        messages,
        "every message is pending again"
    );
    let counted: u64 = db
        .open()
        .query_row(
            "SELECT COUNT(*) FROM queue_messages WHERE attempts != 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        counted, 0,
        "a message handed back at the hard stop counts no attempt"
    );
}

/// SIGKILLs an instance that holds work, and checks that it did hold some.
fn kill_mid_work(db: &Db, consumer: &str, lease: &str) {
    let mut svc = start(
        db,
        consumer,
        &[
            ("QUEUE_WORKER_RATE", "30"),
            ("QUEUE_WORKER_OP_TIME", "700ms"),
            ("QUEUE_WORKER_LEASE", lease),
        ],
    );
    svc.wait_for("running");
    svc.wait_for("running");
    svc.signal("KILL");
    let out = svc.exited();
    assert_eq!(out.code, None, "killed by a signal: {out:#?}");
    assert!(
        db.count("in_progress") > 0,
        "the killed instance held nothing"
    );
}

/// Lets a consuming instance drain the queue, stops it, and checks the result.
fn drain_and_stop(db: &Db, mut svc: Service) -> Exited {
    eventually("the queue drains", || {
        db.count("pending") == 0 && db.count("in_progress") == 0
    });
    svc.signal("TERM");
    let out = svc.exited();
    assert_clean_exit(&out);
    assert_alone_and_drained(&out);
    let messages = db.assert_nothing_lost();
    assert_eq!(db.count("done"), messages, "every message is done");
    out
}

#[test]
fn a_killed_instance_restarted_under_its_name_reclaims_its_messages_at_once() {
    let db = Db::new("kill-restart");
    kill_mid_work(&db, "restarted", "60s");
    let held = db.count("in_progress");

    // The lease (60 s) would outlast the test: the restart itself gives them back.
    let mut svc = start(
        &db,
        "restarted",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_OP_TIME", "100ms"),
        ],
    );
    svc.wait_for_stderr(&format!(
        "consumer \"restarted\" of queue \"queue_worker\": {held} messages a killed process of its name held are pending again"
    ));
    drain_and_stop(&db, svc);
}

#[test]
fn a_killed_instances_leases_expire_and_another_instance_finishes_its_work() {
    let db = Db::new("kill-lease");
    kill_mid_work(&db, "killed", "1s");

    let svc = start(
        &db,
        "survivor",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_OP_TIME", "100ms"),
            ("QUEUE_WORKER_LEASE", "1s"),
        ],
    );
    let out = drain_and_stop(&db, svc);
    out.assert_stderr("messages whose lease ran out are pending again");
    // A killed process removes nothing: its scratch files are the test's to clean.
    let _ = std::fs::remove_dir_all(scratch_dir("killed"));
}

#[test]
fn a_rolling_restart_of_three_instances_on_one_database_loses_nothing() {
    let db = Db::new("rolling");
    let flags = [
        ("QUEUE_WORKER_RATE", "10"),
        ("QUEUE_WORKER_WORKERS", "5"),
        ("QUEUE_WORKER_OP_TIME", "400ms"),
    ];
    let mut replicas: Vec<Service> = (0..3)
        .map(|i| start(&db, &format!("replica-{i}"), &flags))
        .collect();
    // Like a rolling update: each new instance is ready before the old one is stopped,
    // and the old one drains while the other instances produce and consume.
    for (i, replica) in replicas.iter_mut().enumerate() {
        replica.wait_for("running");
        let next = start(&db, &format!("replica-{i}-next"), &flags);
        let mut old = std::mem::replace(replica, next);
        old.signal("TERM");
        assert_clean_exit(&old.exited());
    }
    for svc in &mut replicas {
        svc.wait_for("running");
        svc.signal("TERM");
    }
    for svc in replicas {
        assert_clean_exit(&svc.exited());
    }
    db.assert_nothing_lost();
    assert!(db.count("done") > 0);
}

#[test]
fn help_describes_every_flag() {
    let out = Command::new(example("queue_worker"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--rate",
        "--op-time",
        "--workers",
        "--db",
        "--queue",
        "--queue-name",
        "--journal",
        "--deadline",
        "--lease",
        "--consumer",
        "--health",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    assert!(help.contains("[default: 3s]"), "{help}");
    assert!(
        help.starts_with("A queue worker that stops without losing a message"),
        "{help}"
    );
}

/// Runs the example with flags from the environment, which it must refuse before
/// anything starts: returns its stderr. A service that starts anyway is stopped after
/// the tests' patience, and the test fails.
fn refused(envs: &[(&str, &str)]) -> String {
    let out = support::start(&example("queue_worker"), envs).exited();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stdout.is_empty(), "the service started: {out:#?}");
    out.stderr
}

#[test]
fn a_bad_flag_value_is_refused_before_anything_starts() {
    let stderr = refused(&[("QUEUE_WORKER_OP_TIME", "soon")]);
    assert!(
        stderr.contains("invalid value 'soon' for '--op-time <OP_TIME>'")
            && stderr.contains("expected a duration like 3s or 250ms"),
        "{stderr}"
    );
}

#[test]
fn a_rate_the_producer_cannot_tick_at_is_refused() {
    let stderr = refused(&[("QUEUE_WORKER_RATE", "2000000000")]);
    assert!(
        stderr.contains("invalid value '2000000000' for '--rate <RATE>'")
            && stderr.contains("0..=1000000"),
        "{stderr}"
    );
}

#[test]
fn a_lease_too_short_for_the_heartbeat_is_refused() {
    for lease in ["0s", "100ms"] {
        let stderr = refused(&[("QUEUE_WORKER_LEASE", lease)]);
        assert!(
            stderr.contains(&format!("invalid value '{lease}' for '--lease <LEASE>'"))
                && stderr.contains("a lease shorter than 1s would run out"),
            "{stderr}"
        );
    }
}

#[test]
fn a_deadline_that_cannot_hold_the_drain_delay_is_refused_naming_the_flag() {
    let out = Command::new(example("queue_worker"))
        .args(["--deadline", "1s"])
        .env_remove("GRACEFUL_DEADLINE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid value '1s' for '--deadline <DEADLINE>'")
            && stderr.contains("the deadline must be longer than the 1s drain delay it holds"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the service started");

    // The operator's variable wins over the flag, and graceful checks it.
    let out = Command::new(example("queue_worker"))
        .env("GRACEFUL_DEADLINE", "1s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "graceful: configuration error: the drain delay (1s) must be shorter than the deadline (GRACEFUL_DEADLINE=\"1s\")"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the service started");
}

/// The deadline the example shut down with, from its first shutdown line.
fn deadline_used(db: &Db, consumer: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("QUEUE_WORKER_DB", db.path()),
        ("QUEUE_WORKER_CONSUMER", consumer),
        ("QUEUE_WORKER_RATE", "0"),
    ];
    all.extend_from_slice(envs);
    let mut svc = support::start_with_args(&example("queue_worker"), args, &all);
    svc.wait_for("ready");
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("shutting down (deadline "))
        .unwrap_or_else(|| panic!("{out:#?}"));
    line.split("(deadline ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_deadline_flag_sets_the_deadline_and_graceful_deadline_wins_over_it() {
    let db = Db::new("deadline-flag");
    assert_eq!(deadline_used(&db, "flag", &[], &[]), "10s", "the default");
    assert_eq!(deadline_used(&db, "flag", &["--deadline", "7s"], &[]), "7s");
    assert_eq!(
        deadline_used(
            &db,
            "flag",
            &["--deadline", "7s"],
            &[("GRACEFUL_DEADLINE", "9s")]
        ),
        "9s"
    );
}

/// With stdout closed or stalled after `ready`, a Ctrl-C still unplugs the consumer and
/// loses nothing.
fn interrupted_with_stdout(name: &str, start: fn(&str, &[(&str, &str)], &str) -> support::Service) {
    let db = Db::new(name);
    let consumer = name;
    let mut svc = start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_DB", db.path()),
            ("QUEUE_WORKER_CONSUMER", consumer),
            ("QUEUE_WORKER_RATE", "40"),
            ("QUEUE_WORKER_OP_TIME", "500ms"),
        ],
        "ready",
    );
    svc.wait_for("ready");
    // Work in flight, and the progress line printed each second into the dead pipe.
    eventually("messages are in flight", || db.count("in_progress") > 0);
    std::thread::sleep(Duration::from_millis(1200));
    svc.signal("INT");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
    out.assert_stderr("steps: 4 ok, 0 failed, 0 timed out, 0 skipped; exit code 0 (clean)");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // The consumer unplugged: marked offline, nothing left in progress or lost.
    let online: bool = db
        .open()
        .query_row(
            "SELECT online FROM queue_consumers WHERE name = ?1",
            [consumer],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!online, "the consumer is still marked online");
    db.assert_nothing_lost();
    assert!(!scratch_dir(consumer).exists(), "scratch files left behind");
}

#[test]
fn a_closed_stdout_loses_the_lines_not_the_shutdown() {
    // `cargo run --example queue_worker | tee log`, then Ctrl-C, which ends `tee` too:
    // every line printed from then on meets a closed pipe.
    interrupted_with_stdout("stdout-closed", support::start_closing_stdout_after);
}

#[test]
fn a_stalled_stdout_loses_the_lines_not_the_shutdown() {
    // `cargo run --example queue_worker | less`, left unscrolled: every line printed from
    // then on would wait for a reader.
    interrupted_with_stdout("stdout-stalled", support::start_stalling_stdout_after);
}

#[test]
fn a_database_that_cannot_be_opened_fails_the_start_with_its_path() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-dir/queue.sqlite3");
    let consumer = "bad-db";
    let out = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_DB", missing.to_str().unwrap()),
            ("QUEUE_WORKER_CONSUMER", consumer),
        ],
    )
    .exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!(
        "Error: cannot open the queue at {}",
        missing.display()
    ));
    // The hooks of what never started have nothing to do, and do not fail.
    out.assert_stderr("4 ok, 0 failed");
    assert!(!scratch_dir(consumer).exists());
}

#[test]
fn a_health_address_in_use_fails_the_start_and_the_consumer_still_unplugs() {
    let db = Db::new("health-in-use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_DB", db.path()),
            ("QUEUE_WORKER_CONSUMER", "health-in-use"),
            ("QUEUE_WORKER_HEALTH", &addr),
        ],
    )
    .exited();
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!("Error: cannot serve /healthz on {addr}"));
    out.assert_stderr("4 ok, 0 failed");
    assert!(out.has_line("unplugged health-in-use"), "{out:#?}");
    // It never began to consume: no consumer of its name is online.
    let online: u64 = db
        .open()
        .query_row(
            "SELECT COUNT(*) FROM queue_consumers WHERE name = 'health-in-use' AND online = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(online, 0, "the consumer is still marked online");
}

#[test]
fn replicas_in_containers_get_names_of_their_own() {
    // Every container's process may be pid 1: the host name (the pod's) tells replicas
    // apart, so that one never reclaims what a live other holds.
    let db = Db::new("default-name");
    let mut svc = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_DB", db.path()),
            ("QUEUE_WORKER_RATE", "0"),
            ("HOSTNAME", "orders-7f9c-x2k4"),
        ],
    );
    svc.wait_for("ready");
    let ready = svc.printed("ready").unwrap();
    assert!(
        ready.starts_with("ready: queue-worker-orders-7f9c-x2k4-"),
        "{ready}"
    );
    svc.signal("TERM");
    let out = svc.exited();
    assert_eq!(out.code, Some(0), "{out:#?}");
}

/// Upgrades in place while messages arrive from outside, under one explicit consumer
/// name: the new process takes new messages at once, the old one finishes what it holds,
/// and the database shows nothing lost, nothing done twice, and no message left waiting
/// for longer than a second.
#[cfg(target_os = "linux")]
#[test]
fn upgrades_in_place_while_messages_arrive_lose_nothing_and_never_pause() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread;
    use support::upgrade;

    /// Each message's work: several are in flight at every trigger.
    const OP_TIME_MS: i64 = 400;

    upgrade::become_subreaper();
    let db = Db::new("upgrade");
    let dir = upgrade::scratch("queue");
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let op_time = format!("{OP_TIME_MS}ms");
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_DB", db.path()),
            ("QUEUE_WORKER_CONSUMER", "upgraded"),
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", &op_time),
        ],
    );
    svc.wait_for("ready");

    // Another service's producer, 40 messages a second, all along.
    let producing = Arc::new(AtomicBool::new(true));
    let producer = {
        let producing = producing.clone();
        let conn = db.open();
        thread::spawn(move || {
            let mut sent = 0u64;
            while producing.load(Ordering::Relaxed) {
                sent += 1;
                conn.execute(
                    "INSERT INTO queue_messages (queue, payload, state, enqueued_at)
                     VALUES ('queue_worker', ?1, 'pending', CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                    [format!("message {sent} from outside")],
                )
                .unwrap();
                thread::sleep(Duration::from_millis(25));
            }
            sent
        })
    };
    let serving = |conn: &Connection| -> u32 {
        conn.query_row(
            "SELECT pid FROM queue_consumers WHERE name = 'upgraded'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let conn = db.open();
    let mut pids = vec![svc.id()];
    thread::sleep(Duration::from_secs(1));
    for round in 0..3 {
        let old = *pids.last().unwrap();
        assert!(
            db.count("in_progress") > 0,
            "round {round}: nothing in flight"
        );
        upgrade::deploy(&example("queue_worker"), &app);
        upgrade::signal(old, "HUP");
        let new = upgrade::replaced(old, || serving(&conn));
        pids.push(new);
        assert_eq!(
            upgrade::exit_code(old, support::PATIENCE),
            Some(0),
            "round {round}: the old process {old} did not exit 0"
        );
        // The old one went offline without taking the new one's registration with it.
        let online: bool = conn
            .query_row(
                "SELECT online FROM queue_consumers WHERE name = 'upgraded' AND pid = ?1",
                [new],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            online,
            "round {round}: the old process unplugged the new one"
        );
        thread::sleep(Duration::from_millis(500));
    }
    producing.store(false, Ordering::Relaxed);
    let sent = producer.join().unwrap();
    let stopped_at: i64 = conn
        .query_row("SELECT MAX(enqueued_at) FROM queue_messages", [], |r| {
            r.get(0)
        })
        .unwrap();
    eventually("the queue drains", || {
        db.count("pending") == 0 && db.count("in_progress") == 0
    });
    let last = *pids.last().unwrap();
    upgrade::signal(last, "TERM");
    assert_eq!(upgrade::exit_code(last, support::PATIENCE), Some(0));
    eventually("every generation's output is read", || {
        svc.printed_all("unplugged ").len() == pids.len()
    });

    assert_eq!(db.assert_nothing_lost(), sent);
    assert_eq!(db.count("done"), sent, "every message is done");
    // Each generation finished what it held itself: nothing was handed back or
    // reclaimed at a start.
    assert!(!svc.stderr_has("a killed process of its name held"));
    let finals = svc.printed_all("final:");
    assert_eq!(finals.len(), pids.len(), "{finals:#?}");
    for last_word in &finals {
        assert!(last_word.contains("handed back 0;"), "{finals:#?}");
    }
    // No pause: the longest any message waited to be taken (acknowledged, less its
    // work) is the idle poll's 100 ms and some, far from the restart's seconds.
    let longest_wait: i64 = conn
        .query_row(
            "SELECT MAX(a.acked_at - m.enqueued_at) FROM queue_acks a JOIN queue_messages m ON m.id = a.message_id",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let longest_wait = longest_wait - OP_TIME_MS;
    assert!(
        longest_wait <= 1000,
        "a message waited {longest_wait} ms to be taken"
    );
    // Acknowledgements never paused while messages arrived: across three handovers, no
    // gap between two acknowledgements longer than half a second.
    let mut stmt = conn
        .prepare("SELECT acked_at FROM queue_acks WHERE acked_at <= ?1 ORDER BY acked_at")
        .unwrap();
    let acks: Vec<i64> = stmt
        .query_map([stopped_at], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let longest_gap = acks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        longest_gap <= 500,
        "acknowledgements paused for {longest_gap} ms"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh journal file for one test.
fn journal_path(test: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-{test}.log"));
    let _ = std::fs::remove_file(&path);
    path
}

/// SIGTERM to a consumer while another process produces: it finishes what it holds, a
/// final consumer empties the queue, and the journal shows every message sent done
/// exactly once.
#[test]
fn sigterm_mid_traffic_every_message_sent_is_done_exactly_once() {
    let db = Db::new("journal-sigterm");
    let journal = journal_path("sigterm");
    let journal_str = journal.to_str().unwrap();
    let mut producer = start(
        &db,
        "journal-producer",
        &[
            ("QUEUE_WORKER_RATE", "50"),
            ("QUEUE_WORKER_WORKERS", "0"),
            ("QUEUE_WORKER_JOURNAL", journal_str),
        ],
    );
    let mut first = start(
        &db,
        "journal-first",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
            ("QUEUE_WORKER_JOURNAL", journal_str),
        ],
    );
    let first_pid = first.id();
    eventually("the first consumer is busy", || {
        support::journal::Journal::read(&journal).done_by(first_pid) > 10
            && db.count("in_progress") > 0
    });
    first.signal("TERM");
    let out = first.exited();
    assert_clean_exit(&out);
    assert!(
        out.has_line("final: here done")
            && out.stdout[out.line("final:")].contains("handed back 0;"),
        "{out:#?}"
    );
    out.assert_stderr("consumer \"journal-first\": taken ");
    // The SQLite source takes nothing ahead of a handler: nothing to hand back unstarted.
    out.assert_stderr("consumer \"journal-first\": intake stopped; ");
    out.assert_stderr(" handed back unstarted");

    producer.signal("TERM");
    assert_clean_exit(&producer.exited());
    let last = start(
        &db,
        "journal-last",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_OP_TIME", "10ms"),
            ("QUEUE_WORKER_JOURNAL", journal_str),
        ],
    );
    drain_and_stop(&db, last);
    let read = support::journal::Journal::read(&journal);
    let sent = read.assert_each_sent_done_once();
    assert_eq!(sent as u64, db.assert_nothing_lost());
    assert!(read.done_by(first_pid) > 0);
}

/// Work longer than the deadline: exit 124, and what was cut is done by the next
/// instance, once, as the journal shows.
#[test]
fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let db = Db::new("journal-deadline");
    let journal = journal_path("deadline");
    let journal_str = journal.to_str().unwrap();
    let mut cut = start(
        &db,
        "journal-cut",
        &[
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_WORKERS", "5"),
            ("QUEUE_WORKER_OP_TIME", "60s"),
            ("GRACEFUL_DEADLINE", "3s"),
            ("QUEUE_WORKER_JOURNAL", journal_str),
        ],
    );
    let cut_pid = cut.id();
    cut.wait_for("running");
    cut.signal("TERM");
    let out = cut.exited();
    assert_eq!(out.code, Some(124), "{out:#?}");
    out.assert_stderr("handed back 0 unstarted and 5 cut");
    assert!(
        out.stdout[out.line("final:")].starts_with("final: here done 0, handed back 5;"),
        "{out:#?}"
    );

    let next = start(
        &db,
        "journal-next",
        &[
            ("QUEUE_WORKER_RATE", "0"),
            ("QUEUE_WORKER_OP_TIME", "10ms"),
            ("QUEUE_WORKER_JOURNAL", journal_str),
        ],
    );
    let next_pid = next.id();
    drain_and_stop(&db, next);
    let read = support::journal::Journal::read(&journal);
    let sent = read.assert_each_sent_done_once();
    assert_eq!(
        read.done_by(cut_pid),
        0,
        "the cut instance finished nothing"
    );
    assert_eq!(read.done_by(next_pid), sent);
}

#[test]
fn a_queue_url_of_an_unknown_scheme_is_refused_naming_those_accepted() {
    let stderr = refused(&[("QUEUE_WORKER_QUEUE", "kafka://127.0.0.1:9092")]);
    assert!(
        stderr.contains("invalid value 'kafka://127.0.0.1:9092' for '--queue <QUEUE>'")
            && stderr.contains(
                "the scheme \"kafka\" is not one this program knows; accepted: sqlite://"
            ),
        "{stderr}"
    );
}

#[test]
fn a_sqlite_url_and_a_queue_name_are_accepted() {
    let db = Db::new("sqlite-url");
    let url = format!("sqlite://{}", db.path());
    let mut svc = support::start(
        &example("queue_worker"),
        &[
            ("QUEUE_WORKER_QUEUE", &url),
            ("QUEUE_WORKER_QUEUE_NAME", "named"),
            ("QUEUE_WORKER_CONSUMER", "sqlite-url"),
            ("QUEUE_WORKER_RATE", "20"),
            ("QUEUE_WORKER_OP_TIME", "10ms"),
        ],
    );
    svc.wait_for("running");
    svc.wait_for("running");
    svc.signal("TERM");
    assert_clean_exit(&svc.exited());
    let named: u64 = db
        .open()
        .query_row(
            "SELECT COUNT(*) FROM queue_messages WHERE queue = 'named' AND state = 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(named > 0);
    db.assert_nothing_lost();
}

/// An upgrade whose new process exits at once, never ready, is rolled back: the old
/// process's registration and what it holds stay as they were, it goes on taking
/// messages, and nothing is lost or done twice.
#[cfg(target_os = "linux")]
#[test]
fn an_upgrade_rolled_back_leaves_no_trace_in_the_queue() {
    use std::os::unix::fs::PermissionsExt;
    use support::upgrade;

    upgrade::become_subreaper();
    let db = Db::new("rollback");
    let dir = upgrade::scratch("queue-rollback");
    let app = dir.join("queue_worker");
    upgrade::deploy(&example("queue_worker"), &app);
    let mut svc = support::start(
        app.to_str().unwrap(),
        &[
            ("QUEUE_WORKER_DB", db.path()),
            ("QUEUE_WORKER_CONSUMER", "rolled-back"),
            ("QUEUE_WORKER_RATE", "40"),
            ("QUEUE_WORKER_WORKERS", "10"),
            ("QUEUE_WORKER_OP_TIME", "300ms"),
        ],
    );
    svc.wait_for("ready");
    svc.wait_for("running");
    let pid = svc.id();
    let registration = || -> (u32, bool) {
        db.open()
            .query_row(
                "SELECT pid, online FROM queue_consumers WHERE name = 'rolled-back'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    assert_eq!(registration(), (pid, true));

    // The new binary fails at once, as a broken build would.
    let broken = dir.join("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&broken, &app).unwrap();
    let done_before = db.count("done");
    svc.signal("HUP");
    svc.wait_for_stderr("upgrade failed");
    assert_eq!(registration(), (pid, true), "the registration changed");
    let held_by_others: u64 = db
        .open()
        .query_row(
            "SELECT COUNT(*) FROM queue_messages WHERE state = 'in_progress' AND holder_pid != ?1",
            [pid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held_by_others, 0, "someone else holds messages");
    eventually("the old process goes on consuming", || {
        db.count("done") > done_before + 20
    });
    svc.signal("TERM");
    assert_clean_exit(&svc.exited());
    db.assert_nothing_lost();
    let _ = std::fs::remove_dir_all(dir);
}
