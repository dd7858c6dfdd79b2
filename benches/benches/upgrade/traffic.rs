//! HTTP load that records every request: when it was sent, how long it took, and which
//! process answered it, or how it failed.
//!
//! Some clients open a connection per request, others keep one alive; each sends a
//! request, reads the answer, and waits [`PACE`] before the next, as a busy but not
//! saturated service sees its clients. The requests and the retry are those of the
//! process tests' load ([`graceful_process_tests::upgrade`]): a kept-alive connection that
//! the server closed between two requests is retried once on a new connection, as clients
//! do, and counts as failed only if the retry fails. Refused, reset, cut short or not
//! `200`: failed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use graceful_process_tests::http::{self, KeptAlive};
use graceful_process_tests::upgrade::kept_alive_get;

/// The pause of a client between the answer and its next request.
pub(crate) const PACE: Duration = Duration::from_millis(2);

/// One request of the load.
#[derive(Debug)]
pub(crate) struct Request {
    /// When it was sent (its connection opened, for a new one).
    pub(crate) sent: Instant,
    /// From then to the answer's end (and the server's close, for a new connection).
    pub(crate) took: Duration,
    /// The id of the process that answered, or what went wrong.
    pub(crate) outcome: Result<u32, String>,
}

impl Request {
    /// When the answer was in.
    pub(crate) fn done(&self) -> Instant {
        self.sent + self.took
    }
}

/// The load under way.
pub(crate) struct Traffic {
    stop: Arc<AtomicBool>,
    clients: Vec<thread::JoinHandle<Vec<Request>>>,
}

impl Traffic {
    /// Starts `fresh` clients with a connection per request and `kept` with one kept alive.
    pub(crate) fn start(addr: SocketAddr, fresh: usize, kept: usize) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..fresh + kept)
            .map(|i| {
                let stop = stop.clone();
                let keep_alive = i >= fresh;
                thread::spawn(move || {
                    let mut connection: Option<KeptAlive> = None;
                    let mut requests = Vec::with_capacity(1 << 16);
                    while !stop.load(Ordering::Relaxed) {
                        let sent = Instant::now();
                        let answer = if keep_alive {
                            kept_alive_get(addr, &mut connection)
                        } else {
                            http::get(addr, "/").map_err(|e| format!("new connection: {e}"))
                        };
                        let took = sent.elapsed();
                        let outcome = answer.and_then(|response| {
                            let pid = response
                                .body
                                .trim()
                                .strip_prefix("pid ")
                                .and_then(|pid| pid.parse().ok());
                            match pid {
                                Some(pid) if response.status == 200 => Ok(pid),
                                _ => {
                                    Err(format!("status {}: {:?}", response.status, response.body))
                                }
                            }
                        });
                        requests.push(Request {
                            sent,
                            took,
                            outcome,
                        });
                        thread::sleep(PACE);
                    }
                    requests
                })
            })
            .collect();
        Traffic { stop, clients }
    }

    /// Stops the clients; every request they made, in the order they were sent.
    pub(crate) fn stop(self) -> Vec<Request> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for client in self.clients {
            match client.join() {
                Ok(requests) => all.extend(requests),
                Err(_) => graceful_benches::fail("a load client panicked"),
            }
        }
        all.sort_by_key(|r| r.sent);
        all
    }
}
