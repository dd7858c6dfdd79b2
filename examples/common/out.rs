//! Printing that cannot fail or stall the program, shared by the examples.
//!
//! `println!` panics when stdout is gone: `cargo run --example queue_worker | tee log`,
//! then Ctrl-C, which ends `tee` too, and every line printed during the shutdown panics
//! with "failed printing to stdout: Broken pipe". In a teardown hook that panic fails the
//! hook (the consumer is never unplugged); in a worker it kills the worker. And when
//! stdout is not read (`| less` left unscrolled, a terminal paused with Ctrl-S), the pipe
//! fills and `println!` blocks: every worker and hook that prints waits with it, and the
//! shutdown runs into its deadline.
//!
//! So these macros hand the line to a thread of its own that writes it, through a queue
//! of bounded length: a closed output loses the line, a stalled one loses the lines that
//! do not fit, and neither changes what the program does. What is still queued at the end
//! is written in the program's last word ([`graceful::at_exit`]), within the time the
//! shutdown leaves it.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::OnceLock;
use std::time::Duration;

/// `println!` that loses the line, not the program, when stdout is closed or stalled.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line($crate::out::Stream::Out, ::std::format_args!($($arg)*))
    };
}

/// `eprintln!` that loses the line, not the program, when stderr is closed or stalled.
#[allow(unused_macros)] // Not every example writes to stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::line($crate::out::Stream::Err, ::std::format_args!($($arg)*))
    };
}

/// Where a line goes.
#[derive(Clone, Copy)]
#[allow(dead_code)] // Not every example writes to stderr.
pub(crate) enum Stream {
    Out,
    Err,
}

/// Lines waiting to be written, at most: a few seconds of what the examples print.
const QUEUED: usize = 256;

enum Message {
    Line(String),
    /// Answered once every line before it is written.
    Flush(SyncSender<()>),
}

/// Queues `args` and a line end for `stream`'s writer; drops the line when the queue is
/// full or the writer is gone.
pub(crate) fn line(stream: Stream, args: Arguments<'_>) {
    let mut text = args.to_string();
    text.push('\n');
    // Full or gone: the line is lost, and nothing waits.
    let _ = writer(stream).try_send(Message::Line(text));
}

fn writer(stream: Stream) -> &'static SyncSender<Message> {
    static OUT: OnceLock<SyncSender<Message>> = OnceLock::new();
    static ERR: OnceLock<SyncSender<Message>> = OnceLock::new();
    let (cell, name) = match stream {
        Stream::Out => (&OUT, "stdout-writer"),
        Stream::Err => (&ERR, "stderr-writer"),
    };
    cell.get_or_init(|| {
        let (sender, queue) = mpsc::sync_channel(QUEUED);
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || write_all(stream, queue));
        if spawned.is_ok() {
            // What is still queued when the program ends is written before it exits.
            let flusher = sender.clone();
            graceful::at_exit(move || flush(&flusher));
        }
        sender
    })
}

/// The writer's thread: each line in one write, errors ignored.
fn write_all(stream: Stream, queue: Receiver<Message>) {
    for message in queue {
        match message {
            Message::Line(text) => {
                let _ = match stream {
                    Stream::Out => std::io::stdout().lock().write_all(text.as_bytes()),
                    Stream::Err => std::io::stderr().lock().write_all(text.as_bytes()),
                };
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Waits until the lines queued so far are written. Blocks while the output is stalled:
/// graceful's last word bounds it.
fn flush(writer: &SyncSender<Message>) {
    let (done, written) = mpsc::sync_channel(1);
    if writer.send(Message::Flush(done)).is_ok() {
        // Bounded anyway, should it be called where nothing bounds it.
        let _ = written.recv_timeout(Duration::from_secs(5));
    }
}
