//! The last word in a test harness: the `at_exit` work runs as in a process, off the
//! runtime's threads, in its context.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graceful::testing::Harness;

#[tokio::test(start_paused = true)]
async fn at_exit_work_may_block_on_the_runtime_in_a_harness_too() {
    let flushed = Arc::new(AtomicBool::new(false));
    let seen = flushed.clone();
    let report = Harness::new()
        .without_registered_hooks()
        .run(async move {
            // The OpenTelemetry recipe: a blocking flush that needs the runtime's tasks.
            graceful::at_exit(move || {
                let handle = tokio::runtime::Handle::current();
                let flush = handle.spawn(async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                });
                handle.block_on(flush).unwrap();
                seen.store(true, Ordering::SeqCst);
            });
        })
        .await;
    assert_eq!(report.exit_code(), 0);
    assert!(
        flushed.load(Ordering::SeqCst),
        "the at-exit work did not run"
    );
}
