//! The health and metrics endpoint that an orchestrator or a load balancer polls.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio::task::JoinHandle;

use crate::queue::Census;
use crate::work::Stats;

/// How long a client may take to send a request head. Probes and scrapers send theirs
/// at once; a connection that stalls is closed before the endpoint's step times out.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// The running endpoint, for the teardown hook that waits for it to close.
pub(crate) struct Health {
    pub(crate) addr: SocketAddr,
    server: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Clone)]
struct Shared {
    census: Option<Arc<dyn Census>>,
    stats: Arc<Stats>,
}

/// Binds `addr` and serves `/healthz` (graceful's readiness: 503 from the first signal
/// on, so that the load balancer moves traffic away while the instance still works) and
/// `/metrics` until the shutdown starts.
pub(crate) async fn serve(
    addr: SocketAddr,
    census: Option<Arc<dyn Census>>,
    stats: Arc<Stats>,
) -> std::io::Result<Health> {
    let listener = graceful::listener("health", addr).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(graceful::http::readiness))
        .route("/metrics", get(metrics))
        .with_state(Shared { census, stats });
    // Serves through the drain delay, when /healthz already says 503, then stops
    // accepting and finishes the requests it has.
    let server = tokio::spawn(
        graceful::http::serve(listener, app)
            .header_read_timeout(HEADER_TIMEOUT)
            .into_future(),
    );
    Ok(Health {
        addr,
        server: Mutex::new(Some(server)),
    })
}

impl Health {
    /// Waits until the endpoint has stopped (it stops by itself at the shutdown).
    pub(crate) async fn stopped(&self) -> Result<(), String> {
        let server = self.server.lock().unwrap().take();
        match server {
            Some(server) => server
                .await
                .map_err(|e| format!("the health endpoint's task ended badly: {e}")),
            None => Ok(()),
        }
    }
}

/// The queue's counts (where it can tell them) and this instance's, in Prometheus' text
/// format.
async fn metrics(State(shared): State<Shared>) -> (StatusCode, String) {
    let mut body = String::new();
    if let Some(census) = &shared.census {
        let counts = match census.counts() {
            Ok(counts) => counts,
            Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}\n")),
        };
        body = format!(
            "queue_messages{{state=\"pending\"}} {}\n\
             queue_messages{{state=\"in_progress\"}} {}\n\
             queue_messages{{state=\"done\"}} {}\n",
            counts.pending, counts.in_flight, counts.done,
        );
    }
    let stats = &shared.stats;
    body.push_str(&format!(
        "worker_in_flight {}\n\
         worker_done_total {}\n\
         shutting_down {}\n",
        stats.in_flight.load(Ordering::Relaxed),
        stats.done.load(Ordering::Relaxed),
        u8::from(graceful::is_shutting_down()),
    ));
    (StatusCode::OK, body)
}
