//! **An audit log that cleans up after itself: teardown hooks that live in a library.**
//!
//! A service that depends on this crate gets its hooks only if the crate is linked into the
//! binary; the binary says so with `graceful::link!(hooks_lib);`. Its `Cargo.toml` renames
//! the runtime to `shutdown`, so the attributes name it with `crate = "shutdown"`.
//!
//! Each hook prints one line, `hooks_lib <what it did>`, for the tests to read.

#![deny(warnings, clippy::pedantic)]

#[shutdown::teardown(order = 15, crate = "shutdown")]
async fn flush(ctx: shutdown::Context) {
    println!(
        "hooks_lib flushed the audit log (trigger: {})",
        ctx.trigger()
    );
}

/// Hooks in a module of the library register as well.
pub mod storage {
    #[shutdown::teardown(order = 25, name = "audit storage", always, crate = "shutdown")]
    fn close() -> std::io::Result<()> {
        use std::io::Write;
        writeln!(std::io::stdout(), "hooks_lib closed the storage")
    }
}
