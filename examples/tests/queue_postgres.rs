//! The queue example on a PostgreSQL table (`--queue postgres://…`), as real processes: a
//! SIGTERM mid-traffic, work longer than the deadline, a SIGKILL, and a server that
//! refuses.

mod broker_queue;

use broker_queue::Queue;
use graceful_process_tests::broker;

/// Drops the test's table at the end, whatever happened.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let table = self.0.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(broker::POSTGRES.url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("cannot drop the test table {}: {dropped:?}", self.0);
        }
    }
}

fn queue(test: &str) -> Option<(Queue, Cleanup)> {
    if !broker::available(broker::POSTGRES, test) {
        return None;
    }
    let queue = Queue::new(broker::POSTGRES.url, test);
    let cleanup = Cleanup(queue.name.clone());
    Some((queue, cleanup))
}

#[test]
fn sigterm_mid_traffic_every_message_is_done_exactly_once() {
    let Some((queue, _cleanup)) = queue("pg_sigterm") else {
        return;
    };
    broker_queue::sigterm_mid_traffic_every_message_is_done_exactly_once(&queue);
}

#[test]
fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some((queue, _cleanup)) = queue("pg_deadline") else {
        return;
    };
    broker_queue::messages_cut_at_the_deadline_are_done_by_the_next_instance_once(&queue);
}

#[test]
fn a_killed_consumers_messages_come_back_and_nothing_is_lost() {
    let Some((queue, _cleanup)) = queue("pg_kill") else {
        return;
    };
    broker_queue::a_killed_consumers_messages_come_back_and_nothing_is_lost(&queue);
    // Nothing is left in the table: every message was acknowledged by someone.
    let table = queue.name.clone();
    let left = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(broker::POSTGRES.url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            let row = client
                .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
                .await?;
            Ok::<i64, tokio_postgres::Error>(row.get(0))
        })
    })
    .join()
    .unwrap()
    .expect("count the table");
    assert_eq!(
        left, 0,
        "messages left in the table after the last consumer"
    );
}

#[test]
fn a_wrong_url_an_unreachable_server_and_a_refused_login_stop_the_start_with_exit_code_1() {
    if !broker::available(broker::POSTGRES, "pg_refused") {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    broker_queue::refused_at_start(
        &format!("postgres://postgres:secret@{closed}/test"),
        &format!("cannot connect to postgres://postgres@{closed}/test"),
    );
    broker_queue::refused_at_start(
        "postgres://postgres:secret@127.0.0.1:notaport/test",
        "bad PostgreSQL URL postgres://postgres@127.0.0.1:notaport/test",
    );
    broker_queue::refused_at_start(
        "postgres://nobody_here:secret@127.0.0.1:5432/test",
        "role \"nobody_here\" does not exist",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_in_place_lose_nothing_and_never_pause() {
    let Some((queue, _cleanup)) = queue("pg_upgrade") else {
        return;
    };
    broker_queue::upgrades_in_place_lose_nothing_and_never_pause(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_that_fail_leave_no_trace() {
    let Some((queue, _cleanup)) = queue("pg_rollback") else {
        return;
    };
    broker_queue::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn the_server_going_away_mid_drain_is_said_and_nothing_is_done_twice() {
    let Some((queue, _cleanup)) = queue("pg_away") else {
        return;
    };
    let proxy = broker_queue::Proxy::start(broker::POSTGRES.addr);
    let url = format!("postgres://postgres@{}/test", proxy.addr);
    broker_queue::the_broker_going_away_mid_drain_is_said_and_nothing_is_done_twice(
        &queue, &proxy, &url,
    );
}
