//! A gRPC server that stops the way a shutdown needs (cargo feature `tonic`), and the
//! standard health service, which says `NOT_SERVING` from the first signal on.
//!
//! [`serve`] runs tonic services (a [`Routes`]) on a listener over HTTP/2 with the
//! guarantees of [`http::serve`](crate::http::serve): it serves through the drain
//! delay; at [`shutdown_requested`](crate::shutdown_requested) it stops accepting and
//! sends `GOAWAY`; calls under way are answered; streams still open at the
//! [`hard_stop`](crate::hard_stop) are ended, so the process exits on time (a server
//! stream stops, a client stream's next read fails, and its handler answers); a client
//! that never gets through its opening within the header-read timeout, or that went
//! silent at the shutdown, is closed; a handler that panics is answered with HTTP status
//! `500`, which the client sees as an error of that call, and the server goes on; each
//! connection is a tracked task, named in the report if the deadline cuts it.
//!
//! [`health`] gives the `grpc.health.v1.Health` service (tonic-health's) and a
//! [`Health`] handle to set each service's status: from the first signal on, every
//! status is `NOT_SERVING` (and stays so), so that a load balancer or Kubernetes' gRPC
//! probe moves traffic away during the drain delay.
//!
//! tonic needs Rust 1.88: so does this feature.

use std::collections::BTreeSet;
use std::sync::Arc;

use tonic::server::NamedService;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};
use tonic_health::ServingStatus;

use crate::controller::{self, Controller};
use crate::serve::http::{self, Serve};

/// Serves the gRPC services of `routes` on `listener` until the shutdown, and completes
/// once every call under way has been answered. HTTP/2 only (gRPC's prior knowledge);
/// the returned [`Serve`] takes the options of [`http::serve`] (HTTP/2 keep-alive, the
/// most streams per connection); `.await` it to serve.
///
/// ```no_run
/// #[graceful::main(drain_delay = "5s")]
/// async fn main() -> std::io::Result<()> {
///     let (health, health_service) = graceful::grpc::health();
///     // and for each service of the program: health.set_serving::<JobsServer<Jobs>>().await;
///     let routes = tonic::service::Routes::new(health_service); // .add_service(JobsServer::new(Jobs))
///     let listener = graceful::listener("grpc", "0.0.0.0:50051").await?;
///     graceful::grpc::serve(listener, routes).await;
///     Ok(())
/// }
/// ```
pub fn serve<L>(listener: L, routes: Routes) -> Serve<L, Routes> {
    http::serve(listener, routes).http2_only().name("grpc")
}

/// The standard health service (`grpc.health.v1.Health`), to add to the [`Routes`], and
/// the handle that sets the statuses it reports. The server as a whole (the service
/// name `""`) is `SERVING` until the first signal; from then on every status is
/// `NOT_SERVING`, whatever is set later.
///
/// # Panics
///
/// Outside a tokio runtime: a task of it turns the statuses at the first signal.
pub fn health() -> (Health, HealthServer<HealthService>) {
    let reporter = HealthReporter::new();
    let service = HealthServer::new(HealthService::from_health_reporter(reporter.clone()));
    let health = Health {
        inner: Arc::new(Inner {
            reporter,
            names: tokio::sync::Mutex::new(BTreeSet::from([String::new()])),
            ctl: controller::current(),
        }),
    };
    let turn = health.clone();
    tokio::spawn(async move {
        turn.inner.ctl.initiated.wait().await;
        let names = turn.inner.names.lock().await;
        for name in names.iter() {
            turn.inner
                .reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    });
    (health, service)
}

/// Sets the statuses the health service of [`health`] reports; cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    reporter: HealthReporter,
    /// Every service name given a status: all turn `NOT_SERVING` at the first signal.
    /// Held while a status is set, so that a status set as the signal comes cannot
    /// undo the turn.
    names: tokio::sync::Mutex<BTreeSet<String>>,
    ctl: &'static Controller,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

impl Health {
    /// The service `S` is serving (until the first signal).
    pub async fn set_serving<S: NamedService>(&self) {
        self.set_service_status(S::NAME, ServingStatus::Serving)
            .await;
    }

    /// The service `S` is not serving.
    pub async fn set_not_serving<S: NamedService>(&self) {
        self.set_service_status(S::NAME, ServingStatus::NotServing)
            .await;
    }

    /// The service named `name` (`""` for the server as a whole) has `status`; from the
    /// first signal on, `NOT_SERVING` whatever `status` says.
    pub async fn set_service_status(&self, name: impl Into<String>, status: ServingStatus) {
        let name = name.into();
        let mut names = self.inner.names.lock().await;
        let status = if self.inner.ctl.is_shutting_down() {
            ServingStatus::NotServing
        } else {
            status
        };
        self.inner.reporter.set_service_status(&name, status).await;
        names.insert(name);
    }
}
