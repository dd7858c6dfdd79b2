//! Serving, built in: listeners that an upgrade or a service manager can hand over,
//! readiness that turns at the first signal, and HTTP and gRPC servers that stop the way
//! the shutdown needs (stop accepting, finish what is under way, end streams at the hard
//! stop), so that no service writes that glue itself.
//!
//! - `listener.rs`: [`listener`](listener::listener) and its Unix form; where a socket
//!   comes from (`inherited.rs`: sources, first match wins), and what was taken
//!   (`registry.rs`: by name, with a copy of each socket).
//! - `ready.rs`: the readiness answer, 200 until the first signal and 503 from it on.
//! - `http.rs` (feature `axum`): the HTTP server. What it is made of: `accept.rs`
//!   (accepting, failures said, connections named), `conn.rs` (one connection's life:
//!   serving, stopping, the hard stop), `state.rs` (what a connection's pieces share),
//!   `io.rs` (its socket: ended at the hard stop, its opening watched), `request.rs`
//!   (the app as its hyper service: each request's way to an answer, a handler's panic)
//!   and `body.rs` (a request body that cannot hold the shutdown, an answer body whose
//!   panic stays its own). `grpc.rs` (feature `tonic`): the same for tonic, with the
//!   standard health service.

#[cfg(feature = "axum")]
mod accept;
#[cfg(feature = "axum")]
mod body;
#[cfg(feature = "axum")]
mod conn;
#[cfg(feature = "tonic")]
pub mod grpc;
#[cfg(feature = "axum")]
pub mod http;
pub(crate) mod inherited;
#[cfg(feature = "axum")]
mod io;
pub(crate) mod listener;
pub(crate) mod ready;
pub(crate) mod registry;
#[cfg(feature = "axum")]
mod request;
#[cfg(feature = "axum")]
mod state;
