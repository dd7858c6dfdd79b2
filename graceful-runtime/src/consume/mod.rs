//! Consuming, built in: queue consumers that stop taking work at the shutdown, hand back
//! what they hold but have not started, finish or hand back what is under way by the
//! deadline, and close their connection only after the last acknowledgement.
//!
//! - `source.rs`: the interface between the runner and a broker ([`Source`],
//!   [`Delivery`], [`Message`], [`Error`], and [`Publish`] for the sending side), which every built-in source implements and a
//!   user's own broker can too.
//! - `amqp.rs` (feature `amqp`): RabbitMQ.
//! - `postgres.rs` (feature `postgres`): a queue table in PostgreSQL.

mod source;

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "postgres")]
pub mod postgres;

pub use source::{Delivery, Error, Message, Publish, Source};
