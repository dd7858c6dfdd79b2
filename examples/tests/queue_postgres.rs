//! The queue example on a PostgreSQL table (`--queue postgres://…`), as real processes: a
//! SIGTERM mid-traffic, work longer than the deadline, a SIGKILL, and a server that
//! refuses.

#[allow(dead_code)]
mod on_broker;

use graceful_process_tests::broker::{self, POSTGRES};
use on_broker::Queue;

fn queue(test: &str) -> Option<Queue> {
    Queue::on(POSTGRES, test, test)
}

#[test]
fn sigterm_mid_traffic_every_message_is_done_exactly_once() {
    let Some(queue) = queue("pg_sigterm") else {
        return;
    };
    on_broker::sigterm_mid_traffic(&queue);
}

#[test]
fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some(queue) = queue("pg_deadline") else {
        return;
    };
    on_broker::cut_at_the_deadline(&queue);
}

#[test]
fn a_killed_consumers_messages_come_back_and_nothing_is_lost() {
    let Some(queue) = queue("pg_kill") else {
        return;
    };
    on_broker::a_killed_consumers_messages_come_back(&queue);
    // Nothing is left in the table: every message was acknowledged by someone.
    assert_eq!(
        queue.remaining(),
        0,
        "messages left in the table after the last consumer"
    );
}

#[test]
fn a_wrong_url_an_unreachable_server_and_a_refused_login_stop_the_start_with_exit_code_1() {
    if !broker::available(POSTGRES, "pg_refused") {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    on_broker::refused_at_start(
        &format!("postgres://postgres:secret@{closed}/test"),
        &format!("cannot connect to postgres://postgres@{closed}/test"),
    );
    on_broker::refused_at_start(
        "postgres://postgres:secret@127.0.0.1:notaport/test",
        "bad PostgreSQL URL postgres://postgres@127.0.0.1:notaport/test",
    );
    on_broker::refused_at_start(
        "postgres://nobody_here:secret@127.0.0.1:5432/test",
        "role \"nobody_here\" does not exist",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_in_place_lose_nothing_and_never_pause() {
    let Some(queue) = queue("pg_upgrade") else {
        return;
    };
    on_broker::upgrades_in_place_under_load(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_that_fail_leave_no_trace() {
    let Some(queue) = queue("pg_rollback") else {
        return;
    };
    on_broker::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn the_server_going_away_mid_drain_is_said_and_nothing_is_done_twice() {
    let Some(queue) = queue("pg_away") else {
        return;
    };
    let proxy = on_broker::Proxy::start(POSTGRES);
    on_broker::the_broker_going_away_mid_drain_is_said(&queue, &proxy);
}
