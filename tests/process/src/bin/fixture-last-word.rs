//! A service whose log lines are buffered, as a telemetry pipeline's are: what reaches the
//! output depends on the buffer being flushed before the process exits.
//!
//! - `FIXTURE_LOG=buffered` (default): a tracing subscriber writes into a buffer in
//!   memory; an `at_exit` function writes the buffer to stdout, through the runtime.
//! - `FIXTURE_LOG=appender`: `tracing-appender`'s non-blocking writer, to the file
//!   `FIXTURE_LOG_FILE`, each write slowed down as on a busy disk; its guard is handed to
//!   `graceful::drop_at_exit`.
//! - `FIXTURE_AT_EXIT=hang`: one more `at_exit` function prints `at-exit work started`
//!   and never returns; `panic`: one more panics.
//! - `FIXTURE_HOOK=hang`: its hook never returns, so the shutdown uses all its time.
//!
//! It prints `ready` (straight to stdout) once it is.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Appends to [`BUFFER`]: nothing leaves the process until the buffer is flushed.
struct Buffered;

impl Write for Buffered {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BUFFER.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to a file, 20 ms a write: the non-blocking writer's queue fills up behind it.
struct SlowFile(std::fs::File);

impl Write for SlowFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(20));
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn mode(var: &str) -> String {
    std::env::var(var).unwrap_or_default()
}

#[graceful::teardown(order = 10)]
async fn close_connections() {
    tracing::info!("connections closed");
    if mode("FIXTURE_HOOK") == "hang" {
        std::future::pending::<()>().await;
    }
}

fn main() {
    match mode("FIXTURE_LOG").as_str() {
        "appender" => {
            let path = mode("FIXTURE_LOG_FILE");
            let file = std::fs::File::create(&path).expect("the log file");
            let (writer, guard) = tracing_appender::non_blocking(SlowFile(file));
            tracing_subscriber::fmt()
                .with_writer(writer)
                .with_ansi(false)
                .init();
            graceful::drop_at_exit(guard);
        }
        _ => {
            tracing_subscriber::fmt()
                .with_writer(|| Buffered)
                .with_ansi(false)
                .init();
            graceful::at_exit(|| {
                // In the runtime's context, on a thread that may block: a flush that
                // needs the runtime's workers gets them.
                tokio::runtime::Handle::current()
                    .block_on(tokio::time::sleep(Duration::from_millis(10)));
                let buffered = std::mem::take(&mut *BUFFER.lock().unwrap());
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&buffered);
                let _ = stdout.flush();
            });
        }
    }
    match mode("FIXTURE_AT_EXIT").as_str() {
        "hang" => graceful::at_exit(|| {
            println!("at-exit work started");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }),
        "panic" => graceful::at_exit(|| panic!("the exporter is gone")),
        _ => {}
    }
    graceful::Main::new()
        .deadline(Duration::from_secs(2))
        .run(async {
            tracing::info!("serving");
            println!("ready");
            graceful::shutdown_requested().await;
        })
}
