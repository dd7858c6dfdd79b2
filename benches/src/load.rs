//! A load generator for HTTP/1.1 services: connections kept alive, each on a thread of
//! its own sending `GET /` and reading the answer, one request at a time, as fast as the
//! server answers. Counts answers and records each one's latency.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What one load run measured.
pub struct Load {
    /// Answers per second over the measured time.
    pub per_second: f64,
    /// The 99th percentile of the answers' latencies, in seconds.
    pub p99: f64,
}

/// Loads `addr` with `connections` connections: `warm_up` first, unmeasured, then
/// `measure`. Every answer must be `200`; anything else stops the benchmark.
pub fn run(addr: SocketAddr, connections: usize, warm_up: Duration, measure: Duration) -> Load {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (measuring, stop) = (measuring.clone(), stop.clone());
            thread::spawn(move || -> io::Result<Vec<f64>> {
                let mut conn = Connection::open(addr)?;
                let mut latencies = Vec::with_capacity(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    conn.get()?;
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(sent.elapsed().as_secs_f64());
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    thread::sleep(warm_up);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    thread::sleep(measure);
    measuring.store(false, Ordering::Relaxed);
    let measured = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(latencies)) => all.extend(latencies),
            Ok(Err(e)) => crate::fail(&format!("a load connection failed: {e}")),
            Err(_) => crate::fail("a load thread panicked"),
        }
    }
    if all.is_empty() {
        crate::fail("no answer was measured");
    }
    all.sort_by(f64::total_cmp);
    let p99 = all[(all.len() * 99 / 100).min(all.len() - 1)];
    Load {
        per_second: all.len() as f64 / measured,
        p99,
    }
}

/// One kept-alive connection.
struct Connection {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    fn open(addr: SocketAddr) -> io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Connection {
            reader: BufReader::new(stream),
            request: format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(),
            body: Vec::new(),
        })
    }

    /// Sends the request and reads the whole answer, which must be `200`.
    fn get(&mut self) -> io::Result<()> {
        self.reader.get_mut().write_all(&self.request)?;
        let mut line = String::new();
        let mut length = 0;
        let mut first = true;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed mid-answer",
                ));
            }
            if first {
                if !line.starts_with("HTTP/1.1 200") {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, line.clone()));
                }
                first = false;
            } else if line == "\r\n" {
                break;
            } else if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)
    }
}
