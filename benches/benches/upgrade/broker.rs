//! A broker for the queue subject, in the benchmark's process: it enqueues messages at a
//! steady rate and serves them over TCP on `127.0.0.1`, one line a request: `TAKE` is
//! answered `MSG <id>` (the oldest message waiting) or `NONE`, `ACK <id>` is answered
//! `OK`, or `ERR <why>` for a message that was not taken or was acknowledged already.
//!
//! It records when each message was enqueued, each time it was taken and acknowledged:
//! how long a message waited, and whether each was taken and acknowledged exactly once.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// One message, as the broker saw it.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    /// When it was put in the queue.
    pub(crate) enqueued: Instant,
    /// Each time it was taken.
    pub(crate) taken: Vec<Instant>,
    /// How many times it was acknowledged.
    pub(crate) acked: usize,
}

impl Message {
    /// How long it waited between its enqueueing and its first taking.
    pub(crate) fn waited(&self) -> Option<Duration> {
        self.taken.first().map(|t| t.duration_since(self.enqueued))
    }
}

#[derive(Default)]
struct State {
    waiting: VecDeque<usize>,
    messages: Vec<Message>,
    /// The requests refused: a protocol error of the subject.
    refused: Vec<String>,
}

/// The broker, running.
pub(crate) struct Broker {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    enqueuing: Arc<AtomicBool>,
    open: Arc<AtomicBool>,
    enqueuer: Option<thread::JoinHandle<()>>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl Broker {
    /// Listens on a free port of `127.0.0.1` and enqueues `per_second` messages a second.
    pub(crate) fn start(per_second: u32) -> Broker {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| graceful_benches::fail(&format!("the broker cannot listen: {e}")));
        let addr = listener.local_addr().expect("a bound listener's address");
        listener
            .set_nonblocking(true)
            .expect("a listener that does not block");
        let state = Arc::new(Mutex::new(State::default()));
        let enqueuing = Arc::new(AtomicBool::new(true));
        let open = Arc::new(AtomicBool::new(true));
        let every = Duration::from_secs(1) / per_second;
        let enqueuer = {
            let (state, enqueuing) = (state.clone(), enqueuing.clone());
            thread::spawn(move || {
                // On a schedule, not a sleep after each: the rate holds whatever the lock costs.
                let start = Instant::now();
                let mut n = 0u32;
                while enqueuing.load(Ordering::Relaxed) {
                    let at = start + every * n;
                    thread::sleep(at.saturating_duration_since(Instant::now()));
                    let mut state = lock(&state);
                    let id = state.messages.len();
                    state.messages.push(Message {
                        enqueued: Instant::now(),
                        taken: Vec::new(),
                        acked: 0,
                    });
                    state.waiting.push_back(id);
                    n += 1;
                }
            })
        };
        let acceptor = {
            let (state, open) = (state.clone(), open.clone());
            thread::spawn(move || {
                while open.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = state.clone();
                            thread::spawn(move || serve(stream, &state));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Broker {
            addr,
            state,
            enqueuing,
            open,
            enqueuer: Some(enqueuer),
            acceptor: Some(acceptor),
        }
    }

    /// Where the subject reaches it.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops enqueuing, waits up to `patience` for every message to be acknowledged, and
    /// returns them all; stops the benchmark if one was lost, taken or acknowledged
    /// twice, or a request was refused.
    pub(crate) fn finish(mut self, patience: Duration) -> Vec<Message> {
        self.enqueuing.store(false, Ordering::Relaxed);
        if let Some(enqueuer) = self.enqueuer.take() {
            let _ = enqueuer.join();
        }
        let until = Instant::now() + patience;
        loop {
            let state = lock(&self.state);
            let unacked = state.messages.iter().filter(|m| m.acked == 0).count();
            if unacked == 0 || Instant::now() >= until {
                break;
            }
            drop(state);
            thread::sleep(Duration::from_millis(20));
        }
        self.open.store(false, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let state = lock(&self.state);
        if let Some(refused) = state.refused.first() {
            graceful_benches::fail(&format!(
                "the broker refused {} request(s), the first: {refused}",
                state.refused.len()
            ));
        }
        for (id, m) in state.messages.iter().enumerate() {
            if m.taken.len() != 1 || m.acked != 1 {
                graceful_benches::fail(&format!(
                    "message {id} of {} was taken {} time(s) and acknowledged {} time(s), \
                     {patience:?} after the last was enqueued: each must be taken and \
                     acknowledged exactly once",
                    state.messages.len(),
                    m.taken.len(),
                    m.acked
                ));
            }
        }
        state.messages.clone()
    }
}

/// Serves one connection until the subject closes it.
fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_nonblocking(false);
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let reply = answer(line.trim(), &mut lock(state));
        if writer.write_all(format!("{reply}\n").as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(request: &str, state: &mut State) -> String {
    if request == "TAKE" {
        return match state.waiting.pop_front() {
            Some(id) => {
                state.messages[id].taken.push(Instant::now());
                format!("MSG {id}")
            }
            None => "NONE".to_owned(),
        };
    }
    let refusal = match request.strip_prefix("ACK ").map(str::parse::<usize>) {
        Some(Ok(id)) => match state.messages.get_mut(id) {
            Some(m) if !m.taken.is_empty() && m.acked == 0 => {
                m.acked += 1;
                return "OK".to_owned();
            }
            Some(m) => {
                m.acked += 1;
                format!(
                    "ACK {id}: taken {} time(s), acknowledged {} time(s) before",
                    m.taken.len(),
                    m.acked - 1
                )
            }
            None => format!("ACK {id}: no such message"),
        },
        _ => format!("not a request: {request:?}"),
    };
    state.refused.push(refusal.clone());
    format!("ERR {refusal}")
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
