//! The queue example on Redis Streams (`--queue redis://...`), with real signals and
//! messages from another process: nothing lost, nothing done twice.

#[allow(dead_code)]
mod on_broker;

use graceful_process_tests::broker::REDIS;
use on_broker::Queue;

#[test]
fn redis_sigterm_mid_traffic_every_message_sent_is_done_exactly_once() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_sigterm_mid_traffic_every_message_sent_is_done_exactly_once",
        "redis_sigterm",
    ) else {
        return;
    };
    on_broker::sigterm_mid_traffic(&queue);
}

#[test]
fn redis_messages_cut_at_the_deadline_are_done_by_the_next_instance_once() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_messages_cut_at_the_deadline_are_done_by_the_next_instance_once",
        "redis_deadline",
    ) else {
        return;
    };
    on_broker::cut_at_the_deadline(&queue);
}

#[test]
fn redis_sigkill_loses_nothing() {
    let Some(queue) = Queue::on(REDIS, "redis_sigkill_loses_nothing", "redis_sigkill") else {
        return;
    };
    on_broker::sigkill_loses_nothing(&queue);
}

#[test]
fn redis_an_unreachable_server_and_a_bad_password_fail_the_start_with_exit_1() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_an_unreachable_server_and_a_bad_password_fail_the_start_with_exit_1",
        "redis_bad",
    ) else {
        return;
    };
    on_broker::unreachable_broker(
        &queue,
        "redis://127.0.0.1:1",
        "Error: redis redis://127.0.0.1:1 stream ",
    );
    on_broker::unreachable_broker(
        &queue,
        "redis://:wrongsecret@127.0.0.1:6379",
        "Error: redis redis://:***@127.0.0.1:6379 stream ",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn redis_upgrades_in_place_under_load_lose_nothing_and_never_pause() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_upgrades_in_place_under_load_lose_nothing_and_never_pause",
        "redis_upgrade",
    ) else {
        return;
    };
    on_broker::upgrades_in_place_under_load(&queue);
}

#[cfg(target_os = "linux")]
#[test]
fn redis_an_upgrade_rolled_back_leaves_no_trace() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_an_upgrade_rolled_back_leaves_no_trace",
        "redis_rollback",
    ) else {
        return;
    };
    on_broker::upgrades_that_fail_leave_no_trace(&queue);
}

#[test]
fn redis_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice() {
    let Some(queue) = Queue::on(
        REDIS,
        "redis_gone_mid_drain_is_a_clear_error_and_nothing_is_lost_or_done_twice",
        "redis_gone",
    ) else {
        return;
    };
    let proxy = on_broker::Proxy::start(REDIS);
    let url = proxy.url();
    let out = on_broker::broker_gone_mid_drain(&queue, &proxy);
    // The unplug fails: exit code 1, as documented for a failed step.
    assert_eq!(out.code, Some(1), "{out:#?}");
    out.assert_stderr(&format!(
        "redis {url} stream {}: cannot acknowledge message ",
        queue.name
    ));
    out.assert_stderr("settlements failed");
    out.assert_stderr("unplug from queue: failed");
}
