//! The durable queue: one SQLite file that every instance of the service shares, as
//! replicas share a broker.
//!
//! A message is `pending`, `in_progress` (held by one consumer under a lease) or `done`.
//! Every state change is one SQL transaction, so a process killed at any instant leaves
//! each message in exactly one of those states. A message held by a consumer that died
//! goes back to `pending` when its lease runs out, or at once when a consumer of the same
//! name starts again. Every acknowledgement is also written to `acks`, so a message
//! processed twice shows up as two rows there.
//!
//! A held message also records the process that holds it (`holder_pid`): during an
//! upgrade in place two processes run under one consumer name for a while, the old one
//! finishing what it holds while the new one takes new messages, and neither may hand
//! back, renew or acknowledge what the other holds.
//!
//! The calls are synchronous and short. Workers make them from async code inside
//! [`tokio::task::block_in_place`], so a take happens within one poll: a worker's wait for
//! a message can be dropped at the shutdown without a message being taken and lost.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Params, TransactionBehavior};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        payload     TEXT    NOT NULL,
        state       TEXT    NOT NULL CHECK (state IN ('pending', 'in_progress', 'done')),
        consumer    TEXT,
        holder_pid  INTEGER,
        lease_until INTEGER,
        attempts    INTEGER NOT NULL DEFAULT 0,
        enqueued_at INTEGER NOT NULL,
        done_at     INTEGER
    );
    CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state, id);
    CREATE TABLE IF NOT EXISTS acks (
        message_id INTEGER NOT NULL,
        consumer   TEXT    NOT NULL,
        acked_at   INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS consumers (
        name         TEXT    PRIMARY KEY,
        pid          INTEGER NOT NULL,
        online       INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
    );
";

/// How long a call waits for another instance's write to finish before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A message a consumer holds.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) id: i64,
}

/// The whole queue at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) enqueued: u64,
    pub(crate) pending: u64,
    pub(crate) in_flight: u64,
    pub(crate) done: u64,
}

#[derive(Debug)]
pub(crate) enum StoreError {
    /// The connection was closed at the end of the shutdown.
    Closed,
    Sql(rusqlite::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Closed => f.write_str("the queue connection is closed"),
            StoreError::Sql(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e)
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

pub(crate) struct Store {
    conn: Mutex<Option<Connection>>,
    lease: Duration,
    /// This process, the holder of what it takes.
    pid: u32,
}

impl Store {
    /// Opens (or creates) the queue at `path`. A taken message is leased for `lease`.
    pub(crate) fn open(path: &Path, lease: Duration) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer, so several instances can share the file.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        add_holder_pid(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(Some(conn)),
            lease,
            pid: std::process::id(),
        })
    }

