//! The same consumer written by hand on each client crate, as a competent engineer would
//! without graceful: `handlers` at once, each message acknowledged after its handler, on
//! the queue, table, stream or subject graceful's publisher filled. No shutdown care: a
//! worker stops taking at the shutdown and what it holds is left to the broker. This is
//! what the runner's throughput is measured against.

use std::sync::Arc;
use std::time::Duration;

use graceful::consume::Error;
use tokio::sync::Semaphore;

use super::Work;

/// How long an idle hand-written loop waits before it looks again.
const POLL: Duration = Duration::from_millis(10);

/// `confirmed` (RabbitMQ only): each acknowledgement is counted once a round trip after it
/// came back, as graceful's source does.
pub(crate) async fn run(
    url: &str,
    queue: &str,
    handlers: u16,
    work: Work,
    confirmed: bool,
) -> Result<(), Error> {
    if confirmed && !url.starts_with("amqp") {
        return Err(Error::msg("by-hand-confirmed is for RabbitMQ only"));
    }
    println!("ready {}", std::process::id());
    if url == "memory:" {
        memory(handlers, work);
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        sqlite(path, queue, handlers, work)?;
    } else if url.starts_with("amqp") {
        amqp(url, queue, handlers, work, confirmed).await?;
    } else if url.starts_with("postgres") {
        postgres(url, queue, handlers, work).await?;
    } else if url.starts_with("redis") {
        redis(url, queue, handlers, work).await?;
    } else if url.starts_with("nats") {
        nats(url, queue, handlers, work).await?;
    } else {
        return Err(Error::msg(format!("no such source: {url}")));
    }
    graceful::ready();
    graceful::shutdown_requested().await;
    Ok(())
}

fn failed(what: &str) -> impl Fn(Box<dyn std::error::Error + Send + Sync>) -> Error + '_ {
    move |e| Error::new(what.to_owned(), e)
}

/// The broker in this process: a task per delivery, its acknowledgement sent back, as on
/// RabbitMQ.
fn memory(handlers: u16, work: Work) {
    let super::memory::Broker {
        mut deliveries,
        acks,
    } = super::memory::start(work.count, usize::from(handlers));
    tokio::spawn(async move {
        while let Some((tag, payload)) = deliveries.recv().await {
            let (acks, work) = (acks.clone(), work.clone());
            tokio::spawn(async move {
                work.handle(&payload).await;
                if acks.send(tag).is_ok() {
                    work.acked(&payload);
                }
            });
        }
    });
}

/// SQLite: one connection, each take and each acknowledgement a transaction of its own on
/// a blocking thread, with graceful's table and statements.
fn sqlite(path: &str, queue: &str, handlers: u16, work: Work) -> Result<(), Error> {
    use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
    let conn = Connection::open(path).map_err(|e| failed("open")(e.into()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| failed("busy_timeout")(e.into()))?;
    let conn = Arc::new(std::sync::Mutex::new(conn));
    let consumer = format!("by-hand-{}", std::process::id());
    for _ in 0..handlers {
        let (conn, queue, consumer, work) = (
            conn.clone(),
            queue.to_owned(),
            consumer.clone(),
            work.clone(),
        );
        tokio::spawn(async move {
            while !graceful::is_shutting_down() {
                let (c, q, me) = (conn.clone(), queue.clone(), consumer.clone());
                let taken = tokio::task::spawn_blocking(move || {
                    let mut conn = c.lock().unwrap();
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let row = tx
                        .query_row(
                            "UPDATE queue_messages
                             SET state = 'in_progress', consumer = ?2, holder_pid = ?3,
                                 lease_until = ?4, attempts = attempts + 1
                             WHERE id = (SELECT id FROM queue_messages
                                         WHERE queue = ?1 AND state = 'pending' ORDER BY id LIMIT 1)
                             RETURNING id, payload",
                            params![q, me, std::process::id(), i64::MAX],
                            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)),
                        )
                        .optional()?;
                    tx.commit()?;
                    Ok::<_, rusqlite::Error>(row)
                })
                .await
                .expect("the take does not panic");
                let Ok(Some((id, payload))) = taken else {
                    tokio::time::sleep(POLL).await;
                    continue;
                };
                work.handle(&payload).await;
                let (c, q, me) = (conn.clone(), queue.clone(), consumer.clone());
                let acked = tokio::task::spawn_blocking(move || {
                    let mut conn = c.lock().unwrap();
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    tx.execute(
                        "INSERT INTO queue_acks (queue, message_id, consumer, pid, acked_at)
                         VALUES (?1, ?2, ?3, ?4, 0)",
                        params![q, id, me, std::process::id()],
                    )?;
                    tx.execute(
                        "UPDATE queue_messages SET state = 'done', consumer = NULL,
                             holder_pid = NULL, lease_until = NULL WHERE id = ?1",
                        params![id],
                    )?;
                    tx.commit()
                })
                .await
                .expect("the acknowledgement does not panic");
                if acked.is_ok() {
                    work.acked(&payload);
                }
            }
        });
    }
    Ok(())
}

