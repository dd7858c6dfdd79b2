//! The service of the README, whole: an HTTP endpoint that takes jobs, workers that do
//! them, and the cleanup, stopped in order; upgraded in place on `SIGHUP`. Copy it to
//! start your own.
//!
//! ```text
//! cargo run --example service
//! curl -d 'a job' localhost:3000/jobs          # queued; a worker takes 3 s on it
//! kill -HUP $(pgrep -x service)                # the binary on disk takes over, no request lost
//! # then Ctrl-C, and watch the steps in order
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{extract::State, http::StatusCode, Router};
use tokio::sync::{mpsc, Mutex};

/// The jobs waiting for a worker (a broker's queue, in a real service).
type Queue = Arc<Mutex<mpsc::Receiver<String>>>;

#[graceful::main(deadline = "25s", drain_delay = "5s", upgrade)]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init(); // graceful's lines go through it too
    let (submit, queue) = mpsc::channel::<String>(1000);
    let queue: Queue = Arc::new(Mutex::new(queue));
    graceful::provide(queue.clone()); // for the hook below
    for id in 0..4 {
        graceful::spawn_named(format!("worker-{id}"), work(queue.clone()));
    }
    let app = Router::new()
        .route("/jobs", post(enqueue))
        .route("/readyz", get(graceful::http::readiness)) // 503 from the signal on
        .with_state(submit);
    // The socket systemd passed, or the previous process handed over; else bound here.
    let listener = graceful::listener("http", "127.0.0.1:3000").await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Tells systemd, or the process this one replaces, that it serves from now on.
    graceful::ready();
    // Serves through the drain delay, then stops accepting; returns once all is answered.
    graceful::http::serve(listener, app).await;
    Ok(())
}

async fn enqueue(State(submit): State<mpsc::Sender<String>>, job: String) -> StatusCode {
    match submit.send(job).await {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Takes jobs until the shutdown; finishes the one it holds, or hands it back.
async fn work(queue: Queue) {
    let next = || async { queue.lock().await.recv().await };
    while let Some(Some(job)) = graceful::until_shutdown(next()).await {
        match graceful::until_hard_stop(tokio::time::sleep(Duration::from_secs(3))).await {
            Some(()) => tracing::info!("done: {job}"),
            None => tracing::warn!("handed back: {job}"), // requeue it on the broker
        }
    }
}

/// After the workers (`graceful::tasks` runs at order 0): what nobody took.
#[graceful::teardown(order = 10, timeout = "5s")]
async fn count_jobs_left(queue: graceful::State<Queue>) {
    let left = queue.lock().await.len();
    tracing::info!("{left} jobs left for the next instance");
}

/// Last, even past the deadline.
#[graceful::teardown(order = 20, always)]
fn remove_scratch_files() -> std::io::Result<()> {
    match std::fs::remove_dir_all(std::env::temp_dir().join("my-service")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
