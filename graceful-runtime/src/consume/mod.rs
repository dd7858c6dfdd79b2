//! Consuming, built in: queue consumers that stop taking work at the shutdown, hand back
//! what they hold but have not started, finish or hand back what is under way by the
//! deadline, and close their connection only after the last acknowledgement.
//!
//! - `source.rs`: the interface between the runner and a broker ([`Source`],
//!   [`Delivery`], [`Message`], [`Error`], and [`Publish`] for the sending side), which
//!   every built-in source implements and a user's own broker can too.
//! - `runner.rs`: the runner itself, [`Consumer`]: N handlers at once over a source, the
//!   failure policy ([`Failure`]), the counts in the shutdown's report.
//! - `sqlite.rs` (cargo feature `sqlite`): the embedded queue in a SQLite file, which
//!   needs no server.

mod runner;
mod source;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

pub use runner::{Consumer, ConsumerHandle, Failure, DEFAULT_HANDLERS};
pub use source::{Delivery, Error, Message, Publish, Source};
