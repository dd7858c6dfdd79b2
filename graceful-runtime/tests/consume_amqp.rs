//! `graceful::consume::amqp` against a real RabbitMQ: each settlement, the prefetch, `stop`,
//! the dead letters, a consumer whose connection is cut, and the errors of a wrong URL,
//! an unreachable broker and bad credentials.

#[path = "../../tests/process/src/broker.rs"]
#[allow(dead_code, unreachable_pub)]
mod broker;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amqprs::channel::{
    BasicGetArguments, Channel, ExchangeDeclareArguments, ExchangeDeleteArguments,
    QueueBindArguments, QueueDeclareArguments, QueueDeleteArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use amqprs::{FieldTable, FieldValue};
use graceful::consume::amqp::{self, AmqpDelivery};
use graceful::consume::{Delivery, Publish, Source};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const URL: &str = broker::RABBITMQ.url;

/// A connection of the test's own, to look at and clean up the queues.
async fn admin() -> (Connection, Channel) {
    let args = OpenConnectionArguments::new("127.0.0.1", 5672, "guest", "guest");
    let connection = Connection::open(&args).await.expect("admin connection");
    let channel = connection.open_channel(None).await.expect("admin channel");
    (connection, channel)
}

/// Messages ready in `queue` (not held by a consumer).
async fn ready(channel: &Channel, queue: &str) -> u32 {
    let (_, ready, _) = channel
        .queue_declare(QueueDeclareArguments::new(queue).passive(true).finish())
        .await
        .expect("the queue exists")
        .expect("an answer");
    ready
}

async fn delete(channel: &Channel, queue: &str) {
    channel
        .queue_delete(QueueDeleteArguments::new(queue))
        .await
        .expect("delete the test's queue");
}

/// Deletes a test's queues and exchanges when dropped, so that a failing test leaves
/// nothing behind either.
struct Cleanup {
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl Cleanup {
    fn queue(name: &str) -> Cleanup {
        Cleanup {
            queues: vec![name.to_string()],
            exchanges: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let queues = std::mem::take(&mut self.queues);
        let exchanges = std::mem::take(&mut self.exchanges);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let (connection, channel) = admin().await;
                for queue in &queues {
                    let _ = channel.queue_delete(QueueDeleteArguments::new(queue)).await;
                }
                for exchange in &exchanges {
                    let _ = channel
                        .exchange_delete(ExchangeDeleteArguments::new(exchange))
                        .await;
                }
                let _ = channel.close().await;
                let _ = connection.close().await;
            });
        })
        .join();
    }
}

async fn next(source: &mut amqp::AmqpSource) -> AmqpDelivery {
    tokio::time::timeout(Duration::from_secs(10), source.next())
        .await
        .expect("a delivery within 10 s")
        .expect("a delivery")
}

/// Whether `next` gives nothing for `wait` (its future is then dropped, which must lose
/// nothing).
async fn nothing_for(source: &mut amqp::AmqpSource, wait: Duration) -> bool {
    tokio::time::timeout(wait, source.next()).await.is_err()
}

fn text(delivery: &AmqpDelivery) -> String {
    delivery.message().text().expect("utf-8").to_string()
}