/// RabbitMQ on amqprs: one channel, prefetch = handlers, a task per delivery, `basic.ack`;
/// when `confirmed`, then a `basic.qos` round trip that shows the broker handled it (one at
/// a time, covering every acknowledgement sent before it went).
async fn amqp(
    url: &str,
    queue: &str,
    handlers: u16,
    work: Work,
    confirmed: bool,
) -> Result<(), Error> {
    use amqprs::channel::{BasicAckArguments, BasicConsumeArguments, BasicQosArguments};
    use amqprs::connection::{Connection, OpenConnectionArguments};
    let rest = url.trim_start_matches("amqp://");
    let (auth, host) = rest.split_once('@').unwrap_or(("guest:guest", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, "guest"));
    let host = host.split('/').next().unwrap_or(host);
    let (host, port) = host.split_once(':').unwrap_or((host, "5672"));
    let port: u16 = port.parse().map_err(|_| Error::msg("the port"))?;
    let args = OpenConnectionArguments::new(host, port, user, password);
    let connection = Connection::open(&args)
        .await
        .map_err(|e| failed("connect")(e.into()))?;
    let channel = connection
        .open_channel(None)
        .await
        .map_err(|e| failed("open a channel")(e.into()))?;
    channel
        .basic_qos(BasicQosArguments::new(0, handlers, false))
        .await
        .map_err(|e| failed("basic.qos")(e.into()))?;
    let (_, mut deliveries) = channel
        .basic_consume_rx(
            BasicConsumeArguments::new(queue, "by-hand")
                .manual_ack(true)
                .finish(),
        )
        .await
        .map_err(|e| failed("basic.consume")(e.into()))?;
    // Acknowledgements sent, and how many of them a round trip has shown handled.
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let handled = Arc::new(tokio::sync::Mutex::new(0u64));
    tokio::spawn(async move {
        let _connection = connection;
        while let Some(message) = deliveries.recv().await {
            let Some(deliver) = message.deliver else {
                continue;
            };
            let (channel, work) = (channel.clone(), work.clone());
            let (sent, handled) = (Arc::clone(&sent), Arc::clone(&handled));
            tokio::spawn(async move {
                let payload = message.content.unwrap_or_default();
                work.handle(&payload).await;
                let ack = BasicAckArguments::new(deliver.delivery_tag(), false);
                if channel.basic_ack(ack).await.is_err() {
                    return;
                }
                if confirmed {
                    use std::sync::atomic::Ordering;
                    let mine = sent.fetch_add(1, Ordering::AcqRel) + 1;
                    let mut handled = handled.lock().await;
                    if *handled < mine {
                        let upto = sent.load(Ordering::Acquire);
                        let qos = BasicQosArguments::new(0, handlers, false);
                        if channel.basic_qos(qos).await.is_err() {
                            return;
                        }
                        *handled = upto;
                    }
                }
                work.acked(&payload);
            });
        }
    });
    Ok(())
}

/// PostgreSQL on tokio-postgres: a connection per handler, each row taken `FOR UPDATE SKIP
/// LOCKED` in a transaction that deletes it and commits, polling when the table is empty.
async fn postgres(url: &str, queue: &str, handlers: u16, work: Work) -> Result<(), Error> {
    let table = format!("\"{queue}\"");
    for _ in 0..handlers {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| failed("connect")(e.into()))?;
        tokio::spawn(connection);
        let take = client
            .prepare(&format!(
                "SELECT id, payload FROM {table} WHERE state = 'ready' ORDER BY id LIMIT 1 \
                 FOR UPDATE SKIP LOCKED"
            ))
            .await
            .map_err(|e| failed("prepare")(e.into()))?;
        let delete = client
            .prepare(&format!("DELETE FROM {table} WHERE id = $1"))
            .await
            .map_err(|e| failed("prepare")(e.into()))?;
        let work = work.clone();
        tokio::spawn(async move {
            while !graceful::is_shutting_down() {
                if client.batch_execute("BEGIN").await.is_err() {
                    return;
                }
                let row = match client.query_opt(&take, &[]).await {
                    Ok(Some(row)) => row,
                    _ => {
                        let _ = client.batch_execute("ROLLBACK").await;
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                };
                let id: i64 = row.get(0);
                let payload: Vec<u8> = row.get(1);
                work.handle(&payload).await;
                let deleted = client.execute(&delete, &[&id]).await;
                if deleted.is_ok() && client.batch_execute("COMMIT").await.is_ok() {
                    work.acked(&payload);
                }
            }
        });
    }
    Ok(())
}

