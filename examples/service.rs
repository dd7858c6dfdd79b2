//! The service of the README's "In a service", whole: an HTTP endpoint that takes jobs,
//! workers that do them, and the cleanup, stopped in order. Copy it to start your own.
//!
//! ```text
//! cargo run --example service
//! curl -d 'a job' localhost:3000/jobs          # queued; a worker takes 3 s on it
//! # then Ctrl-C, and watch the steps in order
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, Mutex};

/// The jobs waiting for a worker (a broker's queue, in a real service).
type Queue = Arc<Mutex<mpsc::Receiver<String>>>;

#[graceful::main(deadline = "25s", drain_delay = "5s")]
async fn main() -> anyhow::Result<()> {
    // graceful's lines go through it too; it loses a line, never the program, when the
    // output is closed.
    tracing_subscriber::fmt().init();
    let (submit, queue) = mpsc::channel::<String>(1000);
    let queue: Queue = Arc::new(Mutex::new(queue));
    graceful::provide(queue.clone());
    for id in 0..4 {
        graceful::spawn_named(format!("worker-{id}"), work(queue.clone()));
    }
    let app = Router::new()
        .route("/jobs", post(enqueue))
        .route("/readyz", get(graceful::http::readiness))
        .with_state(submit);
    // systemd's socket named `http` when socket-activated; else bound here.
    let listener = graceful::listener("http", "127.0.0.1:3000").await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Serves through the drain delay (`/readyz` says 503 from the signal on), then stops
    // accepting, and returns once every request under way has been answered.
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
