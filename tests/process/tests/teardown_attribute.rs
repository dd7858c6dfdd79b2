//! `#[graceful::teardown]` hooks registered at link time, run in-process by
//! `graceful::testing` on tokio's paused clock: every argument and parameter form.

use std::sync::Mutex;
use std::time::Duration;

use graceful::testing::Harness;
use graceful::{Context, Exit, Outcome, State, Trigger, TASKS_STEP};

/// What the hooks saw, in the order they ran.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen(line: String) {
    SEEN.lock().unwrap().push(line);
}

struct Db {
    url: &'static str,
}

struct Cache(u32);

#[graceful::teardown(order = -5)]
async fn no_parameters() {
    seen("no_parameters".into());
}

#[graceful::teardown(order = 10, name = "database")]
async fn context_then_state(ctx: Context, db: State<Db>) -> Result<(), std::io::Error> {
    seen(format!(
        "database {} {} {}",
        ctx.hook_name(),
        ctx.order(),
        db.url
    ));
    Ok(())
}

#[graceful::teardown(order = 10)]
fn state_then_context_sync(cache: State<Cache>, _: Context) {
    seen(format!("sync cache {}", cache.0));
}

#[graceful::teardown(order = 20, timeout = "1500ms")]
async fn too_slow(ctx: Context) {
    seen(format!("too_slow has {:?}", ctx.time_left()));
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[graceful::teardown(order = 30, always, timeout = "250ms")]
fn always_last(ctx: Context) -> Result<(), String> {
    seen(format!("always_last trigger={}", ctx.trigger()));
    Err("could not flush".into())
}

#[tokio::test(start_paused = true)]
async fn registered_hooks_run_with_their_arguments_and_parameters() {
    let report = Harness::new()
        .deadline(Duration::from_secs(20))
        .run(async {
            graceful::provide(Db {
                url: "sqlite://queue.db",
            });
            graceful::provide(Cache(7));
        })
        .await;

    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen[0], "no_parameters");
    let mut group: Vec<&str> = seen[1..3].iter().map(String::as_str).collect();
    group.sort_unstable();
    assert_eq!(
        group,
        ["database database 10 sqlite://queue.db", "sync cache 7"]
    );
    assert_eq!(seen[3], "too_slow has 1.5s");
    assert_eq!(seen[4], "always_last trigger=main returned");

    let names: Vec<&str> = report.hooks().iter().map(|h| h.name()).collect();
    assert_eq!(
        names,
        [
            "teardown_attribute::no_parameters",
            TASKS_STEP,
            "database",
            "teardown_attribute::state_then_context_sync",
            "teardown_attribute::too_slow",
            "teardown_attribute::always_last",
        ]
    );
    let too_slow = report.hook("teardown_attribute::too_slow").unwrap();
    assert_eq!(
        too_slow.outcome(),
        &Outcome::TimedOut {
            after: Duration::from_millis(1500),
            by_deadline: false
        }
    );
    let always_last = report.hook("teardown_attribute::always_last").unwrap();
    assert!(always_last.always());
    assert_eq!(always_last.order(), 30);
    assert_eq!(
        always_last.outcome(),
        &Outcome::Failed("could not flush".into())
    );
    assert_eq!(report.trigger(), &Trigger::BodyReturned);
    assert_eq!(report.exit(), Exit::Failed);
}
