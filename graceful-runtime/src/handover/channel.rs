//! The channel between the old process and the new one: the new one says it is ready on
//! it, and reads its end when the old one is gone.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The word the new process writes, followed by its id and a line end.
pub(crate) const READY: &str = "READY";

/// The line the old process writes at the handover: from then on the new process is the
/// service, and its stop is no rollback.
pub(crate) const HANDED_OVER: &str = "HANDED-OVER\n";

/// The longest line the channel carries: the ready line is under twenty bytes. A longer
/// one is an error, not memory spent on whatever the new process writes.
pub(crate) const LONGEST_LINE: usize = 256;

/// The lines the new process writes, as the old one reads them: each at most
/// [`LONGEST_LINE`] bytes.
pub(crate) struct Lines<R> {
    reader: R,
    line: Vec<u8>,
}

impl<R: tokio::io::AsyncBufRead + Unpin> Lines<R> {
    pub(crate) fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            line: Vec::new(),
        }
    }

    /// The next line, without its end; `None` at the end of the stream. Cancel-safe: what
    /// was read is kept for the next call. A line longer than [`LONGEST_LINE`] is an
    /// error (`InvalidData`) that says so.
    pub(crate) async fn next_line(&mut self) -> io::Result<Option<String>> {
        use tokio::io::AsyncBufReadExt;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                if self.line.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take()));
            }
            let (part, used, ended) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = LONGEST_LINE + 1 - self.line.len().min(LONGEST_LINE + 1);
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            self.reader.consume(used);
            if self.line.len() > LONGEST_LINE {
                self.line.clear();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line of more than {LONGEST_LINE} bytes"),
                ));
            }
            if ended {
                return Ok(Some(self.take()));
            }
        }
    }

    fn take(&mut self) -> String {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        line
    }
}

/// The new process's id in a line the old one read, if it is the ready line.
pub(crate) fn parse_ready(line: &str) -> Option<u32> {
    let rest = line.trim_end().strip_prefix(READY)?.strip_prefix(' ')?;
    rest.parse().ok()
}

/// The new process's end.
pub(super) struct Channel {
    stream: UnixStream,
    /// Set once the old process's end is closed: it has exited.
    closed: Arc<AtomicBool>,
    /// Set once the old process said it handed over.
    handed_over: Arc<AtomicBool>,
}

impl Channel {
    /// Takes the inherited end, and watches it, on a thread of its own, for the old
    /// process's exit.
    pub(super) fn new(fd: OwnedFd) -> io::Result<Channel> {
        let stream = UnixStream::from(fd);
        let mut watched = stream.try_clone()?;
        let closed = Arc::new(AtomicBool::new(false));
        let handed_over = Arc::new(AtomicBool::new(false));
        let (seen, told) = (closed.clone(), handed_over.clone());
        std::thread::Builder::new()
            .name("graceful-handover".into())
            .spawn(move || {
                // The old process writes one line, at the handover; the read ends with
                // its exit. What came before the line's end is kept, no more.
                let mut buf = [0u8; 64];
                let mut heard = Vec::new();
                while let Ok(n @ 1..) = watched.read(&mut buf) {
                    if told.load(Ordering::Relaxed) {
                        continue;
                    }
                    heard.extend_from_slice(&buf[..n]);
                    if heard
                        .windows(HANDED_OVER.len())
                        .any(|w| w == HANDED_OVER.as_bytes())
                    {
                        told.store(true, Ordering::Release);
                    } else if heard.len() > HANDED_OVER.len() {
                        heard.drain(..heard.len() - HANDED_OVER.len());
                    }
                }
                seen.store(true, Ordering::Release);
            })?;
        Ok(Channel {
            stream,
            closed,
            handed_over,
        })
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(super) fn was_handed_over(&self) -> bool {
        self.handed_over.load(Ordering::Acquire)
    }

    pub(super) fn say_ready(&self) -> io::Result<()> {
        let line = format!("{READY} {}\n", std::process::id());
        (&self.stream).write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn only_a_ready_line_with_an_id_is_one() {
        assert_eq!(parse_ready("READY 4242\n"), Some(4242));
        assert_eq!(parse_ready("READY 4242"), Some(4242));
        assert_eq!(parse_ready("READY"), None);
        assert_eq!(parse_ready("READY soon"), None);
        assert_eq!(parse_ready("READYX 1"), None);
        assert_eq!(parse_ready(""), None);
    }

    #[tokio::test]
    async fn lines_are_read_whole_and_a_long_one_is_an_error() {
        let long = "x".repeat(LONGEST_LINE + 1);
        let at_limit = "y".repeat(LONGEST_LINE);
        let input = format!("READY 7\n{at_limit}\n{long}{long}\nlast");
        let mut lines = Lines::new(tokio::io::BufReader::with_capacity(16, input.as_bytes()));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("READY 7"));
        assert_eq!(lines.next_line().await.unwrap(), Some(at_limit));
        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "a line of more than 256 bytes");
    }

    #[test]
    fn the_new_end_says_ready_and_sees_the_old_end_close() {
        let (old, new) = UnixStream::pair().unwrap();
        let channel = Channel::new(OwnedFd::from(new)).unwrap();
        channel.say_ready().unwrap();
        let mut line = String::new();
        io::BufReader::new(&old).read_line(&mut line).unwrap();
        assert_eq!(parse_ready(&line), Some(std::process::id()));
        assert!(!channel.is_closed());
        assert!(!channel.was_handed_over());
        (&old).write_all(HANDED_OVER.as_bytes()).unwrap();
        let waited = std::time::Instant::now();
        while !channel.was_handed_over() {
            assert!(waited.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(old);
        let waited = std::time::Instant::now();
        while !channel.is_closed() {
            assert!(waited.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