/// Redis Streams on redis: `XREADGROUP` for as many entries as there are free handlers,
/// a task per entry, then `XACK` and `XDEL` in one pipeline.
async fn redis(url: &str, queue: &str, handlers: u16, work: Work) -> Result<(), Error> {
    use redis::streams::{StreamReadOptions, StreamReadReply};
    use redis::AsyncCommands;
    let client = redis::Client::open(url).map_err(|e| failed("open")(e.into()))?;
    let mut reading = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| failed("connect")(e.into()))?;
    let acking = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| failed("connect")(e.into()))?;
    let created: redis::RedisResult<()> = reading
        .xgroup_create_mkstream(queue, graceful::consume::redis::GROUP, "0")
        .await;
    if let Err(e) = created {
        if e.code() != Some("BUSYGROUP") {
            return Err(failed("XGROUP CREATE")(e.into()));
        }
    }
    let me = format!("by-hand-{}", std::process::id());
    let slots = Arc::new(Semaphore::new(usize::from(handlers)));
    let queue = queue.to_owned();
    tokio::spawn(async move {
        while !graceful::is_shutting_down() {
            let free = slots.available_permits().max(1);
            let options = StreamReadOptions::default()
                .group(graceful::consume::redis::GROUP, &me)
                .count(free)
                .block(100);
            let reply: redis::RedisResult<StreamReadReply> =
                reading.xread_options(&[&queue], &[">"], &options).await;
            let Ok(reply) = reply else {
                tokio::time::sleep(POLL).await;
                continue;
            };
            for entry in reply.keys.into_iter().flat_map(|k| k.ids) {
                let slot = Arc::clone(&slots)
                    .acquire_owned()
                    .await
                    .expect("never closed");
                let (mut acking, queue, work) = (acking.clone(), queue.clone(), work.clone());
                tokio::spawn(async move {
                    let payload: Vec<u8> = entry.get("payload").unwrap_or_default();
                    work.handle(&payload).await;
                    let acked: redis::RedisResult<()> = redis::pipe()
                        .xack(&queue, graceful::consume::redis::GROUP, &[&entry.id])
                        .xdel(&queue, &[&entry.id])
                        .query_async(&mut acking)
                        .await;
                    if acked.is_ok() {
                        work.acked(&payload);
                    }
                    drop(slot);
                });
            }
        }
    });
    Ok(())
}

/// NATS JetStream on async-nats: the durable pull consumer of the queue's stream, a
/// stream of pulls of `handlers` messages, a task per message, each acknowledged with a
/// double ack (the server confirms it, as graceful's acknowledgement waits for).
async fn nats(url: &str, queue: &str, handlers: u16, work: Work) -> Result<(), Error> {
    use async_nats::jetstream::consumer::{pull, AckPolicy};
    use futures_util::StreamExt;
    let client = async_nats::connect(url)
        .await
        .map_err(|e| failed("connect")(e.into()))?;
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream
        .get_stream(queue)
        .await
        .map_err(|e| failed("the stream")(e.into()))?;
    let consumer: pull::Stream = stream
        .get_or_create_consumer(
            queue,
            pull::Config {
                durable_name: Some(queue.to_owned()),
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed("the consumer")(e.into()))
        .map(|c: async_nats::jetstream::consumer::Consumer<pull::Config>| c)?
        .stream()
        .max_messages_per_batch(usize::from(handlers))
        .messages()
        .await
        .map_err(|e| failed("pull")(e.into()))?;
    let slots = Arc::new(Semaphore::new(usize::from(handlers)));
    tokio::spawn(async move {
        let mut messages = consumer;
        while let Some(message) = messages.next().await {
            let Ok(message) = message else { continue };
            let slot = Arc::clone(&slots)
                .acquire_owned()
                .await
                .expect("never closed");
            let work = work.clone();
            tokio::spawn(async move {
                work.handle(&message.payload).await;
                if message.double_ack().await.is_ok() {
                    work.acked(&message.payload);
                }
                drop(slot);
            });
        }
    });
    Ok(())
}
