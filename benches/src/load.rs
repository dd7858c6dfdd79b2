//! A load generator for HTTP/1.1 services: clients, each on a thread of its own sending
//! `GET /` and reading the answer, one request at a time, as fast as the server answers,
//! on a connection kept alive ([`Clients::KeptAlive`]) or on a new connection for each
//! request ([`Clients::Churn`]). Counts answers, records each one's latency, and how
//! much CPU time the server spent on each answer: a figure that other work on the
//! machine, the load's own included, disturbs far less than the rate of answers does.

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
    /// The server's CPU time (user and system, every thread) per answer, in seconds.
    pub cpu_per_answer: f64,
}

/// How the clients of a load connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    /// Each keeps one connection alive for all its requests: what a request costs.
    KeptAlive,
    /// Each opens a new connection for each request (`Connection: close`), and reads it
    /// to the server's close: what a connection costs. Its latency counts from the
    /// connect to the answer's last byte.
    Churn,
}

/// Loads `addr` with `clients` clients: `warm_up` first, unmeasured, then `measure`.
/// `server_cpu` reads the server's CPU time so far. Every answer must be `200`; anything
/// else stops the benchmark.
pub fn run(
    addr: SocketAddr,
    how: Clients,
    clients: usize,
    (warm_up, measure): (Duration, Duration),
    server_cpu: impl Fn() -> Duration,
) -> Load {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (measuring, stop) = (measuring.clone(), stop.clone());
            thread::spawn(move || -> io::Result<Vec<f64>> {
                let mut kept = match how {
                    Clients::KeptAlive => Some(Connection::open(addr, how)?),
                    Clients::Churn => None,
                };
                let mut latencies = Vec::with_capacity(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    match &mut kept {
                        Some(conn) => conn.get()?,
                        None => {
                            let mut conn = Connection::open(addr, how)?;
                            conn.get()?;
                            let took = sent.elapsed();
                            conn.closed_by_server()?;
                            if measuring.load(Ordering::Relaxed) {
                                latencies.push(took.as_secs_f64());
                            }
                            continue;
                        }
                    }
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
    let cpu_before = server_cpu();
    let started = Instant::now();
    thread::sleep(measure);
    measuring.store(false, Ordering::Relaxed);
    let measured = started.elapsed().as_secs_f64();
    let cpu = server_cpu().saturating_sub(cpu_before);
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
        cpu_per_answer: cpu.as_secs_f64() / all.len() as f64,
    }
}

/// One connection: kept alive, or for one request.
struct Connection {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    fn open(addr: SocketAddr, how: Clients) -> io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let close = match how {
            Clients::KeptAlive => "",
            Clients::Churn => "Connection: close\r\n",
        };
        Ok(Connection {
            reader: BufReader::new(stream),
            request: format!("GET / HTTP/1.1\r\nHost: {addr}\r\n{close}\r\n").into_bytes(),
            body: Vec::new(),
        })
    }

    /// Waits for the server to close the connection after its answer: the server closes
    /// first, so the closed connections wait out their time on its side, not on the
    /// load's (whose ports would run out).
    fn closed_by_server(mut self) -> io::Result<()> {
        match self.reader.read(&mut [0u8; 1])? {
            0 => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "more after the answer to Connection: close",
            )),
        }
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
