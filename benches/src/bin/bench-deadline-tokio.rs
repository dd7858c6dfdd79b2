//! The same stuck service written by hand on tokio, in the two ways a careful engineer
//! would write it. Arguments: the deadline in milliseconds, then `exit` for the second.
//!
//! - As it reads naturally: the cleanup under `tokio::time::timeout(deadline, ..)`, then
//!   `main` returns. The timeout fires, but dropping the runtime waits for the blocking
//!   thread, which never returns: the process hangs until it is killed.
//! - With the extra code that needs: `std::process::exit` once the timeout has fired
//!   (exit code 124, as a timeout reports), which does not wait for the runtime.

use graceful_benches::service;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let deadline = service::deadline_arg();
    let exit_at_deadline = std::env::args().nth(2).as_deref() == Some("exit");
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut signals = service::StopSignals::install()?;
    service::block_a_thread_forever();
    println!("ready");
    signals.first().await;
    token.cancel();
    let cleanup = async {
        tracker.close();
        tracker.wait().await;
        service::flush_that_never_returns().await;
    };
    if tokio::time::timeout(deadline, cleanup).await.is_err() {
        eprintln!("shutdown: the cleanup did not finish within {deadline:?}");
        if exit_at_deadline {
            // The extra code: without it, returning drops the runtime, which waits for
            // the blocking thread forever.
            std::process::exit(124);
        }
    }
    Ok(())
}
