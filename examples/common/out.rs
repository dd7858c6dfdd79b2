//! Printing that cannot fail the program, shared by the examples.
//!
//! `println!` panics when stdout is gone: `cargo run --example queue_worker | tee log`,
//! then Ctrl-C, which ends `tee` too, and every line printed during the shutdown panics
//! with "failed printing to stdout: Broken pipe". In a teardown hook that panic fails the
//! hook (the consumer is never unplugged); in a worker it kills the worker. These macros
//! write the line in one call and drop it when the output is closed: the output is for
//! people, and its loss must not change what the program does.

use std::fmt::Arguments;
use std::io::Write;

/// `println!` that loses the line, not the program, when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(&mut ::std::io::stdout().lock(), ::std::format_args!($($arg)*))
    };
}

/// `eprintln!` that loses the line, not the program, when stderr is closed.
#[allow(unused_macros)] // Not every example writes to stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::line(&mut ::std::io::stderr().lock(), ::std::format_args!($($arg)*))
    };
}

/// Writes `args` and a line end to `out` in one write; an error (a closed pipe) is
/// ignored.
pub(crate) fn line(out: &mut impl Write, args: Arguments<'_>) {
    let mut text = args.to_string();
    text.push('\n');
    let _ = out.write_all(text.as_bytes());
}
