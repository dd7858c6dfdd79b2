//! The queue example on Redis Streams (`--queue redis://...`), with real signals and
//! messages from another process: nothing lost, nothing done twice.

#[allow(dead_code)]
#[path = "streams_queue/mod.rs"]
mod broker_queue;

use broker_queue::Queue;
use graceful_process_tests::broker::{self, REDIS};

#[test]
fn redis_sigterm_mid_traffic_every_message_sent_is_done_exactly_once() {
    if !broker::available(
        REDIS,
        "redis_sigterm_mid_traffic_every_message_sent_is_done_exactly_once",
    ) {
        return;
    }
    let queue = Queue::new(REDIS, "redis_sigterm");
    broker_queue::sigterm_mid_traffic(&queue);
    queue.delete();
}

#[test]
fn redis_messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    if !broker::available(
        REDIS,
        "redis_messages_cut_at_the_deadline_are_done_by_the_next_instance_once",
    ) {
        return;
    }
    let queue = Queue::new(REDIS, "redis_deadline");
    broker_queue::cut_at_the_deadline(&queue);
    queue.delete();
}

#[test]
fn redis_sigkill_loses_nothing() {
    if !broker::available(REDIS, "redis_sigkill_loses_nothing") {
        return;
    }
    let queue = Queue::new(REDIS, "redis_sigkill");
    broker_queue::sigkill_loses_nothing(&queue);
    queue.delete();
}

#[test]
fn redis_an_unreachable_server_and_a_bad_password_fail_the_start_with_exit_1() {
    if !broker::available(
        REDIS,
        "redis_an_unreachable_server_and_a_bad_password_fail_the_start_with_exit_1",
    ) {
        return;
    }
    let queue = Queue::new(REDIS, "redis_bad");
    broker_queue::unreachable_broker(
        &queue,
        "redis://127.0.0.1:1",
        "Error: redis redis://127.0.0.1:1 stream ",
    );
    broker_queue::unreachable_broker(
        &queue,
        "redis://:wrongsecret@127.0.0.1:6379",
        "Error: redis redis://:***@127.0.0.1:6379 stream ",
    );
    queue.delete();
}

#[cfg(target_os = "linux")]
#[test]
fn redis_upgrades_in_place_under_load_lose_nothing_and_never_pause() {
    if !broker::available(
        REDIS,
        "redis_upgrades_in_place_under_load_lose_nothing_and_never_pause",
    ) {
        return;
    }
    let queue = Queue::new(REDIS, "redis_upgrade");
    broker_queue::upgrades_in_place_under_load(&queue);
    queue.delete();
}

#[cfg(target_os = "linux")]
#[test]
fn redis_an_upgrade_rolled_back_leaves_no_trace() {
    if !broker::available(REDIS, "redis_an_upgrade_rolled_back_leaves_no_trace") {
        return;
    }
    let queue = Queue::new(REDIS, "redis_rollback");
    broker_queue::an_upgrade_rolled_back_leaves_no_trace(&queue);
    queue.delete();
}

#[test]
fn redis_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice() {
    if !broker::available(
        REDIS,
        "redis_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice",
    ) {
        return;
    }
    let queue = Queue::new(REDIS, "redis_gone");
    let proxy = broker_queue::Proxy::start(REDIS);
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let out = broker_queue::broker_gone_mid_drain(&queue, &url, &proxy);
    // The unplug fails: exit code 1, as documented for a failed step.
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!(
        "redis {url} stream {}: cannot acknowledge message ",
        queue.name
    ));
    out.assert_stderr("settlements failed");
    out.assert_stderr("unplug from queue: failed");
    queue.delete();
}
