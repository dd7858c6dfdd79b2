//! An HTTP service that upgrades in place on `SIGHUP`, and that, as some C libraries do,
//! opens a descriptor without close-on-exec at each start (`/dev/null`, held for its
//! life), for the tests of what a new process inherits (`tests/upgrade.rs`).
//!
//! A plain `fn main` hands the body to `graceful::Main`, so that it can act before the
//! runtime reads what was handed over:
//!
//! - `FIXTURE_LISTEN`: the address of `graceful::listener("http", ..)` (default
//!   `127.0.0.1:0`);
//! - `FIXTURE_LATE_MS`: when an upgrade started this process, how long it waits before
//!   `run`, as a slow start does, so that a test can end the old process first.
//!
//! `GET /` answers with its process id. It prints `ready: listening on http://<address>`
//! once it has said `graceful::ready()`.
#![allow(unsafe_code)] // the `open` below, and nothing else

use std::time::Duration;

use axum::routing::get;
use axum::Router;

fn main() {
    if std::env::var_os("GRACEFUL_UPGRADE_FROM").is_some() {
        if let Some(ms) = std::env::var("FIXTURE_LATE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
        {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
    // SAFETY: `open` reads the C string it is given, a literal that lives for the call.
    let leaked = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(
        leaked >= 0,
        "open /dev/null: {}",
        std::io::Error::last_os_error()
    );
    graceful::Main::new()
        .deadline(Duration::from_secs(5))
        .drain_delay(Duration::from_millis(200))
        .upgrade(graceful::Signal::Hangup)
        .run(serve())
}

async fn serve() -> std::io::Result<()> {
    let app = Router::new().route(
        "/",
        get(|| async { format!("pid {}\n", std::process::id()) }),
    );
    let addr = std::env::var("FIXTURE_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = graceful::listener("http", addr.as_str())
        .await
        .inspect_err(|e| eprintln!("error: {e}"))?;
    let local = listener.local_addr()?;
    graceful::ready();
    println!("ready: listening on http://{local}");
    graceful::http::serve(listener, app).await;
    Ok(())
}
