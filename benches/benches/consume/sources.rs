//! The sources: where each is, whether it answers, how the benchmark fills a queue with
//! graceful's publisher, and how it deletes the queue afterwards. The sixth, `memory`, is
//! no broker: the subject makes its messages in its own process (see `bench-consume`), so
//! that the runner's own cost a message shows without a broker's.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use graceful::consume::{amqp, nats, postgres, redis, sqlite::SqliteQueue, Publish};
use graceful_benches as support;
use graceful_process_tests::broker::{self, Broker};

/// One source of the benchmark.
#[derive(Clone, Copy)]
pub(crate) struct Source {
    pub(crate) name: &'static str,
    /// The broker it needs; none for the embedded SQLite.
    broker: Option<Broker>,
}

pub(crate) const ALL: [Source; 6] = [
    Source {
        name: "sqlite",
        broker: None,
    },
    Source {
        name: "amqp",
        broker: Some(broker::RABBITMQ),
    },
    Source {
        name: "postgres",
        broker: Some(broker::POSTGRES),
    },
    Source {
        name: "redis",
        broker: Some(broker::REDIS),
    },
    Source {
        name: "nats",
        broker: Some(broker::NATS),
    },
    Source {
        name: "memory",
        broker: None,
    },
];

/// Publishers at once while a queue is filled.
const FILLERS: usize = 16;

impl Source {
    /// Whether it can be measured here: its broker answers (a missing one is skipped with
    /// a line, or fails the benchmark under `GRACEFUL_TEST_BROKERS=require`).
    pub(crate) fn available(self) -> bool {
        self.broker
            .is_none_or(|b| broker::available(b, &format!("the {} benchmark", self.name)))
    }

    /// The URL of `queue` on it: SQLite's is a file of the queue's own.
    pub(crate) fn url(self, queue: &str) -> String {
        match self.broker {
            Some(b) => b.url.to_owned(),
            None if self.in_process() => "memory:".to_owned(),
            None => format!("sqlite:{}", sqlite_path(queue).display()),
        }
    }

    /// Whether its messages live in the consuming process only (`memory`): measured for
    /// throughput, not through a stop or an upgrade, which need messages that outlive it.
    pub(crate) fn in_process(self) -> bool {
        self.name == "memory"
    }

    /// Publishes `count` messages, `first`, `first + 1`, …, with graceful's publisher
    /// (`memory`: none; its subject makes `BENCH_COUNT` of its own).
    pub(crate) async fn fill(self, queue: &str, first: usize, count: usize) {
        if self.in_process() {
            return;
        }
        let url = self.url(queue);
        let result = match self.name {
            "sqlite" => match SqliteQueue::open(sqlite_path(queue), queue) {
                Ok(q) => publish_all(q, first, count).await,
                Err(e) => Err(e),
            },
            "amqp" => match amqp::publisher(&url, queue).await {
                Ok(p) => publish_all(p, first, count).await,
                Err(e) => Err(e),
            },
            "postgres" => match postgres::publisher(&url, queue).await {
                Ok(p) => publish_all(p, first, count).await,
                Err(e) => Err(e),
            },
            "redis" => match redis::publisher(&url, queue).await {
                Ok(p) => publish_all(p, first, count).await,
                Err(e) => Err(e),
            },
            _ => match nats::publisher(&url, queue).await {
                Ok(p) => publish_all(p, first, count).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            support::fail(&format!("cannot fill {queue} on {}: {e:#?}", self.name));
        }
    }

    /// A publisher of its own for a steady flow, one message at a time.
    pub(crate) async fn publisher(self, queue: &str) -> Box<dyn OnePublisher> {
        let url = self.url(queue);
        let made: Result<Box<dyn OnePublisher>, graceful::consume::Error> = match self.name {
            "sqlite" => SqliteQueue::open(sqlite_path(queue), queue).map(boxed),
            "amqp" => amqp::publisher(&url, queue).await.map(boxed),
            "postgres" => postgres::publisher(&url, queue).await.map(boxed),
            "redis" => redis::publisher(&url, queue).await.map(boxed),
            _ => nats::publisher(&url, queue).await.map(boxed),
        };
        made.unwrap_or_else(|e| support::fail(&format!("a publisher on {}: {e:#?}", self.name)))
    }

    /// Deletes the queue, table, stream or file, and what graceful made beside it.
    pub(crate) async fn delete(self, queue: &str) {
        let url = self.url(queue);
        match self.name {
            "memory" => {}
            "sqlite" => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = sqlite_path(queue).into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            "amqp" => {
                use amqprs::channel::QueueDeleteArguments;
                use amqprs::connection::{Connection, OpenConnectionArguments};
                let args = OpenConnectionArguments::new("127.0.0.1", 5672, "guest", "guest");
                if let Ok(connection) = Connection::open(&args).await {
                    if let Ok(channel) = connection.open_channel(None).await {
                        let _ = channel.queue_delete(QueueDeleteArguments::new(queue)).await;
                        let _ = channel.close().await;
                    }
                    let _ = connection.close().await;
                }
            }
            "postgres" => {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    let task = tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP TABLE IF EXISTS \"{queue}\""))
                        .await;
                    drop(client);
                    let _ = task.await;
                }
            }
            "redis" => {
                if let Ok(client) = ::redis::Client::open(url.as_str()) {
                    if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                        let _: ::redis::RedisResult<()> = ::redis::cmd("DEL")
                            .arg(queue)
                            .arg(format!("{queue}:dead"))
                            .query_async(&mut conn)
                            .await;
                    }
                }
            }
            _ => {
                if let Ok(client) = async_nats::connect(url.as_str()).await {
                    let _ = async_nats::jetstream::new(client)
                        .delete_stream(queue)
                        .await;
                }
            }
        }
    }
}

/// A publisher whose type is forgotten, for the steady flow.
pub(crate) trait OnePublisher: Send + Sync {
    fn publish_one<'a>(
        &'a self,
        payload: &'a [u8],
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), graceful::consume::Error>> + Send + 'a>,
    >;
}

impl<P: Publish> OnePublisher for P {
    fn publish_one<'a>(
        &'a self,
        payload: &'a [u8],
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), graceful::consume::Error>> + Send + 'a>,
    > {
        Box::pin(self.publish(payload))
    }
}

fn boxed<P: Publish>(p: P) -> Box<dyn OnePublisher> {
    Box::new(p)
}

fn sqlite_path(queue: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{queue}.sqlite3"))
}

/// `count` messages from `first` on, [`FILLERS`] publishing at once.
async fn publish_all<P: Publish>(
    publisher: P,
    first: usize,
    count: usize,
) -> Result<(), graceful::consume::Error> {
    let publisher = Arc::new(publisher);
    let next = Arc::new(AtomicUsize::new(0));
    let mut fillers = Vec::new();
    for _ in 0..FILLERS {
        let (publisher, next) = (Arc::clone(&publisher), Arc::clone(&next));
        fillers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok(());
                }
                publisher
                    .publish((first + i).to_string().as_bytes())
                    .await?;
            }
        }));
    }
    for filler in fillers {
        filler.await.expect("a filler does not panic")?;
    }
    Ok(())
}