#[tokio::test]
async fn published_messages_are_consumed_acknowledged_and_gone() {
    if !broker::available(
        broker::RABBITMQ,
        "published_messages_are_consumed_acknowledged_and_gone",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_ack");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;

    // The publisher comes first and creates the queue; the source finds it.
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    for n in 0..3 {
        publisher
            .publish(format!("m{n}").as_bytes())
            .await
            .expect("confirmed");
    }
    assert_eq!(
        ready(&channel, &queue).await,
        3,
        "each publish returned once confirmed"
    );

    let mut source = amqp::source(URL, &queue, 4).await.expect("source");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let delivery = next(&mut source).await;
        assert_eq!(delivery.message().attempt(), 1);
        seen.push(text(&delivery));
        delivery.ack().await.expect("ack");
    }
    assert_eq!(seen, ["m0", "m1", "m2"]);
    assert!(source.stop().await.expect("stop").is_empty());
    source.close().await.expect("close");
    publisher.close().await.expect("close the publisher");

    // Acknowledged: nothing is ready and nothing is held once the connection is gone.
    assert_eq!(ready(&channel, &queue).await, 0);
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn the_prefetch_is_the_number_of_handlers_and_a_dropped_next_loses_nothing() {
    if !broker::available(
        broker::RABBITMQ,
        "the_prefetch_is_the_number_of_handlers_and_a_dropped_next_loses_nothing",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_prefetch");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    // The source comes first and creates the queue.
    let mut source = amqp::source(URL, &queue, 2).await.expect("source");
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    for n in 0..5 {
        publisher
            .publish(format!("m{n}").as_bytes())
            .await
            .expect("confirmed");
    }
    let first = next(&mut source).await;
    let second = next(&mut source).await;
    // Two handlers' worth and no more: a third waits, and its dropped future loses nothing.
    assert!(nothing_for(&mut source, Duration::from_millis(500)).await);
    assert_eq!(ready(&channel, &queue).await, 3, "three stay in the queue");
    first.ack().await.expect("ack");
    let third = next(&mut source).await;
    assert_eq!(text(&third), "m2");
    for delivery in [second, third] {
        delivery.ack().await.expect("ack");
    }
    for n in 3..5 {
        let delivery = next(&mut source).await;
        assert_eq!(text(&delivery), format!("m{n}"));
        delivery.ack().await.expect("ack");
    }
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    assert_eq!(ready(&channel, &queue).await, 0);
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn stop_returns_what_was_prefetched_and_hand_back_makes_it_available_at_once_uncounted() {
    if !broker::available(
        broker::RABBITMQ,
        "stop_returns_what_was_prefetched_and_hand_back_makes_it_available_at_once_uncounted",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_stop");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    for n in 0..5 {
        publisher
            .publish(format!("m{n}").as_bytes())
            .await
            .expect("confirmed");
    }
    let mut source = amqp::source(URL, &queue, 3).await.expect("source");
    let started = next(&mut source).await;
    // The other two of the prefetch arrive in the client's buffer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = source.stop().await.expect("stop");
    let mut held_texts: Vec<String> = held.iter().map(text).collect();
    held_texts.sort();
    assert_eq!(
        held_texts,
        ["m1", "m2"],
        "stop returns the prefetched, unstarted"
    );
    // Nothing arrives after stop, though two messages are ready.
    assert!(nothing_for(&mut source, Duration::from_millis(500)).await);
    assert_eq!(ready(&channel, &queue).await, 2);

    for delivery in held {
        delivery.hand_back().await.expect("hand back");
    }
    // Handed back: ready for another consumer at once, while this one still holds one.
    assert_eq!(ready(&channel, &queue).await, 4);
    let mut other = amqp::source(URL, &queue, 10).await.expect("another source");
    let mut got = Vec::new();
    for _ in 0..4 {
        let delivery = next(&mut other).await;
        assert_eq!(
            delivery.message().attempt(),
            1,
            "a hand-back counts no attempt"
        );
        got.push(text(&delivery));
        delivery.ack().await.expect("ack");
    }
    got.sort();
    assert_eq!(got, ["m1", "m2", "m3", "m4"]);
    // Settled after stop, then closed.
    started.ack().await.expect("ack after stop");
    source.close().await.expect("close");
    other.stop().await.expect("stop");
    other.close().await.expect("close");
    assert_eq!(ready(&channel, &queue).await, 0);
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn retry_counts_attempts_and_reject_goes_to_the_queues_dead_letter_exchange() {
    if !broker::available(
        broker::RABBITMQ,
        "retry_counts_attempts_and_reject_goes_to_the_queues_dead_letter_exchange",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_retry");
    let dead_exchange = format!("{queue}_dlx");
    let dead_queue = format!("{queue}_dead");
    let _cleanup = Cleanup {
        queues: vec![queue.clone(), dead_queue.clone()],
        exchanges: vec![dead_exchange.clone()],
    };
    let (_admin, channel) = admin().await;
    // The user's own queue, with a dead-letter exchange: the source uses it as it is.
    channel
        .exchange_declare(ExchangeDeclareArguments::new(&dead_exchange, "fanout"))
        .await
        .expect("dead-letter exchange");
    channel
        .queue_declare(QueueDeclareArguments::durable_client_named(&dead_queue))
        .await
        .expect("dead-letter queue");
    channel
        .queue_bind(QueueBindArguments::new(&dead_queue, &dead_exchange, ""))
        .await
        .expect("bind");
    let mut arguments = FieldTable::new();
    arguments.insert(
        "x-dead-letter-exchange".try_into().unwrap(),
        FieldValue::S(dead_exchange.clone().try_into().unwrap()),
    );
    channel
        .queue_declare(
            QueueDeclareArguments::durable_client_named(&queue)
                .arguments(arguments)
                .finish(),
        )
        .await
        .expect("the user's queue");

    let mut source = amqp::source(URL, &queue, 1)
        .await
        .expect("source on the user's queue");
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    publisher.publish(b"flaky").await.expect("confirmed");
    for attempt in 1..=3 {
        let delivery = next(&mut source).await;
        assert_eq!(text(&delivery), "flaky");
        assert_eq!(delivery.message().attempt(), attempt);
        if attempt < 3 {
            delivery.retry().await.expect("retry");
        } else {
            delivery.reject().await.expect("reject");
        }
    }
    assert!(nothing_for(&mut source, Duration::from_millis(300)).await);
    assert_eq!(
        ready(&channel, &queue).await,
        0,
        "retried copies were acked, the rejected one left"
    );
    let dead = channel
        .basic_get(BasicGetArguments::new(&dead_queue).no_ack(true).finish())
        .await
        .expect("get")
        .expect("the rejected message is in the dead letters");
    assert_eq!(dead.2, b"flaky");

    source.stop().await.expect("stop");
    source.close().await.expect("close");
    delete(&channel, &queue).await;
    delete(&channel, &dead_queue).await;
    channel
        .exchange_delete(ExchangeDeleteArguments::new(&dead_exchange))
        .await
        .expect("delete the exchange");
}

/// A TCP proxy to the broker that the test cuts, as a crash or a network failure would.
struct Proxy {
    addr: std::net::SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(to: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let spawned = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                spawned.lock().unwrap().push(task);
            }
        });
        tasks.lock().unwrap().push(accept);
        Proxy { addr, tasks }
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    /// Drops every connection through it, and goes on taking new ones.
    fn drop_connections(&self) {
        for task in self.tasks.lock().unwrap().drain(..).skip(1) {
            task.abort();
        }
    }

    /// Drops every connection through it, and takes no new one.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn a_cut_consumers_messages_come_back_by_themselves_and_cannot_be_settled_twice() {
    if !broker::available(
        broker::RABBITMQ,
        "a_cut_consumers_messages_come_back_by_themselves_and_cannot_be_settled_twice",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_cut");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    let proxy = Proxy::start(broker::RABBITMQ.addr).await;
    let mut doomed = amqp::source(&proxy.url(), &queue, 2)
        .await
        .expect("source through the proxy");
    let doomed_publisher = amqp::publisher(&proxy.url(), &queue)
        .await
        .expect("publisher through the proxy");
    doomed_publisher.publish(b"a").await.expect("confirmed");
    doomed_publisher.publish(b"b").await.expect("confirmed");
    let held = next(&mut doomed).await;
    assert_eq!(text(&held), "a");
    // A consumer waiting on an empty queue when its connection is cut hears of it.
    let idle_queue = format!("{queue}_idle");
    let _idle_cleanup = Cleanup::queue(&idle_queue);
    let mut idle = amqp::source(&proxy.url(), &idle_queue, 1)
        .await
        .expect("idle source");
    let waiting = tokio::spawn(async move {
        let result = tokio::time::timeout(Duration::from_secs(10), idle.next()).await;
        (result.map(|r| r.map(|d| text(&d))), idle)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    proxy.cut();
    // The broker requeues what the cut connection held: another consumer gets both.
    let mut survivor = amqp::source(URL, &queue, 2).await.expect("source");
    let started = Instant::now();
    let mut got = Vec::new();
    for _ in 0..2 {
        let delivery = next(&mut survivor).await;
        got.push(text(&delivery));
        delivery.ack().await.expect("ack");
    }
    got.sort();
    assert_eq!(got, ["a", "b"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no timer to wait for: {:?}",
        started.elapsed()
    );

    // The cut side says so, and never acknowledges what it no longer holds.
    let settled = tokio::time::timeout(Duration::from_secs(35), held.ack())
        .await
        .expect("a settlement on a cut connection returns");
    let error = settled.expect_err("an ack on a cut connection is an error");
    assert!(error.to_string().contains(&queue), "{error}");
    let lost = tokio::time::timeout(Duration::from_secs(10), doomed.next())
        .await
        .expect("next returns")
        .expect_err("next says the consumer was lost");
    assert!(lost.to_string().contains(&queue), "{lost}");
    assert!(!lost.to_string().contains(":guest@"), "no password: {lost}");
    // Reconnecting through a proxy that is gone fails at once, with the address.
    let again = tokio::time::timeout(Duration::from_secs(15), doomed.next())
        .await
        .expect("next returns")
        .expect_err("the broker is unreachable");
    assert!(
        again.to_string().contains(&proxy.addr.to_string()),
        "{again}"
    );
    let publish = tokio::time::timeout(Duration::from_secs(35), doomed_publisher.publish(b"c"))
        .await
        .expect("a publish on a cut connection returns");
    assert!(
        publish.is_err(),
        "a publish on a cut connection is not confirmed"
    );

    let (woken, idle) = waiting.await.expect("the waiting task");
    let woken = woken.expect("a waiting next returns when the connection is cut");
    assert!(woken
        .expect_err("an error")
        .to_string()
        .contains(&idle_queue));
    idle.close().await.expect("close of a lost source");
    delete(&channel, &idle_queue).await;

    survivor.stop().await.expect("stop");
    survivor.close().await.expect("close");
    doomed.close().await.expect("close of a lost source");
    assert_eq!(ready(&channel, &queue).await, 0);
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn a_wrong_url_an_unreachable_broker_and_bad_credentials_are_clear_errors_at_once() {
    if !broker::available(
        broker::RABBITMQ,
        "a_wrong_url_an_unreachable_broker_and_bad_credentials_are_clear_errors_at_once",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_errors");
    let _cleanup = Cleanup::queue(&queue);
    // A port where nothing answers the protocol: a listener that accepts and stays silent.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let cases = [
        (
            "http://guest:secret@127.0.0.1:5672/".to_string(),
            "bad AMQP URL",
        ),
        (
            format!("amqp://guest:secret@{refused}/%2f"),
            "cannot connect to",
        ),
        (
            format!("amqp://guest:secret@{silent_addr}/%2f?connection_timeout=300"),
            "no answer within",
        ),
        (
            "amqp://guest:secret@127.0.0.1:5672/%2f".to_string(),
            "a refused user or password, or an unknown vhost",
        ),
        (
            "amqp://guest:guest@127.0.0.1:5672/no_such_vhost".to_string(),
            "cannot connect to",
        ),
    ];
    for (url, expected) in cases {
        let started = Instant::now();
        let error = amqp::source(&url, &queue, 1).await.expect_err(&url);
        let shown = error.to_string();
        assert!(shown.contains(expected), "{url}: {shown}");
        assert!(
            !shown.contains("secret"),
            "{url}: the password is not shown: {shown}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: at once, not {:?}",
            started.elapsed()
        );
        let error = amqp::publisher(&url, &queue).await.expect_err(&url);
        assert!(error.to_string().contains(expected), "{url}: {error}");
    }
    // The client's own error is kept as the source.
    let error = amqp::source("amqp://guest:secret@127.0.0.1:5672/%2f", &queue, 1)
        .await
        .expect_err("bad credentials");
    assert!(std::error::Error::source(&error).is_some(), "{error:?}");
    let error = amqp::source("amqp://guest:guest@127.0.0.1:5672/no_such_vhost", &queue, 1)
        .await
        .expect_err("an unknown vhost");
    let cause = std::error::Error::source(&error)
        .expect("the client's error")
        .to_string();
    assert!(cause.contains("vhost no_such_vhost not found"), "{cause}");
}

#[tokio::test]
async fn a_source_takes_nothing_before_its_first_next() {
    if !broker::available(
        broker::RABBITMQ,
        "a_source_takes_nothing_before_its_first_next",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_lazy");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    publisher.publish(b"a").await.expect("confirmed");
    publisher.publish(b"b").await.expect("confirmed");
    // As a process started by an upgrade before its ready(), then rolled back.
    let waiting = amqp::source(URL, &queue, 5).await.expect("source");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ready(&channel, &queue).await,
        2,
        "nothing taken before next"
    );
    let mut other = amqp::source(URL, &queue, 5).await.expect("another source");
    for expected in ["a", "b"] {
        let delivery = next(&mut other).await;
        assert_eq!(text(&delivery), expected);
        assert_eq!(delivery.message().attempt(), 1);
        delivery.ack().await.expect("ack");
    }
    drop(waiting);
    other.stop().await.expect("stop");
    other.close().await.expect("close");
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn acknowledgements_made_at_once_all_reach_the_broker() {
    if !broker::available(
        broker::RABBITMQ,
        "acknowledgements_made_at_once_all_reach_the_broker",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_many");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    // Publishes at once share the channel; each returns once its own confirm came.
    let publisher = Arc::new(publisher);
    let mut publishing = tokio::task::JoinSet::new();
    for n in 0..60 {
        let publisher = publisher.clone();
        publishing.spawn(async move { publisher.publish(format!("m{n}").as_bytes()).await });
    }
    while let Some(published) = publishing.join_next().await {
        published.expect("the task").expect("confirmed");
    }
    assert_eq!(ready(&channel, &queue).await, 60);

    let mut source = amqp::source(URL, &queue, 60).await.expect("source");
    let mut held = Vec::new();
    for _ in 0..60 {
        held.push(next(&mut source).await);
    }
    // Stopped first, so that what is handed back is not delivered here again.
    assert!(source.stop().await.expect("stop").is_empty());
    // Sixty settlements at once share round trips; each returns once the broker has it.
    let mut settling = tokio::task::JoinSet::new();
    for (n, delivery) in held.into_iter().enumerate() {
        settling.spawn(async move {
            if n % 3 == 0 {
                delivery.hand_back().await
            } else {
                delivery.ack().await
            }
        });
    }
    while let Some(settled) = settling.join_next().await {
        settled.expect("the task").expect("settled");
    }
    // The hand-backs are ready again, the acks are gone, before the connection closes.
    assert_eq!(ready(&channel, &queue).await, 20);
    source.close().await.expect("close");
    assert_eq!(ready(&channel, &queue).await, 20);
    delete(&channel, &queue).await;
}

#[tokio::test]
async fn a_lost_connection_is_said_and_the_next_call_connects_again() {
    if !broker::available(
        broker::RABBITMQ,
        "a_lost_connection_is_said_and_the_next_call_connects_again",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_again");
    let _cleanup = Cleanup::queue(&queue);
    let (_admin, channel) = admin().await;
    let proxy = Proxy::start(broker::RABBITMQ.addr).await;
    let mut source = amqp::source(&proxy.url(), &queue, 1).await.expect("source");
    let publisher = amqp::publisher(URL, &queue).await.expect("publisher");
    publisher.publish(b"a").await.expect("confirmed");
    let held = next(&mut source).await;
    proxy.drop_connections();
    let lost = tokio::time::timeout(Duration::from_secs(10), source.next())
        .await
        .expect("next returns")
        .expect_err("the connection was lost");
    assert!(lost.to_string().contains("lost the consumer"), "{lost}");
    // The next call connects again, and the message the lost connection held comes back.
    let again = next(&mut source).await;
    assert_eq!(text(&again), "a");
    assert_eq!(again.message().attempt(), 1);
    assert!(
        held.ack().await.is_err(),
        "the lost delivery cannot be acknowledged"
    );
    again.ack().await.expect("ack on the new connection");
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    assert_eq!(ready(&channel, &queue).await, 0);
    delete(&channel, &queue).await;
}

/// A publish once the connection is lost says which queue on which broker, as every other
/// error of the source does.
#[tokio::test]
async fn a_publish_on_a_lost_connection_names_the_queue_and_the_broker() {
    if !broker::available(
        broker::RABBITMQ,
        "a_publish_on_a_lost_connection_names_the_queue_and_the_broker",
    ) {
        return;
    }
    let queue = broker::unique_name("amqp_publish_lost");
    let _cleanup = Cleanup::queue(&queue);
    let proxy = Proxy::start(broker::RABBITMQ.addr).await;
    let publisher = amqp::publisher(&proxy.url(), &queue)
        .await
        .expect("a publisher through the proxy");
    publisher.publish(b"a").await.expect("confirmed");
    proxy.cut();
    // The client notices the lost connection.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let error = tokio::time::timeout(Duration::from_secs(35), publisher.publish(b"b"))
        .await
        .expect("the publish returns")
        .expect_err("a publish on a lost connection fails");
    let shown = error.to_string();
    assert!(
        shown.contains(&queue) && shown.contains(&proxy.addr.to_string()),
        "the error names the queue and the broker: {shown:?}"
    );
}
