//! The embedded queue: one SQLite file that every instance of a service shares, as
//! replicas share a broker, with nothing to install or run. Cargo feature `sqlite`.
//!
//! [`SqliteQueue::open`] opens (or creates) the file and names the queue; it publishes
//! ([`Publish`]) and counts. [`SqliteQueue::source`] gives the [`Source`] a
//! [`Consumer`](super::Consumer) takes messages from, under a consumer name.
//!
//! # What it guarantees
//!
//! - Every state change is one SQL transaction: a process killed at any instant leaves
//!   each message in exactly one state.
//! - A taken message is leased to its consumer, and its process (`holder_pid`). The
//!   consumer's heartbeat renews the leases of this process, a third of the lease apart,
//!   and returns to pending what any consumer let run out: what a killed instance held
//!   comes back after the lease, or at once when an instance of the same consumer name
//!   starts taking messages.
//! - Under one consumer name, the new process of an upgrade in place neither reclaims,
//!   renews, nor hands back what the process it replaces still holds: each settles only
//!   its own. It registers (and reclaims what a killed one held) only at its first take,
//!   so a new process that is rolled back before it was ready leaves no trace. One that
//!   dies after its first take leaves a registration that stops beating: after a lease,
//!   the live process of the name takes it back, and what the dead one held returns to
//!   pending as its leases run out.
//! - `hand_back` returns a message to pending without counting the attempt; `retry`
//!   counts it; `reject` leaves it `dead`, kept in the file.
//! - Every acknowledgement is also written to `queue_acks`, so a message done twice (only
//!   possible after a kill, or a lease that ran out under a live process) shows as two
//!   rows there.
//!
//! # The schema
//!
//! Created if missing; several queues share a file, told apart by `queue`:
//!
//! ```sql
//! CREATE TABLE queue_messages (
//!     id          INTEGER PRIMARY KEY AUTOINCREMENT,
//!     queue       TEXT    NOT NULL,
//!     payload     BLOB    NOT NULL,
//!     state       TEXT    NOT NULL CHECK (state IN ('pending', 'in_progress', 'done', 'dead')),
//!     consumer    TEXT,              -- who holds it, while in_progress
//!     holder_pid  INTEGER,           -- and in which process
//!     lease_until INTEGER,           -- ms since the Unix epoch
//!     attempts    INTEGER NOT NULL DEFAULT 0,   -- deliveries, hand-backs not counted
//!     enqueued_at INTEGER NOT NULL,
//!     done_at     INTEGER
//! );
//! CREATE TABLE queue_acks (
//!     queue TEXT NOT NULL, message_id INTEGER NOT NULL, consumer TEXT NOT NULL,
//!     pid INTEGER NOT NULL, acked_at INTEGER NOT NULL
//! );
//! CREATE TABLE queue_consumers (
//!     queue TEXT NOT NULL, name TEXT NOT NULL, pid INTEGER NOT NULL,
//!     online INTEGER NOT NULL, started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL,
//!     PRIMARY KEY (queue, name)
//! );
//! ```
//!
//! # Calls
//!
//! SQLite calls are synchronous and short. On tokio's multi-thread runtime they run inside
//! [`tokio::task::block_in_place`], which lets the runtime move other tasks off the
//! thread; on the current-thread runtime they run in place. Either way a take happens
//! within one poll, so [`Source::next`] is cancel-safe: dropping it never loses a taken
//! message.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::Notify;
use tokio::time::{interval, sleep, MissedTickBehavior};

use super::runner::chain;
use super::source::{Delivery, Error, Message, Publish, Source};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS queue_messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        queue       TEXT    NOT NULL,
        payload     BLOB    NOT NULL,
        state       TEXT    NOT NULL CHECK (state IN ('pending', 'in_progress', 'done', 'dead')),
        consumer    TEXT,
        holder_pid  INTEGER,
        lease_until INTEGER,
        attempts    INTEGER NOT NULL DEFAULT 0,
        enqueued_at INTEGER NOT NULL,
        done_at     INTEGER
    );
    CREATE INDEX IF NOT EXISTS queue_messages_by_state ON queue_messages (queue, state, id);
    CREATE TABLE IF NOT EXISTS queue_acks (
        queue      TEXT    NOT NULL,
        message_id INTEGER NOT NULL,
        consumer   TEXT    NOT NULL,
        pid        INTEGER NOT NULL,
        acked_at   INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS queue_consumers (
        queue        TEXT    NOT NULL,
        name         TEXT    NOT NULL,
        pid          INTEGER NOT NULL,
        online       INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        PRIMARY KEY (queue, name)
    );
";

/// How long a call waits for another instance's write to finish before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idle source looks for messages other processes published or that came
/// back to pending. A publish through the same [`SqliteQueue`] wakes it at once.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// The shortest lease: the heartbeat renews three times per lease, and a shorter one
/// could run out on a live process between two renewals.
pub const MIN_LEASE: Duration = Duration::from_secs(1);

/// The whole queue at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Waiting for a consumer.
    pub pending: u64,
    /// Held by a consumer.
    pub in_progress: u64,
    /// Acknowledged.
    pub done: u64,
    /// Rejected: failed for good.
    pub dead: u64,
}

