//! Consuming, built in: queue consumers that stop taking work at the shutdown, hand back
//! what they hold but have not started, finish or hand back what is under way by the
//! deadline, and close their connection only after the last acknowledgement.
//!
//! - `source.rs`: the interface between the runner and a broker ([`Source`],
//!   [`Delivery`], [`Message`], [`Error`], and [`Publish`] for the sending side), which every built-in source implements and a
//!   user's own broker can too.
//! - `redis.rs` (cargo feature `redis`): Redis Streams with a consumer group.
//! - `nats.rs` (cargo feature `nats`): a NATS JetStream durable pull consumer.

#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub mod nats;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod source;

pub use source::{Delivery, Error, Message, Publish, Source};
