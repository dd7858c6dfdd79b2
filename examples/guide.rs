//! The code of the README and of the guide in `docs/`, compiled as doc-tests: `cargo test
//! --workspace` fails when a page shows code that no longer compiles. Each page is the
//! documentation of an item that exists only when doc-tests are collected.

#![cfg(doctest)]

/// README.md
#[doc = include_str!("../README.md")]
pub struct ReadMe;

/// docs/getting-started.md
#[doc = include_str!("../docs/getting-started.md")]
pub struct GettingStarted;

/// docs/shutdown-sequence.md
#[doc = include_str!("../docs/shutdown-sequence.md")]
pub struct ShutdownSequence;

/// docs/teardown-hooks.md
#[doc = include_str!("../docs/teardown-hooks.md")]
pub struct TeardownHooks;

/// docs/serving.md
#[doc = include_str!("../docs/serving.md")]
pub struct Serving;

/// docs/upgrade.md
#[doc = include_str!("../docs/upgrade.md")]
pub struct Upgrade;

/// docs/configuration.md
#[doc = include_str!("../docs/configuration.md")]
pub struct Configuration;

/// docs/operations.md
#[doc = include_str!("../docs/operations.md")]
pub struct Operations;

/// docs/kubernetes.md
#[doc = include_str!("../docs/kubernetes.md")]
pub struct Kubernetes;

/// docs/testing.md
#[doc = include_str!("../docs/testing.md")]
pub struct Testing;

/// docs/troubleshooting.md
#[doc = include_str!("../docs/troubleshooting.md")]
pub struct Troubleshooting;

/// docs/consuming.md
#[doc = include_str!("../docs/consuming.md")]
pub struct Consuming;

/// docs/consuming-sqlite.md
#[doc = include_str!("../docs/consuming-sqlite.md")]
pub struct ConsumingSqlite;

/// docs/consuming-amqp.md
#[doc = include_str!("../docs/consuming-amqp.md")]
pub struct ConsumingAmqp;

/// docs/consuming-postgres.md
#[doc = include_str!("../docs/consuming-postgres.md")]
pub struct ConsumingPostgres;

/// docs/consuming-redis.md
#[doc = include_str!("../docs/consuming-redis.md")]
pub struct ConsumingRedis;

/// docs/consuming-nats.md
#[doc = include_str!("../docs/consuming-nats.md")]
pub struct ConsumingNats;

/// docs/upgrade-control.md
#[doc = include_str!("../docs/upgrade-control.md")]
pub struct UpgradeControl;