impl QueueCounts {
    /// Every message the queue ever had.
    pub fn total(&self) -> u64 {
        self.pending + self.in_progress + self.done + self.dead
    }
}

struct Inner {
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
    queue: String,
    /// Rung by each publish through this handle: a local consumer takes it at once.
    published: Notify,
    /// This process, the holder of what it takes.
    pid: u32,
}

/// A queue in a SQLite file: publishes, counts, and gives sources to consume it.
///
/// Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct SqliteQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("path", &self.inner.path)
            .field("queue", &self.inner.queue)
            .finish()
    }
}

impl SqliteQueue {
    /// Opens the queue named `queue` in the file at `path`, creating the file and the
    /// schema if missing.
    pub fn open(path: impl AsRef<Path>, queue: impl Into<String>) -> Result<SqliteQueue, Error> {
        let path = path.as_ref().to_owned();
        let context = || format!("cannot open the queue file {}", path.display());
        let conn = (|| {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // WAL: readers never block the writer, so several instances share the file.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute_batch(SCHEMA)?;
            Ok::<_, rusqlite::Error>(conn)
        })()
        .map_err(|e| Error::new(context(), e))?;
        Ok(SqliteQueue {
            inner: Arc::new(Inner {
                conn: Mutex::new(Some(conn)),
                path,
                queue: queue.into(),
                published: Notify::new(),
                pid: std::process::id(),
            }),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.inner.queue
    }

    /// A source that takes this queue's messages as consumer `consumer`, each leased for
    /// `lease` (at least [`MIN_LEASE`]) and renewed while this process holds it.
    ///
    /// `predecessor` is the process this one replaces in an upgrade in place
    /// ([`upgraded_from`](crate::upgraded_from)): what it holds under the same consumer
    /// name is left to it. Without one, what the name holds is from a killed process of
    /// the name, and goes back to pending at the first take.
    pub fn source(
        &self,
        consumer: impl Into<String>,
        lease: Duration,
        predecessor: Option<u32>,
    ) -> SqliteSource {
        SqliteSource {
            queue: self.clone(),
            consumer: consumer.into(),
            lease: lease.max(MIN_LEASE),
            predecessor,
            heartbeat: None,
        }
    }

    /// The queue's messages by state.
    pub fn counts(&self) -> Result<QueueCounts, Error> {
        self.inner.with("count the queue", |conn| {
            let mut counts = QueueCounts::default();
            let mut stmt = conn.prepare_cached(
                "SELECT state, COUNT(*) FROM queue_messages WHERE queue = ?1 GROUP BY state",
            )?;
            let mut rows = stmt.query([&self.inner.queue])?;
            while let Some(row) = rows.next()? {
                let n: u64 = row.get(1)?;
                match row.get_ref(0)?.as_str()? {
                    "pending" => counts.pending = n,
                    "in_progress" => counts.in_progress = n,
                    "done" => counts.done = n,
                    _ => counts.dead = n,
                }
            }
            Ok(counts)
        })
    }

    /// Closes the connection: every later call on this queue, its clones and its sources
    /// fails. A source's [`Source::close`] does it when no other handle shares the
    /// connection.
    pub fn close(&self) -> Result<(), Error> {
        let conn = self.inner.lock().take();
        match conn {
            Some(conn) => conn
                .close()
                .map_err(|(_, e)| Error::new("cannot close the queue file", e)),
            None => Ok(()),
        }
    }
}

impl Publish for SqliteQueue {
    async fn publish(&self, payload: &[u8]) -> Result<(), Error> {
        self.inner.with("publish", |conn| {
            conn.execute(
                "INSERT INTO queue_messages (queue, payload, state, enqueued_at)
                 VALUES (?1, ?2, 'pending', ?3)",
                params![self.inner.queue, payload, now_ms()],
            )
        })?;
        self.inner.published.notify_one();
        Ok(())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the connection, within one poll.
    fn with<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>,
    ) -> Result<R, Error> {
        let call = || {
            let mut conn = self.lock();
            let conn = conn
                .as_mut()
                .ok_or_else(|| Error::msg(format!("cannot {what}: the queue file is closed")))?;
            f(conn).map_err(|e| Error::new(format!("cannot {what} in {}", self.path.display()), e))
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(call)
        } else {
            call()
        }
    }

    /// Runs `f` in an immediate transaction: one writer at a time, across processes.
    fn write<R>(
        &self,
        what: &str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<R>,
    ) -> Result<R, Error> {
        self.with(what, |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// The consumer side of a [`SqliteQueue`]: see the [module's docs](self).
pub struct SqliteSource {
    queue: SqliteQueue,
    consumer: String,
    lease: Duration,
    predecessor: Option<u32>,
    /// Started at the first take, with the registration.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SqliteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSource")
            .field("queue", &self.queue)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl SqliteSource {
    /// Registers the consumer as online in this process, and returns to pending what a
    /// killed process of its name held (not what the predecessor holds). Returns how
    /// many messages went back.
    fn register(&self) -> Result<usize, Error> {
        let inner = &self.queue.inner;
        inner.write("register the consumer", |tx| {
            let now = now_ms();
            tx.execute(
                "INSERT INTO queue_consumers (queue, name, pid, online, started_at, heartbeat_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)
                 ON CONFLICT (queue, name) DO UPDATE SET
                     pid = excluded.pid, online = 1,
                     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                params![inner.queue, self.consumer, inner.pid, now],
            )?;
            // Held by neither this process nor the one it replaces: a killed one's.
            tx.execute(
                "UPDATE queue_messages SET state = 'pending', consumer = NULL,
                     holder_pid = NULL, lease_until = NULL
                 WHERE queue = ?1 AND state = 'in_progress' AND consumer = ?2
                     AND holder_pid IS NOT ?3 AND holder_pid IS NOT ?4",
                params![inner.queue, self.consumer, inner.pid, self.predecessor],
            )
        })
    }

    /// Takes the oldest pending message, under a lease.
    fn take(&self) -> Result<Option<SqliteDelivery>, Error> {
        let inner = &self.queue.inner;
        let lease_until = now_ms().saturating_add(millis(self.lease));
        let taken = inner.write("take a message", |tx| {
            tx.query_row(
                "UPDATE queue_messages
                 SET state = 'in_progress', consumer = ?2, holder_pid = ?3,
                     lease_until = ?4, attempts = attempts + 1
                 WHERE id = (SELECT id FROM queue_messages
                             WHERE queue = ?1 AND state = 'pending' ORDER BY id LIMIT 1)
                 RETURNING id, payload, attempts",
                params![inner.queue, self.consumer, inner.pid, lease_until],
                |row| {
                    // A BLOB as published here, or TEXT as another program may insert.
                    let payload = match row.get_ref(1)? {
                        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => bytes.to_vec(),
                        _ => Vec::new(),
                    };
                    Ok((row.get::<_, i64>(0)?, payload, row.get::<_, u32>(2)?))
                },
            )
            .optional()
        })?;
        Ok(taken.map(|(id, payload, attempts)| SqliteDelivery {
            queue: self.queue.clone(),
            consumer: self.consumer.clone(),
            row: id,
            message: Message::new(id.to_string(), payload, attempts),
        }))
    }
}

impl Source for SqliteSource {
    type Delivery = SqliteDelivery;

    async fn next(&mut self) -> Result<SqliteDelivery, Error> {
        if self.heartbeat.is_none() {
            let reclaimed = self.register()?;
            if reclaimed > 0 {
                crate::report::log::consume_note(&format!(
                    "consumer {:?} of queue {:?}: {reclaimed} messages a killed process of its name held are pending again",
                    self.consumer, self.queue.inner.queue
                ));
            }
            self.heartbeat = Some(tokio::spawn(heartbeat(
                Arc::clone(&self.queue.inner),
                self.consumer.clone(),
                self.lease,
            )));
        }
        loop {
            let published = self.queue.inner.published.notified();
            if let Some(delivery) = self.take()? {
                return Ok(delivery);
            }
            tokio::select! {
                () = published => {}
                () = sleep(IDLE_POLL) => {}
            }
        }
    }

    /// Nothing is taken ahead of `next`: there is nothing to hand back.
    async fn stop(&mut self) -> Result<Vec<SqliteDelivery>, Error> {
        Ok(Vec::new())
    }

    /// Marks the consumer offline (unless a process that replaced this one registered
    /// the name since), stops the heartbeat and closes the connection, unless another
    /// handle shares it (a clone of the queue, another of its sources, still in use):
    /// then the connection stays open for them, and closes with the last of them.
    async fn close(mut self) -> Result<(), Error> {
        if let Some(heartbeat) = self.heartbeat.take() {
            // Aborting only asks: a beat under way on another thread would still write
            // `online = 1` after the line below. Wait until the task has ended.
            heartbeat.abort();
            let _ = heartbeat.await;
            let inner = &self.queue.inner;
            inner.with("mark the consumer offline", |conn| {
                conn.execute(
                    "UPDATE queue_consumers SET online = 0, heartbeat_at = ?3
                     WHERE queue = ?1 AND name = ?2 AND pid = ?4",
                    params![inner.queue, self.consumer, now_ms(), inner.pid],
                )
            })?;
        }
        // Every delivery is settled and the heartbeat has ended: a count of one is this
        // source alone.
        if Arc::strong_count(&self.queue.inner) == 1 {
            self.queue.close()
        } else {
            Ok(())
        }
    }
}

/// Renews this process's leases a few times per lease, and returns to pending what any
/// consumer let run out. Ends when the connection closes.
async fn heartbeat(inner: Arc<Inner>, consumer: String, lease: Duration) {
    let mut tick = interval(lease / 3);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_ms();
        let lease_until = now.saturating_add(millis(lease));
        let renewed = inner.write("renew the leases", |tx| {
            // This process's registration, kept fresh; and taken back when it names a
            // process that stopped beating for a whole lease: a new process of an upgrade
            // that died after its first take, while this one serves on.
            tx.execute(
                "UPDATE queue_consumers SET pid = ?4, online = 1, heartbeat_at = ?3
                 WHERE queue = ?1 AND name = ?2 AND (pid = ?4 OR heartbeat_at < ?5)",
                params![inner.queue, consumer, now, inner.pid, now - millis(lease)],
            )?;
            tx.execute(
                "UPDATE queue_messages SET lease_until = ?3
                 WHERE queue = ?1 AND state = 'in_progress' AND consumer = ?2 AND holder_pid = ?4",
                params![inner.queue, consumer, lease_until, inner.pid],
            )?;
            tx.execute(
                "UPDATE queue_messages SET state = 'pending', consumer = NULL,
                     holder_pid = NULL, lease_until = NULL
                 WHERE queue = ?1 AND state = 'in_progress' AND lease_until < ?2",
                params![inner.queue, now],
            )
        });
        match renewed {
            Ok(0) => {}
            Ok(n) => crate::report::log::consume_note(&format!(
                "queue {:?}: {n} messages whose lease ran out are pending again",
                inner.queue
            )),
            Err(_) if inner.lock().is_none() => return,
            Err(e) => crate::report::log::consume_note(&format!(
                "queue {:?}: heartbeat: {}",
                inner.queue,
                chain(&e)
            )),
        }
    }
}

/// A message taken from a [`SqliteQueue`], leased to this process.
pub struct SqliteDelivery {
    queue: SqliteQueue,
    consumer: String,
    row: i64,
    message: Message,
}

impl std::fmt::Debug for SqliteDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDelivery")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl SqliteDelivery {
    /// Sets the state of the message, if this process still holds it; `extra` sets more
    /// columns. An error if it no longer does (its lease ran out and it was taken back).
    fn settle(&self, what: &str, state: &str, extra: &str) -> Result<(), Error> {
        let inner = &self.queue.inner;
        let held = inner.write(what, |tx| {
            if state == "done" {
                tx.execute(
                    "INSERT INTO queue_acks (queue, message_id, consumer, pid, acked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![inner.queue, self.row, self.consumer, inner.pid, now_ms()],
                )?;
            }
            tx.execute(
                &format!(
                    "UPDATE queue_messages
                     SET state = '{state}', consumer = NULL, holder_pid = NULL,
                         lease_until = NULL{extra}
                     WHERE id = ?1 AND state = 'in_progress' AND consumer = ?2 AND holder_pid = ?3"
                ),
                params![self.row, self.consumer, inner.pid],
            )
        })?;
        if held == 1 {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "cannot {what} message {}: this process no longer holds it (its lease ran out, and another consumer may run it again)",
                self.row
            )))
        }
    }
}

impl Delivery for SqliteDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn ack(self) -> Result<(), Error> {
        self.settle("acknowledge", "done", &format!(", done_at = {}", now_ms()))
    }

    async fn retry(self) -> Result<(), Error> {
        self.settle("retry", "pending", "")
    }

    async fn reject(self) -> Result<(), Error> {
        self.settle("reject", "dead", &format!(", done_at = {}", now_ms()))
    }

    async fn hand_back(self) -> Result<(), Error> {
        self.settle("hand back", "pending", ", attempts = MAX(attempts - 1, 0)")
    }
}

/// Milliseconds since the Unix epoch: leases are compared across processes.
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    millis(since)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
