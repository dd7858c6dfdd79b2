//! The queue example on NATS JetStream (`--queue nats://...`), with real signals and
//! messages from another process: nothing lost, nothing done twice.

#[allow(dead_code)]
mod on_broker;

use std::io::{Read, Write};
use std::net::TcpListener;

use graceful_process_tests::broker::NATS;
use on_broker::Queue;

#[test]
fn nats_sigterm_mid_traffic_every_message_sent_is_done_exactly_once() {
    let Some(queue) = Queue::on(
        NATS,
        "nats_sigterm_mid_traffic_every_message_sent_is_done_exactly_once",
        "nats_sigterm",
    ) else {
        return;
    };
    on_broker::sigterm_mid_traffic(&queue);
}

#[test]
fn nats_messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some(queue) = Queue::on(
        NATS,
        "nats_messages_cut_at_the_deadline_are_done_by_the_next_instance_once",
        "nats_deadline",
    ) else {
        return;
    };
    on_broker::cut_at_the_deadline(&queue);
}

#[test]
fn nats_sigkill_loses_nothing() {
    let Some(queue) = Queue::on(NATS, "nats_sigkill_loses_nothing", "nats_sigkill") else {
        return;
    };
    on_broker::sigkill_loses_nothing(&queue);
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
    let Some(queue) = Queue::on(
        NATS,
        "nats_an_unreachable_server_and_a_refused_login_fail_the_start_with_exit_1",
        "nats_bad",
    ) else {
        return;
    };
    on_broker::unreachable_broker(
        &queue,
        "nats://127.0.0.1:1",
        "Error: nats nats://127.0.0.1:1 queue ",
    );
    let url = refusing_server();
    let shown = url.replace("wrongsecret", "***");
    on_broker::unreachable_broker(&queue, &url, &format!("Error: nats {shown} queue "));
}

#[cfg(target_os = "linux")]
#[test]
fn nats_upgrades_in_place_under_load_lose_nothing_and_never_pause() {
    let Some(queue) = Queue::on(
        NATS,
        "nats_upgrades_in_place_under_load_lose_nothing_and_never_pause",
        "nats_upgrade",
    ) else {
        return;
    };
    on_broker::upgrades_in_place_under_load(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn nats_an_upgrade_rolled_back_leaves_no_trace() {
    let Some(queue) = Queue::on(
        NATS,
        "nats_an_upgrade_rolled_back_leaves_no_trace",
        "nats_rollback",
    ) else {
        return;
    };
    on_broker::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn nats_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice() {
    let Some(queue) = Queue::on(
        NATS,
        "nats_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice",
        "nats_gone",
    ) else {
        return;
    };
    let proxy = on_broker::Proxy::start(NATS);
    let url = proxy.url();
    let out = on_broker::broker_gone_mid_drain(&queue, &proxy);
    // The close fails, and so the unplug: exit code 1, as documented for a failed step.
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!(
        "nats {url} queue {}: cannot acknowledge message ",
        queue.name
    ));
    out.assert_stderr("settlements failed");
    out.assert_stderr("unplug from queue: failed");
}
