//! The brokers the consuming tests talk to, found or skipped in one way.
//!
//! A test that needs a broker starts with [`available`]: on a machine without it, the test
//! prints one line naming the server to start and passes; with `GRACEFUL_TEST_BROKERS=require`
//! (as `.ci/run` sets it, after starting every broker) a missing one fails the test.
//!
//! This file is also compiled into the runtime's own broker tests (`#[path]`), so that
//! both say the same.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A broker the tests use: its name, where it listens, the URL a client connects with.
#[derive(Clone, Copy, Debug)]
pub struct Broker {
    /// As a person names it: "RabbitMQ".
    pub name: &'static str,
    /// Where it listens.
    pub addr: &'static str,
    /// A client's URL for it.
    pub url: &'static str,
}

/// RabbitMQ, guest/guest on the default vhost.
pub const RABBITMQ: Broker = Broker {
    name: "RabbitMQ",
    addr: "127.0.0.1:5672",
    url: "amqp://guest:guest@127.0.0.1:5672/%2f",
};

/// PostgreSQL, trust authentication, database `test`.
pub const POSTGRES: Broker = Broker {
    name: "PostgreSQL",
    addr: "127.0.0.1:5432",
    url: "postgres://postgres@127.0.0.1:5432/test",
};

/// Redis.
pub const REDIS: Broker = Broker {
    name: "Redis",
    addr: "127.0.0.1:6379",
    url: "redis://127.0.0.1:6379",
};

/// NATS with JetStream.
pub const NATS: Broker = Broker {
    name: "NATS",
    addr: "127.0.0.1:4222",
    url: "nats://127.0.0.1:4222",
};

/// Every broker, for a test that runs the same check on each.
pub const ALL: [Broker; 4] = [RABBITMQ, POSTGRES, REDIS, NATS];

/// Set to `require` (by `.ci/run`), a missing broker fails the test instead of skipping it.
pub const REQUIRE: &str = "GRACEFUL_TEST_BROKERS";

/// Whether `broker` answers. When it does not, `test` is skipped with one printed line
/// naming the server, or, with `GRACEFUL_TEST_BROKERS=require`, fails.
#[track_caller]
pub fn available(broker: Broker, test: &str) -> bool {
    let addr: SocketAddr = broker.addr.parse().expect("a broker address");
    if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
        return true;
    }
    let required = std::env::var(REQUIRE).is_ok_and(|v| v == "require");
    assert!(
        !required,
        "{test}: {} is not answering on {} and {REQUIRE}=require: start it (see the guide's chapter on consuming)",
        broker.name, broker.addr
    );
    eprintln!(
        "skipped {test}: {} is not answering on {}; start it to run this test",
        broker.name, broker.addr
    );
    false
}

/// A name of its own for one test's queue, table, stream or subject: tests run in
/// parallel, and runs after each other, on one broker.
pub fn unique_name(test: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("gt_{test}_{}_{nanos}", std::process::id())
}

/// An error and its causes, outermost first.
pub fn chain(error: &dyn std::error::Error) -> Vec<String> {
    let mut chain = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    chain
}
