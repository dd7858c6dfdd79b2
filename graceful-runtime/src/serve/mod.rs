//! Serving, built in: listeners that an upgrade or a service manager can hand over,
//! readiness that turns at the first signal, and HTTP and gRPC servers that stop the way
//! the shutdown needs (stop accepting, finish what is under way, end streams at the hard
//! stop), so that no service writes that glue itself.
//!
//! - `listener.rs`: [`listener`](listener::listener) and its Unix form; where a socket
//!   comes from (`inherited.rs`: sources, first match wins), and what was taken
//!   (`registry.rs`: by name, with a copy of each socket).
//! - `ready.rs`: the readiness answer, 200 until the first signal and 503 from it on.
//! - `http.rs` (feature `axum`): the HTTP server, and `conn.rs`, one connection of it
//!   (its service, its handlers, what the hard stop does to it); `grpc.rs` (feature
//!   `tonic`): the same for tonic, with the standard health service.

#[cfg(feature = "axum")]
mod conn;
#[cfg(feature = "tonic")]
pub mod grpc;
#[cfg(feature = "axum")]
pub mod http;
pub(crate) mod inherited;
pub(crate) mod listener;
pub(crate) mod ready;
pub(crate) mod registry;
