//! The embedded SQLite queue (`graceful::consume::sqlite`, feature `sqlite`): its
//! settlements, its leases, and what it leaves to the process an upgrade replaces, read
//! back from its file as another process would.
#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::time::Duration;

use graceful::consume::sqlite::SqliteQueue;
use graceful::consume::{Consumer, Delivery, Failure, Publish, Source};
use graceful::testing::Harness;
use rusqlite::{params, Connection};
use tokio::time::sleep;

/// A fresh file for each test.
fn file(test: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sqlite-{test}.sqlite3"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// `(state, attempts, holder_pid)` of message `id`.
fn row(path: &PathBuf, id: i64) -> (String, u32, Option<i64>) {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT state, attempts, holder_pid FROM queue_messages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// Puts message `id` in progress under `consumer`, held by process `pid` until `lease_until`.
fn hold(path: &PathBuf, id: i64, consumer: &str, pid: i64, lease_until: i64) {
    Connection::open(path)
        .unwrap()
        .execute(
            "UPDATE queue_messages SET state = 'in_progress', consumer = ?2, holder_pid = ?3,
                 lease_until = ?4, attempts = 1 WHERE id = ?1",
            params![id, consumer, pid, lease_until],
        )
        .unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_settlement_sets_its_state_and_hand_back_counts_no_attempt() {
    let path = file("settlements");
    let queue = SqliteQueue::open(&path, "q").unwrap();
    for n in 0..4 {
        queue.publish(format!("m{n}").as_bytes()).await.unwrap();
    }
    let mut source = queue.source("c", Duration::from_secs(30), None);
    let a = source.next().await.unwrap();
    assert_eq!(
        (
            a.message().id(),
            a.message().payload(),
            a.message().attempt()
        ),
        ("1", &b"m0"[..], 1)
    );
    let b = source.next().await.unwrap();
    let c = source.next().await.unwrap();
    let d = source.next().await.unwrap();
    a.ack().await.unwrap();
    b.retry().await.unwrap();
    c.reject().await.unwrap();
    d.hand_back().await.unwrap();
    assert_eq!(row(&path, 1), ("done".into(), 1, None));
    assert_eq!(row(&path, 2), ("pending".into(), 1, None));
    assert_eq!(row(&path, 3), ("dead".into(), 1, None));
    assert_eq!(row(&path, 4), ("pending".into(), 0, None));
    // Retried: its next delivery is attempt 2. Handed back: still attempt 1.
    let again = source.next().await.unwrap();
    assert_eq!((again.message().id(), again.message().attempt()), ("2", 2));
    let back = source.next().await.unwrap();
    assert_eq!((back.message().id(), back.message().attempt()), ("4", 1));
    let counts = queue.counts().unwrap();
    assert_eq!(
        (counts.pending, counts.in_progress, counts.done, counts.dead),
        (0, 2, 1, 1)
    );
    again.ack().await.unwrap();
    back.ack().await.unwrap();
    assert!(source.stop().await.unwrap().is_empty());
    source.close().await.unwrap();

    let conn = Connection::open(&path).unwrap();
    let acks: u32 = conn
        .query_row(
            "SELECT COUNT(*) FROM queue_acks WHERE queue = 'q'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(acks, 3);
    let online: bool = conn
        .query_row(
            "SELECT online FROM queue_consumers WHERE queue = 'q' AND name = 'c'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!online, "offline once closed");
    // The source's close left the connection to the handle that shares it.
    queue.publish(b"later").await.unwrap();
    queue.close().unwrap();
    // Closed: a clear error, not a panic.
    let e = queue.publish(b"late").await.unwrap_err();
    assert!(e.to_string().contains("closed"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_sharing_a_file_do_not_see_each_others_messages() {
    let path = file("two-queues");
    let orders = SqliteQueue::open(&path, "orders").unwrap();
    let mails = SqliteQueue::open(&path, "mails").unwrap();
    orders.publish(b"order").await.unwrap();
    mails.publish(b"mail").await.unwrap();
    let mut source = mails.source("c", Duration::from_secs(30), None);
    let got = source.next().await.unwrap();
    assert_eq!(got.message().payload(), b"mail");
    got.ack().await.unwrap();
    assert_eq!(orders.counts().unwrap().pending, 1);
    assert_eq!(mails.counts().unwrap().done, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_first_take_a_consumer_reclaims_what_a_killed_process_held_not_its_predecessors() {
    let path = file("predecessor");
    let queue = SqliteQueue::open(&path, "q").unwrap();
    for _ in 0..3 {
        queue.publish(b"m").await.unwrap();
    }
    let (killed, predecessor) = (4_000_001, 4_000_002);
    let far = now_ms() + 600_000;
    hold(&path, 1, "c", killed, far);
    hold(&path, 2, "c", predecessor, far);

    let source = queue.source("c", Duration::from_secs(30), Some(predecessor as u32));
    // Nothing happens before the first take: a candidate rolled back leaves no trace.
    assert_eq!(row(&path, 1).0, "in_progress");
    let consumers: u32 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM queue_consumers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(consumers, 0);
    drop(source);

    let mut source = queue.source("c", Duration::from_secs(30), Some(predecessor as u32));
    let first = source.next().await.unwrap();
    // The killed process's message came back and was taken first; the predecessor's is
    // left to it.
    assert_eq!(first.message().id(), "1");
    assert_eq!(row(&path, 2), ("in_progress".into(), 1, Some(predecessor)));
    // A settlement of what this process does not hold fails with a clear error.
    let second = source.next().await.unwrap();
    assert_eq!(second.message().id(), "3");
    first.ack().await.unwrap();
    second.hand_back().await.unwrap();
    assert_eq!(row(&path, 2), ("in_progress".into(), 1, Some(predecessor)));
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_ran_out_returns_its_message_and_its_late_ack_fails() {
    let path = file("lease");
    let queue = SqliteQueue::open(&path, "q").unwrap();
    queue.publish(b"a").await.unwrap();
    queue.publish(b"b").await.unwrap();
    hold(&path, 1, "dead", 4_000_003, now_ms() - 1);
    let mut source = queue.source("live", Duration::from_secs(3), None);
    let b = source.next().await.unwrap();
    assert_eq!(b.message().id(), "2");
    // The heartbeat's first tick returns the expired lease at once.
    let a = source.next().await.unwrap();
    assert_eq!(a.message().id(), "1");
    // Held by this process: the heartbeat renews it; expire it by hand as a stuck
    // process's would, and take it back as another consumer.
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE queue_messages SET state = 'pending', consumer = NULL, holder_pid = NULL WHERE id = 1",
            [],
        )
        .unwrap();
    let e = a.ack().await.unwrap_err();
    assert!(e.to_string().contains("no longer holds it"), "{e}");
    b.ack().await.unwrap();
    source.close().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_runner_over_sqlite_does_every_message_once() {
    let path = file("runner");
    let queue = SqliteQueue::open(&path, "q").unwrap();
    for n in 0..50 {
        queue.publish(format!("{n}").as_bytes()).await.unwrap();
    }
    let source = queue.source("c", Duration::from_secs(30), None);
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("sqlite", source)
                .handlers(5)
                .on_failure(Failure::reject())
                .start(|msg| async move {
                    sleep(Duration::from_millis(10)).await;
                    if msg.text() == Some("7") {
                        return Err("seven");
                    }
                    Ok(())
                });
            sleep(Duration::from_secs(2)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let counts = report.consumer("sqlite").unwrap().counts();
    assert_eq!((counts.taken, counts.done, counts.rejected), (50, 49, 1));
    let conn = Connection::open(&path).unwrap();
    let twice: u32 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT message_id FROM queue_acks GROUP BY message_id HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0);
    let states: (u32, u32) = conn
        .query_row(
            "SELECT SUM(state = 'done'), SUM(state = 'dead') FROM queue_messages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(states, (49, 1));
}

#[test]
fn a_file_that_cannot_be_opened_is_a_clear_error() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-dir/queue.sqlite3");
    let e = SqliteQueue::open(&path, "q").unwrap_err();
    assert!(e.to_string().contains("cannot open the queue file"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_left_by_a_dead_process_is_taken_back_after_a_lease() {
    let path = file("stale-registration");
    let queue = SqliteQueue::open(&path, "q").unwrap();
    queue.publish(b"m").await.unwrap();
    let mut source = queue.source("c", Duration::from_secs(1), None);
    let held = source.next().await.unwrap();
    let conn = Connection::open(&path).unwrap();
    let registered = |conn: &Connection| -> (i64, bool) {
        conn.query_row(
            "SELECT pid, online FROM queue_consumers WHERE queue = 'q' AND name = 'c'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let me = i64::from(std::process::id());
    assert_eq!(registered(&conn), (me, true));
    // A new process of an upgrade took the name, then died: its beats stopped.
    conn.execute(
        "UPDATE queue_consumers SET pid = 4000009, heartbeat_at = ?1",
        [now_ms() - 60_000],
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while registered(&conn).0 != me {
        assert!(std::time::Instant::now() < deadline, "never taken back");
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(registered(&conn), (me, true));
    // A live one (beating) is left alone.
    conn.execute(
        "UPDATE queue_consumers SET pid = 4000010, heartbeat_at = ?1",
        [now_ms() + 60_000],
    )
    .unwrap();
    sleep(Duration::from_millis(700)).await;
    assert_eq!(registered(&conn).0, 4_000_010);
    held.ack().await.unwrap();
    source.close().await.unwrap();
}

/// Two consumers over one handle (two sources of one `SqliteQueue`, which share its
/// connection): the one that finishes first leaves the connection open for the other,
/// whose acknowledgement under way goes through; the last one closes it.
#[tokio::test(start_paused = true)]
async fn a_consumer_that_closes_first_leaves_the_shared_connection_to_the_other() {
    let path = file("shared_connection");
    let queue = SqliteQueue::open(&path, "orders").unwrap();
    queue.publish(b"slow work").await.unwrap();
    let slow_source = queue.source("slow", Duration::from_secs(30), None);
    let idle_source = queue.source("idle", Duration::from_secs(30), None);
    let counted = queue.clone();
    drop(queue);

    let report = Harness::new()
        .without_registered_hooks()
        .deadline(Duration::from_secs(30))
        .run(async move {
            let slow = Consumer::new("slow", slow_source)
                .handlers(1)
                .start(|_| async {
                    sleep(Duration::from_secs(2)).await;
                    Ok::<(), String>(())
                });
            sleep(Duration::from_millis(200)).await;
            let idle = Consumer::new("idle", idle_source)
                .handlers(1)
                .start(|_| async { Ok::<(), String>(()) });
            sleep(Duration::from_millis(300)).await;
            graceful::request_shutdown("test over");
            // The idle one closes first, while the slow one's handler runs.
            let idle = idle.finished().await;
            let slow = slow.finished().await;
            idle.and(slow).map(|_| ())
        })
        .await;

    assert_eq!(report.exit_code(), 0, "{report:?}");
    let slow = report.consumer("slow").unwrap().counts();
    assert_eq!((slow.taken, slow.done, slow.settle_failed), (1, 1, 0));
    assert_eq!(row(&path, 1).0, "done");
    // The clone kept in the test still works; closing it closes the file.
    assert_eq!(counted.counts().unwrap().done, 1);
    counted.close().unwrap();
    assert!(counted.counts().is_err());
}
