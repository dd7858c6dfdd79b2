//! The queue example on NATS JetStream (`--queue nats://...`), with real signals and
//! messages from another process: nothing lost, nothing done twice.

#[allow(dead_code)]
#[path = "streams_queue/mod.rs"]
mod broker_queue;

use std::io::{Read, Write};
use std::net::TcpListener;

use broker_queue::Queue;
use graceful_process_tests::broker::{self, NATS};

#[test]
fn nats_sigterm_mid_traffic_every_message_sent_is_done_exactly_once() {
    if !broker::available(
        NATS,
        "nats_sigterm_mid_traffic_every_message_sent_is_done_exactly_once",
    ) {
        return;
    }
    let queue = Queue::new(NATS, "nats_sigterm");
    broker_queue::sigterm_mid_traffic(&queue);
    queue.delete();
}

#[test]
fn nats_messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    if !broker::available(
        NATS,
        "nats_messages_cut_at_the_deadline_are_done_by_the_next_instance_once",
    ) {
        return;
    }
    let queue = Queue::new(NATS, "nats_deadline");
    broker_queue::cut_at_the_deadline(&queue);
    queue.delete();
}

#[test]
fn nats_sigkill_loses_nothing() {
    if !broker::available(NATS, "nats_sigkill_loses_nothing") {
        return;
    }
    let queue = Queue::new(NATS, "nats_sigkill");
    broker_queue::sigkill_loses_nothing(&queue);
    queue.delete();
}

/// A server that refuses every login, as a NATS server with authorization does.
fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let info = format!(
                "INFO {{\"server_id\":\"test\",\"version\":\"2.9.10\",\"proto\":1,\"host\":\"127.0.0.1\",\"port\":{port},\"max_payload\":1048576,\"auth_required\":true,\"headers\":true}}\r\n"
            );
            let _ = socket.write_all(info.as_bytes());
            let mut buf = [0; 4096];
            let _ = socket.read(&mut buf);
            let _ = socket.write_all(b"-ERR 'Authorization Violation'\r\n");
        }
    });
    format!("nats://someone:wrongsecret@127.0.0.1:{port}")
}

#[test]
fn nats_an_unreachable_server_and_a_refused_login_fail_the_start_with_exit_1() {
    if !broker::available(
        NATS,
        "nats_an_unreachable_server_and_a_refused_login_fail_the_start_with_exit_1",
    ) {
        return;
    }
    let queue = Queue::new(NATS, "nats_bad");
    broker_queue::unreachable_broker(
        &queue,
        "nats://127.0.0.1:1",
        "Error: nats nats://127.0.0.1:1 queue ",
    );
    let url = refusing_server();
    let shown = url.replace("wrongsecret", "***");
    broker_queue::unreachable_broker(&queue, &url, &format!("Error: nats {shown} queue "));
}

#[cfg(target_os = "linux")]
#[test]
fn nats_upgrades_in_place_under_load_lose_nothing_and_never_pause() {
    if !broker::available(
        NATS,
        "nats_upgrades_in_place_under_load_lose_nothing_and_never_pause",
    ) {
        return;
    }
    let queue = Queue::new(NATS, "nats_upgrade");
    broker_queue::upgrades_in_place_under_load(&queue);
    queue.delete();
}

#[cfg(target_os = "linux")]
#[test]
fn nats_an_upgrade_rolled_back_leaves_no_trace() {
    if !broker::available(NATS, "nats_an_upgrade_rolled_back_leaves_no_trace") {
        return;
    }
    let queue = Queue::new(NATS, "nats_rollback");
    broker_queue::an_upgrade_rolled_back_leaves_no_trace(&queue);
    queue.delete();
}

#[test]
fn nats_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice() {
    if !broker::available(
        NATS,
        "nats_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice",
    ) {
        return;
    }
    let queue = Queue::new(NATS, "nats_gone");
    let proxy = broker_queue::Proxy::start(NATS);
    let url = format!("nats://127.0.0.1:{}", proxy.port);
    let out = broker_queue::broker_gone_mid_drain(&queue, &url, &proxy);
    // The close fails, and so the unplug: exit code 1, as documented for a failed step.
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!(
        "nats {url} queue {}: cannot acknowledge message ",
        queue.name
    ));
    out.assert_stderr("settlements failed");
    out.assert_stderr("unplug from queue: failed");
    queue.delete();
}
