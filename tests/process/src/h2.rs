//! A raw HTTP/2 client over a plain TCP socket, frame by frame: enough to open a
//! connection (or only begin to), send a request whose body never ends, answer the
//! server's pings like a live client or go silent like a vanished one, and see what the
//! server sends back. (Real clients hide exactly what these tests need to control.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::PATIENCE;

/// What a client sends first.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 1;
const END_HEADERS: u8 = 4;
const ACK: u8 = 1;

/// How the client behaves once connected.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// It acknowledges the server's settings and answers its pings.
    Live,
    /// It reads what comes and answers nothing, as a client whose host vanished.
    Silent,
}

/// What the server sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The head of the answer on a stream.
    Status {
        /// The stream.
        stream: u32,
        /// Its status (0 when it is not in HPACK's static table).
        status: u16,
    },
    /// `GOAWAY`: no new streams.
    GoAway,
    /// `RST_STREAM`: the stream was ended.
    Reset {
        /// The stream.
        stream: u32,
    },
    /// The server closed the connection.
    Closed,
}

/// One HTTP/2 connection.
pub struct H2 {
    writer: Arc<Mutex<TcpStream>>,
    events: Receiver<Event>,
}

/// A frame: its header, then the payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

impl H2 {
    /// Connects and opens: the preface and empty SETTINGS.
    pub fn open(addr: SocketAddr, peer: Peer) -> io::Result<H2> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.write_all(PREFACE)?;
        stream.write_all(&frame(SETTINGS, 0, 0, &[]))?;
        let reader = stream.try_clone()?;
        let writer = Arc::new(Mutex::new(stream));
        let (tx, events) = channel();
        let answers = writer.clone();
        thread::spawn(move || {
            let mut reader = reader;
            loop {
                let Ok((kind, flags, stream, payload)) = read_frame(&mut reader) else {
                    let _ = tx.send(Event::Closed);
                    return;
                };
                let reply = match kind {
                    SETTINGS if flags & ACK == 0 => Some(frame(SETTINGS, ACK, 0, &[])),
                    PING if flags & ACK == 0 => Some(frame(PING, ACK, 0, &payload)),
                    _ => None,
                };
                if let (Some(reply), Peer::Live) = (reply, peer) {
                    let _ = answers.lock().unwrap().write_all(&reply);
                }
                let event = match kind {
                    HEADERS => Some(Event::Status {
                        stream,
                        status: status(&payload),
                    }),
                    GOAWAY => Some(Event::GoAway),
                    RST_STREAM => Some(Event::Reset { stream }),
                    _ => None,
                };
                if let Some(event) = event {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(H2 { writer, events })
    }

    /// Sends the head of a request (`GET`, `POST`) on `stream`; `end`: it has no body.
    pub fn request(&self, stream: u32, method: &str, path: &str, end: bool) -> io::Result<()> {
        let mut block = vec![match method {
            "GET" => 0x82,
            "POST" => 0x83,
            other => panic!("no static index for {other}"),
        }];
        block.push(0x86); // :scheme http
        block.push(0x04); // :path, a literal
        block.push(path.len() as u8);
        block.extend_from_slice(path.as_bytes());
        block.extend_from_slice(&[0x01, 1, b'x']); // :authority x
        let flags = END_HEADERS | if end { END_STREAM } else { 0 };
        self.send(&frame(HEADERS, flags, stream, &block))
    }

    /// Sends a piece of a request body on `stream`; `end`: the last.
    pub fn data(&self, stream: u32, bytes: &[u8], end: bool) -> io::Result<()> {
        let flags = if end { END_STREAM } else { 0 };
        self.send(&frame(DATA, flags, stream, bytes))
    }

    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        self.writer.lock().unwrap().write_all(bytes)
    }

    /// The next thing the server sent that `wanted` accepts, within the tests' patience;
    /// `None` if the connection closed or nothing came.
    pub fn wait_for(&self, wanted: impl Fn(&Event) -> bool) -> Option<Event> {
        let until = Instant::now() + PATIENCE;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            match self.events.recv_timeout(left).ok()? {
                Event::Closed => return wanted(&Event::Closed).then_some(Event::Closed),
                event if wanted(&event) => return Some(event),
                _ => {}
            }
        }
    }

    /// The status of the answer on `stream`.
    pub fn status(&self, stream: u32) -> Option<u16> {
        match self.wait_for(|e| matches!(e, Event::Status { stream: s, .. } if *s == stream))? {
            Event::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}

fn read_frame(reader: &mut TcpStream) -> io::Result<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    reader.read_exact(&mut head)?;
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0; length];
    reader.read_exact(&mut payload)?;
    Ok((head[3], head[4], stream, payload))
}

/// The `:status` a header block starts with, when hyper encodes it from HPACK's static
/// table (as it does 200, 204, 206, 304, 400, 404 and 500).
fn status(block: &[u8]) -> u16 {
    match block.first() {
        Some(0x88) => 200,
        Some(0x89) => 204,
        Some(0x8a) => 206,
        Some(0x8b) => 304,
        Some(0x8c) => 400,
        Some(0x8d) => 404,
        Some(0x8e) => 500,
        _ => 0,
    }
}
