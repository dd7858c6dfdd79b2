//! A service configured from code: a plain `fn main` reads its command line and hands the
//! values to `graceful::Main`, as a service with its own flags does.
//!
//! - `--deadline-ms N`: the shutdown deadline, in milliseconds (default 30 s).
//! - `--workers-on-one-thread`: asks for 2 worker threads on the current-thread runtime,
//!   which `run` refuses.
//! - `--inside-tokio`: calls `run` from inside a tokio runtime, which it refuses.
//! - `--ready-before-run`: says `graceful::ready()` in `fn main`, before `run`, and not
//!   again.
//!
//! Its one hook never returns, so the deadline decides when it exits. It prints `ready`
//! from the body.

use std::time::Duration;

use graceful::{Flavor, Signal};

#[graceful::teardown(order = 10)]
async fn never_returns() {
    println!("hook never_returns started");
    std::future::pending::<()>().await;
}

async fn serve() {
    println!("ready");
    graceful::shutdown_requested().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let mut main = graceful::Main::new().signals([Signal::Terminate, Signal::Interrupt]);
    if let Some(i) = args.iter().position(|a| a == "--deadline-ms") {
        let ms: u64 = args[i + 1]
            .parse()
            .expect("--deadline-ms takes milliseconds");
        main = main.deadline(Duration::from_millis(ms));
    }
    if has("--ready-before-run") {
        graceful::ready();
    }
    if has("--workers-on-one-thread") {
        main = main.flavor(Flavor::CurrentThread).worker_threads(2);
    }
    if has("--inside-tokio") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async move { main.run(serve()) })
    } else {
        main.run(serve())
    }
}