    /// Runs `f` on the connection, letting the runtime move other tasks off this thread
    /// while it waits for SQLite.
    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>) -> Result<R> {
        tokio::task::block_in_place(|| {
            let mut conn = self.lock();
            let conn = conn.as_mut().ok_or(StoreError::Closed)?;
            Ok(f(conn)?)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `consumer` as online, as this process. Anything still held under its
    /// name is from a previous life of this consumer that was killed: it goes back to
    /// pending at once, unless `predecessor` is live — the process this one replaces in an
    /// upgrade, which still finishes what it holds. Returns how many messages went back.
    pub(crate) fn register(&self, consumer: &str, predecessor: Option<u32>) -> Result<usize> {
        let pid = self.pid;
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO consumers (name, pid, online, started_at, heartbeat_at)
                 VALUES (?1, ?2, 1, ?3, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                     pid = excluded.pid, online = 1,
                     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                params![consumer, pid, now],
            )?;
            let reclaimed = match predecessor {
                None => release(&tx, "consumer = ?1", params![consumer])?,
                // Held by neither this process nor the one it replaces: a killed one's.
                Some(old) => release(
                    &tx,
                    "consumer = ?1 AND holder_pid IS NOT ?2",
                    params![consumer, old],
                )?,
            };
            tx.commit()?;
            Ok(reclaimed)
        })
    }

    /// Marks `consumer` offline: it takes nothing more. Unless a process that replaced
    /// this one registered the name since: it is online.
    pub(crate) fn go_offline(&self, consumer: &str) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE consumers SET online = 0, heartbeat_at = ?2 WHERE name = ?1 AND pid = ?3",
                params![consumer, now_ms(), self.pid],
            )?;
            Ok(())
        })
    }

    pub(crate) fn enqueue(&self, payload: &str) -> Result<i64> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO messages (payload, state, enqueued_at) VALUES (?1, 'pending', ?2)",
                params![payload, now_ms()],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Takes the oldest pending message for `consumer`, under a lease.
    pub(crate) fn take(&self, consumer: &str) -> Result<Option<Message>> {
        let lease_until = now_ms().saturating_add(millis(self.lease));
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let taken = tx
                .query_row(
                    "UPDATE messages
                     SET state = 'in_progress', consumer = ?1, holder_pid = ?3,
                         lease_until = ?2, attempts = attempts + 1
                     WHERE id = (SELECT id FROM messages WHERE state = 'pending' ORDER BY id LIMIT 1)
                     RETURNING id",
                    params![consumer, lease_until, self.pid],
                    |row| Ok(Message { id: row.get(0)? }),
                )
                .optional()?;
            tx.commit()?;
            Ok(taken)
        })
    }

    /// Acknowledges a processed message. Returns false if `consumer` no longer held it
    /// (its lease ran out and the message was reclaimed): the acknowledgement is still
    /// recorded, so the double processing stays visible.
    pub(crate) fn ack(&self, consumer: &str, id: i64) -> Result<bool> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO acks (message_id, consumer, acked_at) VALUES (?1, ?2, ?3)",
                params![id, consumer, now],
            )?;
            let held = tx.execute(
                "UPDATE messages
                 SET state = 'done', consumer = NULL, holder_pid = NULL, lease_until = NULL,
                     done_at = ?3
                 WHERE id = ?1 AND state = 'in_progress' AND consumer = ?2 AND holder_pid = ?4",
                params![id, consumer, now, self.pid],
            )?;
            tx.commit()?;
            Ok(held == 1)
        })
    }

    /// Gives a message back unprocessed: it is pending again, for any consumer.
    pub(crate) fn hand_back(&self, consumer: &str, id: i64) -> Result<()> {
        self.with(|conn| {
            release(
                conn,
                "id = ?1 AND consumer = ?2 AND holder_pid = ?3",
                params![id, consumer, self.pid],
            )?;
            Ok(())
        })
    }

    /// Gives back everything `consumer` still holds in this process. Returns how many
    /// messages.
    pub(crate) fn hand_back_all(&self, consumer: &str) -> Result<usize> {
        self.with(|conn| {
            release(
                conn,
                "consumer = ?1 AND holder_pid = ?2",
                params![consumer, self.pid],
            )
        })
    }

    /// The heartbeat of a live consumer: extends the leases of what it holds, and
    /// returns to pending what any consumer let expire. Returns how many expired.
    pub(crate) fn renew(&self, consumer: &str) -> Result<usize> {
        let now = now_ms();
        let lease_until = now.saturating_add(millis(self.lease));
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE consumers SET heartbeat_at = ?2 WHERE name = ?1 AND pid = ?3",
                params![consumer, now, self.pid],
            )?;
            tx.execute(
                "UPDATE messages SET lease_until = ?2
                 WHERE state = 'in_progress' AND consumer = ?1 AND holder_pid = ?3",
                params![consumer, lease_until, self.pid],
            )?;
            let expired = release(&tx, "lease_until < ?1", params![now])?;
            tx.commit()?;
            Ok(expired)
        })
    }

    pub(crate) fn counts(&self) -> Result<Counts> {
        self.with(|conn| {
            let mut counts = Counts::default();
            let mut stmt =
                conn.prepare_cached("SELECT state, COUNT(*) FROM messages GROUP BY state")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let n: u64 = row.get(1)?;
                match row.get_ref(0)?.as_str()? {
                    "pending" => counts.pending = n,
                    "in_progress" => counts.in_flight = n,
                    _ => counts.done = n,
                }
            }
            counts.enqueued = counts.pending + counts.in_flight + counts.done;
            Ok(counts)
        })
    }

    /// Closes the connection; every later call fails with [`StoreError::Closed`].
    pub(crate) fn close(&self) -> Result<()> {
        let conn = self.lock().take().ok_or(StoreError::Closed)?;
        conn.close().map_err(|(_, e)| StoreError::Sql(e))
    }
}

/// Returns the messages in progress that match `condition` to pending. Returns how many.
fn release(conn: &Connection, condition: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.execute(
        &format!(
            "UPDATE messages SET state = 'pending', consumer = NULL, holder_pid = NULL,
                 lease_until = NULL
             WHERE state = 'in_progress' AND {condition}"
        ),
        params,
    )
}

/// Adds `holder_pid` to a queue file made before it existed: the column is empty there,
/// and what such a file holds in progress is released by name or by lease as before.
fn add_holder_pid(conn: &mut Connection) -> rusqlite::Result<()> {
    // One instance at a time: two opening an old file together must not both add it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let has: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('messages') WHERE name = 'holder_pid'",
        [],
        |row| row.get(0),
    )?;
    if !has {
        tx.execute_batch("ALTER TABLE messages ADD COLUMN holder_pid INTEGER")?;
    }
    tx.commit()
}

/// Milliseconds since the Unix epoch: the leases are compared across processes.
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    millis(since)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
