//! The Redis Streams source against a real Redis: each settlement, the stop, a dropped
//! `next`, a consumer that dies, the broker going away, bad URLs.

#[path = "../../tests/process/src/broker.rs"]
#[allow(dead_code, unreachable_pub)]
mod broker;

use std::error::Error as _;
use std::time::{Duration, Instant};

use graceful::consume::redis::{self as source, Options, RedisSource, GROUP};
use graceful::consume::{Delivery, Publish, Source};
use redis::aio::MultiplexedConnection;
use tokio::io::copy_bidirectional;
use tokio::net::TcpListener;
use tokio::time::timeout;

const URL: &str = broker::REDIS.url;

async fn redis() -> MultiplexedConnection {
    redis::Client::open(URL)
        .expect("the URL")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis")
}

async fn cleanup(stream: &str) {
    let mut conn = redis().await;
    let _: () = redis::cmd("DEL")
        .arg(stream)
        .arg(format!("{stream}:dead"))
        .query_async(&mut conn)
        .await
        .expect("DEL");
}

async fn xlen(stream: &str) -> i64 {
    redis::cmd("XLEN")
        .arg(stream)
        .query_async(&mut redis().await)
        .await
        .expect("XLEN")
}

/// (consumer name, pending) of each consumer in the group.
async fn consumers(stream: &str) -> Vec<(String, i64)> {
    let infos: Vec<std::collections::HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(stream)
        .arg(GROUP)
        .query_async(&mut redis().await)
        .await
        .expect("XINFO CONSUMERS");
    infos
        .into_iter()
        .map(|c| {
            let name = match &c["name"] {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("a name: {other:?}"),
            };
            let pending = match &c["pending"] {
                redis::Value::Int(n) => *n,
                other => panic!("a count: {other:?}"),
            };
            (name, pending)
        })
        .collect()
}

async fn publish(stream: &str, bodies: &[&str]) {
    let publisher = source::publisher(URL, stream).await.expect("a publisher");
    for body in bodies {
        publisher.publish(body.as_bytes()).await.expect("published");
    }
}

async fn next(source: &mut RedisSource) -> <RedisSource as Source>::Delivery {
    timeout(Duration::from_secs(10), source.next())
        .await
        .expect("a delivery within 10 s")
        .expect("a delivery")
}

