//! Consuming, built in: queue consumers that stop taking work at the shutdown, hand back
//! what they hold but have not started, finish or hand back what is under way by the
//! deadline, and close their connection only after the last acknowledgement.
//!
//! A user writes the handler; [`Consumer`] does the rest, over any [`Source`]:
//!
//! 1. Intake: a handler slot first, then the source's next delivery, each handler in a
//!    tokio task of its own and a `message` tracing span (consumer, id, attempt). In a
//!    process started by an upgrade in place, intake begins at [`ready`](crate::ready).
//! 2. At the drain delay's end (or an upgrade's handover) intake stops: the source is
//!    stopped, and what it had taken off the broker but not given out is handed back at
//!    once.
//! 3. Handlers under way finish within the deadline: `Ok` acknowledges; an error or a
//!    panic follows the [`Failure`] policy (by default retried until the fifth attempt,
//!    then rejected). At the hard stop what still runs is cut and handed back.
//! 4. After the last settlement returned, the source is closed, and the counts go to the
//!    shutdown's [`Report`](crate::Report) ([`Report::consumers`](crate::Report::consumers)).
//!
//! The guarantee is at least once: a message runs twice only after a kill or a crash
//! (what the dead process held comes back by the broker's own redelivery), never after a
//! graceful stop or an upgrade. The guide's chapter, `docs/consuming.md` in the
//! repository, says more.
//!
//! # A source of your own
//!
//! Any broker plugs in by implementing [`Source`] and [`Delivery`]. Here a queue in
//! memory, complete, run in a [`testing`](crate::testing) harness:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use graceful::consume::{Consumer, Delivery, Error, Message, Source};
//!
//! /// The broker: messages waiting, and those rejected for good.
//! #[derive(Clone, Default)]
//! struct Memory {
//!     waiting: Arc<Mutex<VecDeque<Message>>>,
//!     dead: Arc<Mutex<Vec<Message>>>,
//! }
//!
//! struct MemorySource(Memory);
//! struct MemoryDelivery(Memory, Message);
//!
//! impl Source for MemorySource {
//!     type Delivery = MemoryDelivery;
//!
//!     // Cancel-safe: a message is taken within one poll, never across an await.
//!     async fn next(&mut self) -> Result<MemoryDelivery, Error> {
//!         loop {
//!             if let Some(msg) = self.0.waiting.lock().unwrap().pop_front() {
//!                 return Ok(MemoryDelivery(self.0.clone(), msg));
//!             }
//!             tokio::time::sleep(Duration::from_millis(10)).await;
//!         }
//!     }
//!
//!     // Nothing is taken ahead of `next`: nothing to hand back.
//!     async fn stop(&mut self) -> Result<Vec<MemoryDelivery>, Error> {
//!         Ok(Vec::new())
//!     }
//!
//!     async fn close(self) -> Result<(), Error> {
//!         Ok(())
//!     }
//! }
//!
//! impl Delivery for MemoryDelivery {
//!     fn message(&self) -> &Message {
//!         &self.1
//!     }
//!     async fn ack(self) -> Result<(), Error> {
//!         Ok(()) // done: forgotten
//!     }
//!     async fn retry(self) -> Result<(), Error> {
//!         let MemoryDelivery(memory, msg) = self;
//!         let again = Message::new(msg.id(), msg.payload(), msg.attempt() + 1);
//!         memory.waiting.lock().unwrap().push_back(again);
//!         Ok(())
//!     }
//!     async fn reject(self) -> Result<(), Error> {
//!         self.0.dead.lock().unwrap().push(self.1);
//!         Ok(())
//!     }
//!     async fn hand_back(self) -> Result<(), Error> {
//!         // First in line again, and the attempt not counted.
//!         self.0.waiting.lock().unwrap().push_front(self.1);
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let memory = Memory::default();
//! for n in 1..=3 {
//!     let body = format!("order {n}");
//!     memory.waiting.lock().unwrap().push_back(Message::new(n.to_string(), body.as_bytes(), 1));
//! }
//! let source = MemorySource(memory.clone());
//! // In a program: the body of `#[graceful::main]`, without the harness.
//! let report = graceful::testing::Harness::new()
//!     .without_registered_hooks()
//!     .run(async move {
//!         let consumer = Consumer::new("orders", source).handlers(2).start(|msg: Message| async move {
//!             if msg.text() == Some("order 2") {
//!                 return Err(format!("order {} is out of stock", msg.id()));
//!             }
//!             Ok(())
//!         });
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         graceful::request_shutdown("the example is over");
//!         consumer.finished().await.map(|_| ())
//!     })
//!     .await;
//!
//! let counts = report.consumer("orders").unwrap().counts();
//! assert_eq!((counts.done, counts.failed, counts.rejected), (2, 5, 1));
//! assert_eq!(memory.dead.lock().unwrap().len(), 1);
//! # }
//! ```
//!
//! The runner acknowledges through [`Delivery::ack_then`], whose default awaits `ack`, as
//! here. A broker that confirms many acknowledgements with one reply can override it, to
//! report each where that reply is read rather than have a task wait for each message:
//! the RabbitMQ source does.
//!
//! The files of this module:
//!
//! - `source.rs`: the interface between the runner and a broker ([`Source`],
//!   [`Delivery`], [`Message`], [`Error`], and [`Publish`] for the sending side), which
//!   every built-in source implements and a user's own broker can too.
//! - `runner.rs`: the runner itself, [`Consumer`]: N handlers at once over a source, the
//!   failure policy ([`Failure`]), the counts in the shutdown's report.
//! - `sqlite.rs` (cargo feature `sqlite`): the embedded queue in a SQLite file, which
//!   needs no server.
//! - `amqp/` (cargo feature `amqp`): RabbitMQ; its `settled.rs` learns which
//!   acknowledgements the broker has handled, from later deliveries or round trips.
//! - `postgres.rs` (cargo feature `postgres`): a queue table in PostgreSQL.
//! - `redis.rs` (cargo feature `redis`): Redis Streams with a consumer group.
//! - `nats.rs` (cargo feature `nats`): a NATS JetStream durable pull consumer.

#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub mod nats;
#[cfg(any(feature = "redis", feature = "nats"))]
mod place;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod runner;
mod source;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

pub use runner::{Consumer, ConsumerHandle, Failure, DEFAULT_HANDLERS};

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "postgres")]
pub mod postgres;
pub use source::{Acked, Delivery, Error, Message, Publish, Source};
