//! The queue example on RabbitMQ (`--queue amqp://…`), as real processes: a SIGTERM
//! mid-traffic, work longer than the deadline, a SIGKILL, and a broker that refuses.

mod broker_queue;

use broker_queue::Queue;
use graceful_process_tests::broker;

/// Deletes the test's queue at the end, whatever happened.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let queue = self.0.clone();
        let deleted = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use amqprs::channel::QueueDeleteArguments;
                use amqprs::connection::{Connection, OpenConnectionArguments};
                let args = OpenConnectionArguments::new("127.0.0.1", 5672, "guest", "guest");
                let connection = Connection::open(&args).await?;
                let channel = connection.open_channel(None).await?;
                channel
                    .queue_delete(QueueDeleteArguments::new(&queue))
                    .await?;
                channel.close().await?;
                connection.close().await
            })
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("cannot delete the test queue {}: {deleted:?}", self.0);
        }
    }
}

fn queue(test: &str) -> Option<(Queue, Cleanup)> {
    if !broker::available(broker::RABBITMQ, test) {
        return None;
    }
    let queue = Queue::new(broker::RABBITMQ.url, test);
    let cleanup = Cleanup(queue.name.clone());
    Some((queue, cleanup))
}

#[test]
fn sigterm_mid_traffic_every_message_is_done_exactly_once() {
    let Some((queue, _cleanup)) = queue("amqp_sigterm") else {
        return;
    };
    broker_queue::sigterm_mid_traffic_every_message_is_done_exactly_once(&queue);
}

#[test]
fn messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some((queue, _cleanup)) = queue("amqp_deadline") else {
        return;
    };
    broker_queue::messages_cut_at_the_deadline_are_done_by_the_next_instance_once(&queue);
}

#[test]
fn a_killed_consumers_messages_come_back_and_nothing_is_lost() {
    let Some((queue, _cleanup)) = queue("amqp_kill") else {
        return;
    };
    broker_queue::a_killed_consumers_messages_come_back_and_nothing_is_lost(&queue);
    // Nothing is left in the queue (every consumer has exited, so nothing is held either):
    // every message was acknowledged by someone.
    let name = queue.name.clone();
    let left = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use amqprs::channel::QueueDeclareArguments;
            use amqprs::connection::{Connection, OpenConnectionArguments};
            let args = OpenConnectionArguments::new("127.0.0.1", 5672, "guest", "guest");
            let connection = Connection::open(&args).await?;
            let channel = connection.open_channel(None).await?;
            let declared = channel
                .queue_declare(QueueDeclareArguments::new(&name).passive(true).finish())
                .await?;
            let _ = connection.close().await;
            Ok::<u32, amqprs::error::Error>(declared.map_or(0, |(_, ready, _)| ready))
        })
    })
    .join()
    .unwrap()
    .expect("count the queue");
    assert_eq!(
        left, 0,
        "messages left in the queue after the last consumer"
    );
}

#[test]
fn a_wrong_url_an_unreachable_broker_and_bad_credentials_stop_the_start_with_exit_code_1() {
    if !broker::available(broker::RABBITMQ, "amqp_refused") {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    broker_queue::refused_at_start(
        &format!("amqp://guest:secret@{closed}/%2f"),
        &format!("cannot connect to amqp://guest@{closed}/%2f"),
    );
    broker_queue::refused_at_start(
        "amqp://guest:secret@127.0.0.1:notaport/%2f",
        "bad AMQP URL amqp://guest@127.0.0.1:notaport/%2f: the port is not a number",
    );
    broker_queue::refused_at_start(
        "amqp://guest:secret@127.0.0.1:5672/%2f",
        "a refused user or password, or an unknown vhost",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_in_place_lose_nothing_and_never_pause() {
    let Some((queue, _cleanup)) = queue("amqp_upgrade") else {
        return;
    };
    broker_queue::upgrades_in_place_lose_nothing_and_never_pause(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn upgrades_that_fail_leave_no_trace() {
    let Some((queue, _cleanup)) = queue("amqp_rollback") else {
        return;
    };
    broker_queue::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn the_broker_going_away_mid_drain_is_said_and_nothing_is_done_twice() {
    let Some((queue, _cleanup)) = queue("amqp_away") else {
        return;
    };
    let proxy = broker_queue::Proxy::start(broker::RABBITMQ.addr);
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    broker_queue::the_broker_going_away_mid_drain_is_said_and_nothing_is_done_twice(
        &queue, &proxy, &url,
    );
}