#[tokio::test]
async fn published_messages_are_consumed_acknowledged_and_gone() {
    if !broker::available(
        broker::REDIS,
        "published_messages_are_consumed_acknowledged_and_gone",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_ack");
    // The publisher first: what it adds before any consumer is still consumed.
    publish(&stream, &["one", "two", "three"]).await;
    let mut source = source::source(URL, &stream, 4).await.expect("a source");
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let delivery = next(&mut source).await;
        assert_eq!(delivery.message().attempt(), 1);
        bodies.push(delivery.message().text().expect("text").to_owned());
        delivery.ack().await.expect("acknowledged");
    }
    assert_eq!(bodies, ["one", "two", "three"]);
    assert_eq!(xlen(&stream).await, 0, "an acknowledged entry is deleted");
    let me = source.consumer().to_owned();
    assert_eq!(consumers(&stream).await, [(me, 0)]);
    assert!(source.stop().await.expect("stopped").is_empty());
    source.close().await.expect("closed");
    assert!(
        consumers(&stream).await.is_empty(),
        "a clean close holding nothing leaves the group"
    );
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_dropped_next_loses_nothing() {
    if !broker::available(broker::REDIS, "a_dropped_next_loses_nothing") {
        return;
    }
    let stream = broker::unique_name("redis_cancel");
    let mut source = source::source(URL, &stream, 1).await.expect("a source");
    let publisher = source::publisher(URL, &stream).await.expect("a publisher");
    // `next` dropped again and again at every point of its reads while messages arrive.
    let mut got = Vec::new();
    for i in 0..20 {
        publisher
            .publish(format!("m{i}").as_bytes())
            .await
            .expect("published");
        for wait in [0, 1, 3] {
            if let Ok(delivery) = timeout(Duration::from_millis(wait), source.next()).await {
                let delivery = delivery.expect("a delivery");
                got.push(delivery.message().text().expect("text").to_owned());
                delivery.ack().await.expect("acknowledged");
            }
        }
    }
    while got.len() < 20 {
        let delivery = next(&mut source).await;
        got.push(delivery.message().text().expect("text").to_owned());
        delivery.ack().await.expect("acknowledged");
    }
    let expected: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    assert_eq!(got, expected, "each message once, in order");
    assert_eq!(xlen(&stream).await, 0);
    source.stop().await.expect("stopped");
    source.close().await.expect("closed");
    cleanup(&stream).await;
}

#[tokio::test]
async fn stop_returns_what_was_read_ahead_ends_a_blocked_read_and_takes_nothing_after() {
    if !broker::available(
        broker::REDIS,
        "stop_returns_what_was_read_ahead_ends_a_blocked_read_and_takes_nothing_after",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_stop");
    publish(&stream, &["a", "b", "c", "d"]).await;
    let mut source = Options::new()
        .block(Duration::from_secs(10))
        .source(URL, &stream, 4)
        .await
        .expect("a source");
    // Four free handlers: one read takes the four; one is returned, three wait.
    let first = next(&mut source).await;
    assert_eq!(first.message().text(), Some("a"));
    let stopped = source.stop().await.expect("stopped");
    let rest: Vec<_> = stopped
        .iter()
        .map(|d| d.message().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rest, ["b", "c", "d"]);
    publish(&stream, &["e"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let me = source.consumer().to_owned();
    assert_eq!(
        consumers(&stream).await,
        [(me.clone(), 4)],
        "nothing read after the stop"
    );
    for delivery in stopped {
        delivery.hand_back().await.expect("handed back");
    }
    first.hand_back().await.expect("handed back");
    source.close().await.expect("closed");
    assert!(consumers(&stream).await.is_empty());

    // A read blocked on an empty stream (10 s) is ended by the stop at once.
    let mut other = Options::new()
        .block(Duration::from_secs(10))
        .source(URL, &stream, 8)
        .await
        .expect("a source");
    let mut all = Vec::new();
    while all.len() < 5 {
        let delivery = next(&mut other).await;
        assert_eq!(
            delivery.message().attempt(),
            1,
            "a hand-back counts no attempt"
        );
        all.push(delivery.message().text().expect("text").to_owned());
        delivery.ack().await.expect("acknowledged");
    }
    all.sort();
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    assert!(timeout(Duration::from_millis(300), other.next())
        .await
        .is_err());
    let started = Instant::now();
    assert!(other.stop().await.expect("stopped").is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the blocked read was ended, not waited for: {:?}",
        started.elapsed()
    );
    other.close().await.expect("closed");
    cleanup(&stream).await;
}

#[tokio::test]
async fn the_next_read_goes_out_as_the_last_entry_read_is_given_out() {
    if !broker::available(
        broker::REDIS,
        "the_next_read_goes_out_as_the_last_entry_read_is_given_out",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_ahead");
    publish(&stream, &["a", "b"]).await;
    let mut source = Options::new()
        .block(Duration::from_secs(10))
        .source(URL, &stream, 4)
        .await
        .expect("a source");
    // One read brings both; giving out the second sends the next read for the two
    // handlers still free, which blocks on the empty stream.
    let a = next(&mut source).await;
    let b = next(&mut source).await;
    publish(&stream, &["c"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let me = source.consumer().to_owned();
    assert_eq!(
        consumers(&stream).await,
        [(me, 3)],
        "the read ahead took the entry published after the last was given out"
    );
    // Read ahead, not given out: returned by the stop, to be handed back.
    let stopped = source.stop().await.expect("stopped");
    let rest: Vec<_> = stopped
        .iter()
        .map(|d| d.message().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rest, ["c"]);
    for delivery in stopped {
        delivery.hand_back().await.expect("handed back");
    }
    a.ack().await.expect("acknowledged");
    b.ack().await.expect("acknowledged");
    source.close().await.expect("closed");
    assert_eq!(xlen(&stream).await, 1, "c waits for another consumer");
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_hand_back_is_taken_by_another_consumer_at_once_without_an_attempt() {
    if !broker::available(
        broker::REDIS,
        "a_hand_back_is_taken_by_another_consumer_at_once_without_an_attempt",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_hand_back");
    publish(&stream, &["x"]).await;
    let mut first = source::source(URL, &stream, 1).await.expect("a source");
    let mut second = source::source(URL, &stream, 1).await.expect("a source");
    let delivery = next(&mut first).await;
    let id = delivery.message().id().to_owned();
    delivery.hand_back().await.expect("handed back");
    let started = Instant::now();
    let again = next(&mut second).await;
    assert!(started.elapsed() < Duration::from_secs(2), "at once");
    assert_eq!(again.message().id(), id, "one id all along");
    assert_eq!(again.message().text(), Some("x"));
    assert_eq!(again.message().attempt(), 1);
    again.ack().await.expect("acknowledged");
    assert_eq!(xlen(&stream).await, 0);
    for source in [first, second] {
        let mut source = source;
        source.stop().await.expect("stopped");
        source.close().await.expect("closed");
    }
    assert!(consumers(&stream).await.is_empty());
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_retry_counts_the_attempt_and_a_reject_goes_to_the_dead_letters() {
    if !broker::available(
        broker::REDIS,
        "a_retry_counts_the_attempt_and_a_reject_goes_to_the_dead_letters",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_retry");
    publish(&stream, &["bad"]).await;
    let mut source = source::source(URL, &stream, 2).await.expect("a source");
    let delivery = next(&mut source).await;
    let id = delivery.message().id().to_owned();
    delivery.retry().await.expect("retried");
    let delivery = next(&mut source).await;
    assert_eq!(delivery.message().attempt(), 2);
    assert_eq!(delivery.message().id(), id);
    delivery.retry().await.expect("retried");
    let delivery = next(&mut source).await;
    assert_eq!(delivery.message().attempt(), 3);
    delivery.reject().await.expect("rejected");
    assert_eq!(
        xlen(&stream).await,
        0,
        "a rejected message leaves the stream"
    );
    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("{stream}:dead"))
        .arg("-")
        .arg("+")
        .query_async(&mut redis().await)
        .await
        .expect("XRANGE");
    assert_eq!(dead.ids.len(), 1);
    let fields = &dead.ids[0].map;
    let field = |name: &str| match &fields[name] {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(field("payload"), "bad");
    assert_eq!(field("attempt"), "3");
    assert_eq!(field("id"), id);
    source.stop().await.expect("stopped");
    source.close().await.expect("closed");
    cleanup(&stream).await;
}

#[tokio::test]
async fn what_a_dropped_consumer_held_is_claimed_back_and_a_live_holder_keeps_its_own() {
    if !broker::available(
        broker::REDIS,
        "what_a_dropped_consumer_held_is_claimed_back_and_a_live_holder_keeps_its_own",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_claim");
    publish(&stream, &["held", "lost"]).await;
    let options = Options::new()
        .claim_after(Duration::from_millis(900))
        .block(Duration::from_millis(200));
    let mut holder = options
        .clone()
        .source(URL, &stream, 1)
        .await
        .expect("a source");
    let held = next(&mut holder).await;
    assert_eq!(held.message().text(), Some("held"));
    let mut dying = options
        .clone()
        .source(URL, &stream, 1)
        .await
        .expect("a source");
    let lost = next(&mut dying).await;
    assert_eq!(lost.message().text(), Some("lost"));
    // Killed: its connections go without a settlement or a close.
    drop(lost);
    drop(dying);

    let mut third = options.source(URL, &stream, 1).await.expect("a source");
    let started = Instant::now();
    let claimed = next(&mut third).await;
    assert_eq!(claimed.message().text(), Some("lost"));
    assert_eq!(
        claimed.message().attempt(),
        2,
        "it may have run: one attempt more"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    claimed.ack().await.expect("acknowledged");
    // The live holder's message, held far longer than the claim time, is not taken.
    assert!(
        timeout(Duration::from_secs(3), third.next()).await.is_err(),
        "a live holder's message was claimed"
    );
    held.ack().await.expect("the holder acknowledges its own");
    assert_eq!(xlen(&stream).await, 0);
    for source in [holder, third] {
        let mut source = source;
        source.stop().await.expect("stopped");
        source.close().await.expect("closed");
    }
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_close_while_holding_keeps_the_consumer_in_the_group() {
    if !broker::available(
        broker::REDIS,
        "a_close_while_holding_keeps_the_consumer_in_the_group",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_close");
    publish(&stream, &["kept"]).await;
    let mut source = source::source(URL, &stream, 1).await.expect("a source");
    let me = source.consumer().to_owned();
    let delivery = next(&mut source).await;
    source.stop().await.expect("stopped");
    source.close().await.expect("closed");
    assert_eq!(
        consumers(&stream).await,
        [(me, 1)],
        "removing it would drop what it holds"
    );
    drop(delivery);
    cleanup(&stream).await;
}

/// A TCP proxy to Redis that `cut` closes, with every connection through it.
struct Proxy {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(broker::REDIS.addr).await
                    {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Proxy { url, task }
    }

    fn cut(&self) {
        // Dropping the task drops the listener and, with the JoinSet, every link.
        self.task.abort();
    }
}

#[tokio::test]
async fn the_broker_going_away_is_a_clear_error_and_the_held_message_comes_back() {
    if !broker::available(
        broker::REDIS,
        "the_broker_going_away_is_a_clear_error_and_the_held_message_comes_back",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_away");
    publish(&stream, &["kept"]).await;
    let proxy = Proxy::start().await;
    let mut source = Options::new()
        .claim_after(Duration::from_millis(600))
        .source(&proxy.url, &stream, 1)
        .await
        .expect("a source");
    let delivery = next(&mut source).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let error = delivery.ack().await.expect_err("the broker is gone");
    let text = error.to_string();
    assert!(text.contains(&stream), "names the stream: {text}");
    assert!(text.contains("acknowledge"), "says what failed: {text}");
    assert!(error.source().is_some(), "keeps the client's error");
    let error = timeout(Duration::from_secs(15), source.next())
        .await
        .expect("no hang")
        .expect_err("the broker is gone");
    assert!(error.to_string().contains(&stream), "{error}");
    drop(source);

    // Not acknowledged, not lost: another consumer takes it once it sat idle.
    let mut other = Options::new()
        .claim_after(Duration::from_millis(600))
        .block(Duration::from_millis(200))
        .source(URL, &stream, 1)
        .await
        .expect("a source");
    let again = next(&mut other).await;
    assert_eq!(again.message().text(), Some("kept"));
    again.ack().await.expect("acknowledged");
    other.stop().await.expect("stopped");
    other.close().await.expect("closed");
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_wrong_url_an_unreachable_server_and_a_bad_password_fail_at_once() {
    if !broker::available(
        broker::REDIS,
        "a_wrong_url_an_unreachable_server_and_a_bad_password_fail_at_once",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_bad");
    let started = Instant::now();
    let Err(error) = source::source("http://127.0.0.1:6379", &stream, 1).await else {
        panic!("a wrong scheme was taken");
    };
    assert!(error.to_string().contains("not a Redis URL"), "{error}");
    assert!(error.source().is_some());

    let Err(error) = source::publisher("redis://127.0.0.1:1", &stream).await else {
        panic!("an unreachable server was taken");
    };
    let text = error.to_string();
    assert!(
        text.contains("cannot connect") && text.contains("127.0.0.1:1"),
        "{text}"
    );

    let Err(error) = source::source("redis://:wrongsecret@127.0.0.1:6379", &stream, 1).await else {
        panic!("a bad password was taken");
    };
    let text = error.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(
        !text.contains("wrongsecret"),
        "the password is shown: {text}"
    );
    assert!(text.contains(":***@"), "{text}");
    let cause = error.source().expect("the client's error").to_string();
    assert!(cause.to_lowercase().contains("auth"), "{cause}");

    let Err(error) = source::source("rediss://127.0.0.1:6379", &stream, 1).await else {
        panic!("TLS was taken");
    };
    assert!(error.to_string().contains("TLS"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded in time"
    );
    cleanup(&stream).await;
}

#[tokio::test]
async fn a_consumer_a_killed_process_left_holding_nothing_is_removed_by_the_live_ones() {
    if !broker::available(
        broker::REDIS,
        "a_consumer_a_killed_process_left_holding_nothing_is_removed_by_the_live_ones",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_sweep");
    publish(&stream, &["one", "two"]).await;
    let options = Options::new()
        .claim_after(Duration::from_millis(300))
        .block(Duration::from_millis(100));
    let mut dead = options
        .clone()
        .source(URL, &stream, 1)
        .await
        .expect("a source");
    let dead_name = dead.consumer().to_owned();
    next(&mut dead).await.ack().await.expect("acknowledged");
    // Killed holding nothing: its name stays in the group.
    drop(dead);
    assert_eq!(consumers(&stream).await, [(dead_name.clone(), 0)]);

    let mut live = options.source(URL, &stream, 1).await.expect("a source");
    let me = live.consumer().to_owned();
    next(&mut live).await.ack().await.expect("acknowledged");
    // Idle ten times the claim time (3 s), it is removed at a claim round.
    let started = Instant::now();
    loop {
        let _ = timeout(Duration::from_millis(200), live.next()).await;
        let names: Vec<String> = consumers(&stream).await.into_iter().map(|c| c.0).collect();
        if !names.contains(&dead_name) {
            assert_eq!(names, std::slice::from_ref(&me));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the dead consumer stays: {names:?}"
        );
    }
    live.stop().await.expect("stopped");
    live.close().await.expect("closed");
    cleanup(&stream).await;
}

/// An entry the read ahead brought is this process's from then on, though no handler took
/// it yet (the handlers are busy longer than the claim's idle time): it is renewed, and
/// another consumer does not claim it.
#[tokio::test]
async fn what_the_read_ahead_brought_is_renewed_before_it_is_given_out() {
    if !broker::available(
        broker::REDIS,
        "what_the_read_ahead_brought_is_renewed_before_it_is_given_out",
    ) {
        return;
    }
    let stream = broker::unique_name("redis_ahead_renewed");
    let claim_after = Duration::from_secs(1);
    publish(&stream, &["a"]).await;
    let mut first = Options::new()
        .claim_after(claim_after)
        .source(URL, &stream, 2)
        .await
        .expect("a source");
    // Giving out a sends the read ahead, which takes b as it arrives.
    let a = next(&mut first).await;
    publish(&stream, &["b"]).await;
    tokio::time::sleep(claim_after * 2).await;
    let me = first.consumer().to_owned();
    assert_eq!(consumers(&stream).await, [(me, 2)], "the read ahead took b");

    let mut second = Options::new()
        .claim_after(claim_after)
        .source(URL, &stream, 1)
        .await
        .expect("a second source");
    let claimed = timeout(claim_after * 2, second.next()).await;
    assert!(
        claimed.is_err(),
        "another consumer claimed what the read ahead brought: {:?}",
        claimed.map(|d| d.map(|d| d.message().text().unwrap_or_default().to_owned()))
    );
    let b = next(&mut first).await;
    assert_eq!(b.message().text(), Some("b"));
    assert_eq!(b.message().attempt(), 1, "b was never claimed");
    a.ack().await.expect("acknowledged");
    b.ack().await.expect("acknowledged");
    for source in [first, second] {
        let mut source = source;
        assert!(source.stop().await.expect("stopped").is_empty());
        source.close().await.expect("closed");
    }
    assert_eq!(xlen(&stream).await, 0);
    cleanup(&stream).await;
}
