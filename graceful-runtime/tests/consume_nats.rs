//! The NATS JetStream source against a real NATS server: each settlement, the stop, a
//! dropped `next`, a consumer that dies, the server going away, bad URLs and a refused
//! login.

#[path = "../../tests/process/src/broker.rs"]
#[allow(dead_code, unreachable_pub)]
mod broker;

use std::error::Error as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use graceful::consume::nats::{self as source, NatsSource, Options};
use graceful::consume::{Delivery, Publish, Source};
use tokio::io::{copy_bidirectional, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::timeout;

const URL: &str = broker::NATS.url;

async fn jetstream() -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(URL).await.expect("NATS"))
}

async fn cleanup(queue: &str) {
    let _ = jetstream().await.delete_stream(queue).await;
}

/// Messages in the stream.
async fn stored(queue: &str) -> u64 {
    let mut stream = jetstream()
        .await
        .get_stream(queue)
        .await
        .expect("the stream");
    stream.info().await.expect("stream info").state.messages
}

/// Messages delivered to someone and not yet acknowledged.
async fn ack_pending(queue: &str) -> usize {
    let stream = jetstream()
        .await
        .get_stream(queue)
        .await
        .expect("the stream");
    let mut consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer(queue).await.expect("the consumer");
    consumer
        .info()
        .await
        .expect("consumer info")
        .num_ack_pending
}

async fn publish(queue: &str, bodies: &[&str]) {
    let publisher = source::publisher(URL, queue).await.expect("a publisher");
    for body in bodies {
        publisher.publish(body.as_bytes()).await.expect("published");
    }
    publisher.close().await.expect("closed");
}

async fn next(source: &mut NatsSource) -> <NatsSource as Source>::Delivery {
    timeout(Duration::from_secs(10), source.next())
        .await
        .expect("a delivery within 10 s")
        .expect("a delivery")
}

#[tokio::test]
async fn published_messages_are_consumed_acknowledged_and_gone() {
    if !broker::available(
        broker::NATS,
        "published_messages_are_consumed_acknowledged_and_gone",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_ack");
    // The publisher first: what it sends before any consumer is still consumed.
    publish(&queue, &["one", "two", "three"]).await;
    let mut source = source::source(URL, &queue, 4).await.expect("a source");
    let mut bodies = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let delivery = next(&mut source).await;
        assert_eq!(delivery.message().attempt(), 1);
        bodies.push(delivery.message().text().expect("text").to_owned());
        ids.push(delivery.message().id().to_owned());
        delivery.ack().await.expect("acknowledged");
    }
    assert_eq!(bodies, ["one", "two", "three"]);
    assert_eq!(ids, ["1", "2", "3"], "the stream sequence names a message");
    // The double ack returned: the server has every acknowledgement already.
    assert_eq!(
        stored(&queue).await,
        0,
        "an acknowledged message is deleted"
    );
    assert!(source.stop().await.expect("stopped").is_empty());
    source.close().await.expect("closed");
    cleanup(&queue).await;
}

#[tokio::test]
async fn a_dropped_next_loses_nothing() {
    if !broker::available(broker::NATS, "a_dropped_next_loses_nothing") {
        return;
    }
    let queue = broker::unique_name("nats_cancel");
    let mut source = Options::new()
        .pull_expires(Duration::from_millis(200))
        .source(URL, &queue, 1)
        .await
        .expect("a source");
    let publisher = source::publisher(URL, &queue).await.expect("a publisher");
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
    let started = Instant::now();
    while got.len() < 20 {
        let delivery = next(&mut source).await;
        got.push(delivery.message().text().expect("text").to_owned());
        delivery.ack().await.expect("acknowledged");
    }
    // Nothing waited for an ack wait (30 s): nothing was lost on the way.
    assert!(started.elapsed() < Duration::from_secs(5));
    let expected: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    assert_eq!(got, expected, "each message once, in order");
    assert_eq!(stored(&queue).await, 0);
    source.stop().await.expect("stopped");
    source.close().await.expect("closed");
    publisher.close().await.expect("closed");
    cleanup(&queue).await;
}

