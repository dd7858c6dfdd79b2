//! Accepting the connections of [`http::serve`](super::http::serve), and naming them.
//!
//! axum's listeners retry a failed accept on their own, silently, a second later. For
//! the listeners graceful gives (tokio's `TcpListener` and `UnixListener`) the accept is
//! made here instead, so that a failure is said: the first at once, then at most one line
//! every [`LOG_EVERY`] with the count of those in between (a full descriptor table fails
//! every accept). It is retried after a pause that doubles from 5 ms up to 1 s, and is
//! short again once an accept succeeds. A client that gave up before it was accepted is
//! no failure of the server's: it is passed over in silence. Other listeners keep
//! their own ways, as axum's `Listener` asks of them.
//!
//! A connection is named after its peer in logs and the report: `http connection from
//! 10.0.0.7:51234`. A Unix socket's peers have no address, so theirs is numbered and,
//! where the system tells, says the process: `http connection #3 from pid 4242`.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::report::log;

/// The first pause after a failed accept; it doubles with each failure in a row.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause after a failed accept.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// At most one line about failed accepts this often.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// A server's listener, with what it takes to accept and name connections.
pub(crate) struct Acceptor<L> {
    listener: L,
    server: &'static str,
    accepted: u64,
    failures: Failures,
}

impl<L> Acceptor<L>
where
    L: Listener,
    L::Addr: Debug + 'static,
{
    pub(crate) fn new(listener: L, server: &'static str) -> Self {
        Acceptor {
            listener,
            server,
            accepted: 0,
            failures: Failures::default(),
        }
    }

    /// The next connection, its peer, and its name.
    pub(crate) async fn accept(&mut self) -> (L::Io, L::Addr, Arc<str>) {
        let (io, peer) = self.accept_io().await;
        self.accepted += 1;
        let name = self.name(&io, &peer);
        (io, peer, name)
    }

    async fn accept_io(&mut self) -> (L::Io, L::Addr) {
        let server = self.server;
        let failures = &mut self.failures;
        let listener: &mut dyn Any = &mut self.listener;
        if let Some(tcp) = listener.downcast_ref::<TcpListener>() {
            return as_is(retried(move || tcp.accept(), failures, server).await);
        }
        #[cfg(unix)]
        if let Some(unix) = listener.downcast_ref::<tokio::net::UnixListener>() {
            return as_is(retried(move || unix.accept(), failures, server).await);
        }
        self.listener.accept().await
    }

    fn name(&self, io: &L::Io, peer: &L::Addr) -> Arc<str> {
        #[cfg(unix)]
        if let Some(peer) = (peer as &dyn Any).downcast_ref::<tokio::net::unix::SocketAddr>() {
            let from = match peer.as_pathname() {
                Some(path) => format!(" from {}", path.display()),
                None => (io as &dyn Any)
                    .downcast_ref::<tokio::net::UnixStream>()
                    .and_then(|stream| stream.peer_cred().ok()?.pid())
                    .map_or_else(String::new, |pid| format!(" from pid {pid}")),
            };
            return format!("{} connection #{}{from}", self.server, self.accepted).into();
        }
        #[cfg(not(unix))]
        let _ = io;
        format!("{} connection from {peer:?}", self.server).into()
    }
}

/// `value` as the type it is: the accept of a listener recognised by its type gives what
/// the listener's `Listener` implementation would.
fn as_is<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("a listener recognised by its type accepts what its Listener impl does")
}

/// Accepts with `accept` until it succeeds, saying and pausing after each failure.
async fn retried<T, F, A>(mut accept: F, failures: &mut Failures, server: &str) -> T
where
    F: FnMut() -> A,
    A: Future<Output = io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(accepted) => {
                failures.pause = Duration::ZERO;
                return accepted;
            }
            // The client gave up before it was accepted.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => tokio::time::sleep(failures.failed(server, &e)).await,
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The failed accepts of a listener: how long to pause, and what has been said.
#[derive(Default)]
struct Failures {
    /// The last pause; zero after an accept that succeeded.
    pause: Duration,
    /// When the last line was logged.
    logged_at: Option<Instant>,
    /// Failures since then.
    unlogged: u64,
}

impl Failures {
    /// An accept failed: says so unless it was said less than [`LOG_EVERY`] ago, and
    /// returns how long to pause before the next.
    fn failed(&mut self, server: &str, error: &io::Error) -> Duration {
        self.pause = (self.pause * 2).clamp(FIRST_PAUSE, LONGEST_PAUSE);
        let now = Instant::now();
        match self.logged_at {
            Some(at) if now < at + LOG_EVERY => self.unlogged += 1,
            _ => {
                log::accept_failed(server, error, self.unlogged, self.pause);
                self.logged_at = Some(now);
                self.unlogged = 0;
            }
        }
        self.pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_pause_longer_each_time_and_are_said_at_most_every_ten_seconds() {
        let mut failures = Failures::default();
        let full = io::Error::from_raw_os_error(24);
        let mut pauses = Vec::new();
        let mut said = Vec::new();
        let start = Instant::now();
        for _ in 0..20 {
            let pause = failures.failed("http", &full);
            if failures.unlogged == 0 {
                said.push(start.elapsed());
            }
            pauses.push(pause);
            tokio::time::sleep(pause).await;
        }
        let ms = |ms| Duration::from_millis(ms);
        assert_eq!(
            pauses[..9],
            [5, 10, 20, 40, 80, 160, 320, 640, 1000].map(ms)
        );
        assert!(pauses[9..].iter().all(|p| *p == LONGEST_PAUSE));
        // 20 failures over 13 s: said at the first, and once 10 s later.
        assert_eq!(said, [Duration::ZERO, ms(10_275)]);

        // An accept that succeeds: the next failure pauses briefly again.
        failures.pause = Duration::ZERO;
        assert_eq!(failures.failed("http", &full), FIRST_PAUSE);
    }

    #[test]
    fn a_listener_recognised_by_its_type_gives_the_same_value() {
        let value: (u8, &str) = as_is((7u8, "x"));
        assert_eq!(value, (7, "x"));
    }
}
