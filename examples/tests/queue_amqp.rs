//! The queue example on RabbitMQ (`--queue amqp://…`), as real processes: a SIGTERM
//! mid-traffic, work longer than the deadline, a SIGKILL, and a broker that refuses.

#[allow(dead_code)]
mod on_broker;

use graceful_process_tests::broker::{self, RABBITMQ};
use on_broker::Queue;

fn queue(test: &str) -> Option<Queue> {
    Queue::on(RABBITMQ, test, test)
}

#[test]
fn sigterm_mid_traffic_every_message_is_done_exactly_once() {
    let Some(queue) = queue("amqp_sigterm") else {
        return;
    };
    on_broker::sigterm_mid_traffic(&queue);
}

#[test]
fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some(queue) = queue("amqp_deadline") else {
        return;
    };
    on_broker::cut_at_the_deadline(&queue);
}

#[test]
fn a_killed_consumers_messages_come_back_and_nothing_is_lost() {
    let Some(queue) = queue("amqp_kill") else {
        return;
    };
    on_broker::a_killed_consumers_messages_come_back(&queue);
    // Nothing is left in the queue (every consumer has exited, so nothing is held either):
    // every message was acknowledged by someone.
    assert_eq!(
        queue.remaining(),
        0,
        "messages left in the queue after the last consumer"
    );
}

#[test]
fn a_wrong_url_an_unreachable_broker_and_bad_credentials_stop_the_start_with_exit_code_1() {
    if !broker::available(RABBITMQ, "amqp_refused") {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    on_broker::refused_at_start(
        &format!("amqp://guest:secret@{closed}/%2f"),
        &format!("cannot connect to amqp://guest@{closed}/%2f"),
    );
    on_broker::refused_at_start(
        "amqp://guest:secret@127.0.0.1:notaport/%2f",
        "bad AMQP URL amqp://guest@127.0.0.1:notaport/%2f: the port is not a number",
    );
    on_broker::refused_at_start(
        "amqp://guest:secret@127.0.0.1:5672/%2f",
        "a refused user or password, or an unknown vhost",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_in_place_lose_nothing_and_never_pause() {
    let Some(queue) = queue("amqp_upgrade") else {
        return;
    };
    on_broker::upgrades_in_place_under_load(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_that_fail_leave_no_trace() {
    let Some(queue) = queue("amqp_rollback") else {
        return;
    };
    on_broker::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn the_broker_going_away_mid_drain_is_said_and_nothing_is_done_twice() {
    let Some(queue) = queue("amqp_away") else {
        return;
    };
    let proxy = on_broker::Proxy::start(RABBITMQ);
    on_broker::the_broker_going_away_mid_drain_is_said(&queue, &proxy);
}