#[tokio::test]
async fn stop_returns_what_was_pulled_and_pulls_nothing_after() {
    if !broker::available(
        broker::NATS,
        "stop_returns_what_was_pulled_and_pulls_nothing_after",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_stop");
    publish(&queue, &["a", "b", "c", "d"]).await;
    let mut source = Options::new()
        .pull_expires(Duration::from_millis(500))
        .source(URL, &queue, 4)
        .await
        .expect("a source");
    let first = next(&mut source).await;
    assert_eq!(first.message().text(), Some("a"));
    let started = Instant::now();
    let stopped = source.stop().await.expect("stopped");
    // 500 ms of expiry, and at most 200 ms more for what the server sent just before.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the stop waits for the pull to expire, no longer"
    );
    let rest: Vec<_> = stopped
        .iter()
        .map(|d| d.message().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rest, ["b", "c", "d"]);
    publish(&queue, &["e"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ack_pending(&queue).await,
        4,
        "nothing pulled after the stop"
    );
    let started = Instant::now();
    for delivery in stopped {
        delivery.hand_back().await.expect("handed back");
    }
    first.hand_back().await.expect("handed back");
    source.close().await.expect("closed");

    let mut other = source::source(URL, &queue, 8).await.expect("a source");
    let mut all = Vec::new();
    while all.len() < 5 {
        let delivery = next(&mut other).await;
        let text = delivery.message().text().expect("text").to_owned();
        // JetStream counts the delivery of a hand-back.
        let expected = if text == "e" { 1 } else { 2 };
        assert_eq!(delivery.message().attempt(), expected, "{text}");
        all.push(text);
        delivery.ack().await.expect("acknowledged");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "handed back at once, not after the ack wait"
    );
    all.sort();
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    assert_eq!(stored(&queue).await, 0);
    other.stop().await.expect("stopped");
    other.close().await.expect("closed");
    cleanup(&queue).await;
}

#[tokio::test]
async fn a_hand_back_is_taken_by_another_consumer_at_once() {
    if !broker::available(
        broker::NATS,
        "a_hand_back_is_taken_by_another_consumer_at_once",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_hand_back");
    publish(&queue, &["x"]).await;
    let mut first = source::source(URL, &queue, 1).await.expect("a source");
    let delivery = next(&mut first).await;
    first.stop().await.expect("stopped");
    let id = delivery.message().id().to_owned();
    let mut second = source::source(URL, &queue, 1).await.expect("a source");
    delivery.hand_back().await.expect("handed back");
    let started = Instant::now();
    let again = next(&mut second).await;
    assert!(started.elapsed() < Duration::from_secs(3), "at once");
    assert_eq!(again.message().id(), id, "one id all along");
    assert_eq!(again.message().text(), Some("x"));
    again.ack().await.expect("acknowledged");
    assert_eq!(stored(&queue).await, 0);
    first.close().await.expect("closed");
    second.stop().await.expect("stopped");
    second.close().await.expect("closed");
    cleanup(&queue).await;
}

#[tokio::test]
async fn a_retry_counts_the_attempt_and_a_reject_terminates_it_with_an_advisory() {
    if !broker::available(
        broker::NATS,
        "a_retry_counts_the_attempt_and_a_reject_terminates_it_with_an_advisory",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_retry");
    publish(&queue, &["bad"]).await;
    let client = async_nats::connect(URL).await.expect("NATS");
    let mut advisories = client
        .subscribe(format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{queue}.{queue}"
        ))
        .await
        .expect("subscribed");
    client.flush().await.expect("flushed");
    let mut source = source::source(URL, &queue, 2).await.expect("a source");
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
    assert!(
        timeout(Duration::from_millis(1500), source.next())
            .await
            .is_err(),
        "a rejected message is never delivered again"
    );
    assert_eq!(
        stored(&queue).await,
        0,
        "a rejected message leaves the work queue"
    );
    let advisory = timeout(Duration::from_secs(5), advisories.next())
        .await
        .expect("an advisory")
        .expect("an advisory");
    let advisory: serde_json::Value =
        serde_json::from_slice(&advisory.payload).expect("JSON advisory");
    assert_eq!(
        advisory["stream_seq"].as_u64().map(|s| s.to_string()),
        Some(id)
    );
    source.stop().await.expect("stopped");
    source.close().await.expect("closed");
    cleanup(&queue).await;
}

#[tokio::test]
async fn what_a_dropped_consumer_held_comes_back_after_the_ack_wait_and_a_live_holder_keeps_its_own(
) {
    if !broker::available(
        broker::NATS,
        "what_a_dropped_consumer_held_comes_back_after_the_ack_wait_and_a_live_holder_keeps_its_own",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_ack_wait");
    let options = Options::new()
        .ack_wait(Duration::from_millis(1200))
        .pull_expires(Duration::from_millis(200));
    // The first source creates the consumer with the short ack wait.
    let mut holder = options
        .clone()
        .source(URL, &queue, 1)
        .await
        .expect("a source");
    publish(&queue, &["held"]).await;
    let held = next(&mut holder).await;
    assert_eq!(held.message().text(), Some("held"));
    assert!(holder.stop().await.expect("stopped").is_empty());
    publish(&queue, &["lost"]).await;
    let mut dying = options
        .clone()
        .source(URL, &queue, 1)
        .await
        .expect("a source");
    let lost = next(&mut dying).await;
    assert_eq!(lost.message().text(), Some("lost"));
    // Killed: no settlement, no close.
    drop(lost);
    drop(dying);

    let mut third = options.source(URL, &queue, 1).await.expect("a source");
    let started = Instant::now();
    let again = next(&mut third).await;
    assert_eq!(again.message().text(), Some("lost"));
    assert_eq!(again.message().attempt(), 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    again.ack().await.expect("acknowledged");
    // The live holder's message, held far longer than the ack wait, stays its own.
    assert!(
        timeout(Duration::from_secs(4), third.next()).await.is_err(),
        "a live holder's message was delivered again"
    );
    held.ack().await.expect("the holder acknowledges its own");
    assert_eq!(stored(&queue).await, 0);
    third.stop().await.expect("stopped");
    third.close().await.expect("closed");
    holder.close().await.expect("closed");
    cleanup(&queue).await;
}

/// A TCP proxy to NATS that `cut` closes, with every connection through it.
struct Proxy {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("nats://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(broker::NATS.addr).await
                    {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Proxy { url, task }
    }

    fn cut(&self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn the_server_going_away_is_a_clear_error_and_the_held_message_comes_back() {
    if !broker::available(
        broker::NATS,
        "the_server_going_away_is_a_clear_error_and_the_held_message_comes_back",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_away");
    let options = Options::new()
        .ack_wait(Duration::from_millis(1000))
        .pull_expires(Duration::from_millis(200));
    let proxy = Proxy::start().await;
    let mut source = options
        .clone()
        .source(&proxy.url, &queue, 1)
        .await
        .expect("a source");
    publish(&queue, &["kept"]).await;
    let delivery = next(&mut source).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let error = timeout(Duration::from_secs(15), delivery.ack())
        .await
        .expect("no hang")
        .expect_err("the server is gone");
    let text = error.to_string();
    assert!(text.contains(&queue), "names the queue: {text}");
    assert!(text.contains("acknowledge"), "says what failed: {text}");
    assert!(error.source().is_some(), "keeps the client's error");
    let error = timeout(Duration::from_secs(15), source.next())
        .await
        .expect("no hang")
        .expect_err("the server is gone");
    assert!(error.to_string().contains("not connected"), "{error}");
    drop(source);

    // Not acknowledged, not lost: delivered again after the ack wait.
    let mut other = options.source(URL, &queue, 1).await.expect("a source");
    let again = next(&mut other).await;
    assert_eq!(again.message().text(), Some("kept"));
    again.ack().await.expect("acknowledged");
    other.stop().await.expect("stopped");
    other.close().await.expect("closed");
    cleanup(&queue).await;
}

/// A server that speaks enough of the NATS protocol to refuse a login, as a NATS server
/// with authorization does.
async fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let info = format!(
                    "INFO {{\"server_id\":\"test\",\"version\":\"2.9.10\",\"proto\":1,\"host\":\"127.0.0.1\",\"port\":{},\"max_payload\":1048576,\"auth_required\":true,\"headers\":true}}\r\n",
                    addr.port()
                );
                let _ = socket.write_all(info.as_bytes()).await;
                let mut buf = [0; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"-ERR 'Authorization Violation'\r\n")
                    .await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("nats://someone:wrongsecret@{addr}")
}

#[tokio::test]
async fn a_wrong_url_an_unreachable_server_and_a_refused_login_fail_at_once() {
    if !broker::available(
        broker::NATS,
        "a_wrong_url_an_unreachable_server_and_a_refused_login_fail_at_once",
    ) {
        return;
    }
    let queue = broker::unique_name("nats_bad");
    let started = Instant::now();
    let Err(error) = source::source("http://127.0.0.1:4222", &queue, 1).await else {
        panic!("a wrong scheme was taken");
    };
    assert!(error.to_string().contains("cannot connect"), "{error}");
    assert!(error.source().is_some());

    let Err(error) = source::publisher("nats://127.0.0.1:1", &queue).await else {
        panic!("an unreachable server was taken");
    };
    let text = error.to_string();
    assert!(
        text.contains("cannot connect") && text.contains("127.0.0.1:1"),
        "{text}"
    );

    // TLS asked of a server without it: an error, not a panic.
    let Err(error) = source::source("tls://127.0.0.1:4222", &queue, 1).await else {
        panic!("TLS to a plain server was taken");
    };
    assert!(error.to_string().contains("cannot connect"), "{error}");

    let url = refusing_server().await;
    let Err(error) = source::source(&url, &queue, 1).await else {
        panic!("a refused login was taken");
    };
    let text = error.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(
        !text.contains("wrongsecret"),
        "the password is shown: {text}"
    );
    assert!(text.contains("someone:***@"), "{text}");
    let cause = error.source().expect("the client's error").to_string();
    assert!(cause.to_lowercase().contains("auth"), "{cause}");

    let Err(error) = source::source(URL, "not.a.name", 1).await else {
        panic!("a name with dots was taken");
    };
    assert!(
        error
            .to_string()
            .contains("cannot create the JetStream stream"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "bounded in time"
    );
}

/// "A wrong URL … is an error from `source`/`publisher` at once, naming the URL without
/// its secrets."
#[tokio::test]
async fn nats_a_wrong_url_never_shows_its_password() {
    if !broker::available(broker::NATS, "nats_a_wrong_url_never_shows_its_password") {
        return;
    }
    let queue = broker::unique_name("nats_wrong_url");
    let mut leaks = Vec::new();
    for (url, secret) in [
        ("nats://someone:wrong/secret@127.0.0.1:1", "secret"),
        ("nats://t0k/en@127.0.0.1:1", "en@"),
    ] {
        let error = source::publisher(url, &queue).await.expect_err(url);
        let shown = broker::chain(&error);
        if shown.iter().any(|e| e.contains(secret)) {
            leaks.push(shown);
        }
    }
    assert!(leaks.is_empty(), "the secret is shown: {leaks:#?}");
}

/// "The queue name must be a valid stream name (no `.`, `*`, `>` or spaces); another name
/// is refused at `source`/`publisher`".
#[tokio::test]
async fn nats_invalid_names_are_refused() {
    if !broker::available(broker::NATS, "nats_invalid_names_are_refused") {
        return;
    }
    let mut taken = Vec::new();
    for name in ["a*b", "a>b", "a b", "a.b"] {
        match timeout(Duration::from_secs(15), source::source(URL, name, 1)).await {
            Ok(Ok(source)) => {
                taken.push(name);
                let _ = source.close().await;
            }
            Ok(Err(_)) => {}
            Err(_) => taken.push(name),
        }
        if let Ok(Ok(p)) = timeout(Duration::from_secs(15), source::publisher(URL, name)).await {
            taken.push(name);
            let _ = p.close().await;
        }
    }
    assert!(taken.is_empty(), "taken (or hung): {taken:?}");
}
