//! Redis Streams with a consumer group, as a [`Source`]. Cargo feature `redis` (the
//! [`redis`] crate, redis-rs, the client the Redis project lists for Rust, with the
//! Streams commands and a tokio connection that reconnects by itself; it needs Rust 1.88).
//! Redis 6.2 or later (`XAUTOCLAIM`); tested on Redis 7.
//!
//! Why this shape: a stream keeps its entries, and a consumer group remembers, per entry,
//! which consumer holds it (the pending entries list, PEL) until `XACK`. That is a queue
//! with at-least-once delivery, but Streams have no "negative acknowledgement" and no
//! redelivery timer of their own: a hand-back, a retry and the return of what a dead
//! consumer held are built here, each as one atomic step on the server.
//!
//! # The objects
//!
//! For a queue named `q` ([`source`] and [`publisher`] create them if missing, with
//! `XGROUP CREATE q graceful 0 MKSTREAM`, so either may come first):
//!
//! - the stream `q`, whose entries have the fields `payload` (the body), and, once a
//!   message was handed back or retried, `attempt` (its next attempt, 1 when absent) and
//!   `id` (the id of its first entry, so that logs name a message by one id all along);
//! - the consumer group `graceful` on it: every process consuming `q` is a consumer of its
//!   own in this group, named `<prefix>-<pid>-<random>` ([`Options::consumer`] sets the
//!   prefix), registered by its first read;
//! - the stream `q:dead`, the dead letters: what was rejected, with the fields `payload`,
//!   `attempt` (the attempt that failed) and `id`.
//!
//! An acknowledged entry is removed from the stream (`XACK` and `XDEL` in one round trip):
//! the stream holds only what is still to be done.
//!
//! # What each call does
//!
//! - [`Source::next`]: `XREADGROUP GROUP graceful <me> COUNT <free handlers> BLOCK ... >`
//!   on a connection of its own, run as a task whose result is kept when the call is
//!   dropped (so nothing read is ever lost); and, every half [`Options::claim_after`],
//!   `XAUTOCLAIM` first, taking what another consumer has let sit idle that long. The
//!   next read goes out as the last entry read is given out, for the handlers free then,
//!   so that its round trip overlaps that entry's handler.
//! - [`Source::stop`]: no read is started again, the read under way is ended at once with
//!   `CLIENT UNBLOCK` (what it had already read is kept), and what was read and not yet
//!   returned is given back for the runner to hand back.
//! - [`Delivery::ack`]: `XACK` and `XDEL`. It returns once Redis replied, that is once the
//!   entry is acknowledged in the server's memory; whether it survives a crash of Redis
//!   itself is the server's persistence setting (`appendonly`, `appendfsync`).
//! - [`Delivery::hand_back`]: one script re-adds the entry at the end of the stream with
//!   the same `attempt`, acknowledges and deletes the original: another consumer can take
//!   it at once, and no attempt is counted.
//! - [`Delivery::retry`]: the same with `attempt` one more.
//! - [`Delivery::reject`]: the same script adds it to `q:dead` instead.
//! - A hand-back, retry or reject of an entry this consumer no longer holds (another
//!   consumer claimed it after it sat idle) does nothing and is an error: the holder
//!   settles it.
//! - [`Source::close`]: the consumer is removed from the group if, and only if, it holds
//!   nothing (one script: `XPENDING` for it, then `XGROUP DELCONSUMER`), then the
//!   connections are closed.
//!
//! # A consumer that dies
//!
//! While a delivery is held, this process renews it every third of
//! [`Options::claim_after`] (`XCLAIM ... JUSTID` to itself, which resets the entry's idle
//! time without counting a delivery), so a handler may run as long as it needs and no
//! other consumer takes its message. A killed process renews nothing: after
//! `claim_after` (30 s by default), any live consumer of the group claims its entries
//! with `XAUTOCLAIM` and runs them, as attempt one more than the entry's `attempt` field.
//! A consumer left behind by a killed process and holding nothing is removed by the live
//! ones once it was idle ten times `claim_after`; it never holds up anyone's messages.
//!
//! A message therefore runs twice only after a kill or a crash (or a process frozen for
//! longer than `claim_after`), never after a graceful stop or an upgrade in place, where
//! everything held is acknowledged or handed back before the close.
//!
//! # URLs
//!
//! `redis://[[user]:password@]host[:port][/db]` and `redis+unix:///path/to/socket` (or
//! `unix:///path`). `rediss://` (TLS) is refused with a clear error: the crate's TLS is not
//! built in. Errors name the URL without its password.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisError, Script, Value};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

use super::place::Place;
use super::source::{Delivery, Error, Message, Publish, Source};

/// The consumer group every process consuming a queue joins.
pub const GROUP: &str = "graceful";

/// How long connecting may take, all attempts together, before `source` or `publisher`
/// fails.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// How long a command other than the blocking read may wait for its reply.
const REPLY_WITHIN: Duration = Duration::from_secs(10);

/// Moves one entry held by consumer ARGV[2] to the end of stream KEYS[2] (the same stream,
/// or the dead letters) with `attempt` ARGV[4] and `id` ARGV[5], then acknowledges and
/// deletes the original, in one step. Returns 1; 0 when the consumer no longer holds it;
/// -1 when the entry was deleted under it (it is acknowledged, there is nothing to move).
const MOVE: &str = r"
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #held == 0 then return 0 end
local entry = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
if #entry == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return -1
end
local fields = entry[1][2]
local out = {}
for i = 1, #fields, 2 do
  if fields[i] ~= 'attempt' and fields[i] ~= 'id' then
    out[#out + 1] = fields[i]
    out[#out + 1] = fields[i + 1]
  end
end
out[#out + 1] = 'attempt'
out[#out + 1] = ARGV[4]
out[#out + 1] = 'id'
out[#out + 1] = ARGV[5]
redis.call('XADD', KEYS[2], '*', unpack(out))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
";

/// Resets the idle time of the entries ARGV[3..] that consumer ARGV[2] still holds, without
/// counting a delivery. Returns how many it renewed.
const RENEW: &str = r"
local n = 0
for i = 3, #ARGV do
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #held > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
";

/// Removes consumer ARGV[2] from the group if it holds nothing. Returns 1 if removed, 0 if
/// it holds entries and stays.
const LEAVE: &str = r"
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #held > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// Removes the consumers other than ARGV[2] that hold nothing and were idle longer than
/// ARGV[3] ms: what killed processes left behind. Returns how many.
const SWEEP: &str = r"
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1]
    elseif c[i] == 'pending' then pending = c[i + 1]
    elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  if name ~= ARGV[2] and pending == 0 and idle > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    n = n + 1
  end
end
return n
";

/// The settings of a Redis source; [`source`] uses the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    consumer: String,
    claim_after: Duration,
    block: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            consumer: "graceful".to_owned(),
            claim_after: Duration::from_secs(30),
            block: Duration::from_secs(2),
        }
    }
}

impl Options {
    /// The defaults: consumer prefix `graceful`, claim after 30 s, reads blocking 2 s.
    pub fn new() -> Options {
        Options::default()
    }

    /// The prefix of this process's consumer name in the group; the pid and a random part
    /// are added, so that two processes (two instances, or the two sides of an upgrade in
    /// place) never share a consumer.
    pub fn consumer(mut self, prefix: impl Into<String>) -> Options {
        self.consumer = prefix.into();
        self
    }

    /// How long an entry must sit idle in another consumer's hands before a live consumer
    /// claims it (what a killed process held waits this long). Held entries are renewed
    /// every third of it, so it need not exceed the longest handler; it must exceed the
    /// longest pause of a live process. Default 30 s; at least 300 ms.
    pub fn claim_after(mut self, idle: Duration) -> Options {
        self.claim_after = idle.max(Duration::from_millis(300));
        self
    }

    /// How long one `XREADGROUP` blocks waiting for entries (a read is ended at once by a
    /// stop; this bounds how late a claim is looked for on an empty stream). Default 2 s;
    /// between 10 ms and half of `claim_after`.
    pub fn block(mut self, block: Duration) -> Options {
        self.block = block.max(Duration::from_millis(10));
        self
    }

    /// A source on `queue` at `url`, for `handlers` handlers: see [`source`].
    pub async fn source(self, url: &str, queue: &str, handlers: u16) -> Result<RedisSource, Error> {
        let target = Target::new(url, queue);
        let client = target.client(url)?;
        let conn = target.manager(&client).await?;
        let shared = Arc::new(Shared {
            target,
            dead: format!("{queue}:dead"),
            consumer: format!(
                "{}-{}-{:08x}",
                self.consumer,
                std::process::id(),
                random_u32()
            ),
            conn,
            held: Mutex::new(HashSet::new()),
            outstanding: Arc::new(AtomicUsize::new(0)),
            stopping: AtomicBool::new(false),
            reader_id: Mutex::new(None),
            moves: Script::new(MOVE),
        });
        shared.create_group().await?;
        let block = self.block.min(self.claim_after / 2);
        let renewer = tokio::spawn(renew(Arc::clone(&shared), self.claim_after / 3));
        Ok(RedisSource {
            shared,
            client,
            reader: None,
            handlers: handlers.max(1),
            claim_after: self.claim_after,
            block,
            buffer: VecDeque::new(),
            read: None,
            last_claim: None,
            stopped: false,
            renewer,
        })
    }
}

/// A source on the stream `queue` at `url` (see [the module's docs](self)), reading at most
/// `handlers` entries ahead, with the default [`Options`]. Creates the stream and the group
/// if missing. Fails at once, or within 10 s, on a bad URL, an unreachable server or a
/// refused login.
pub async fn source(url: &str, queue: &str, handlers: u16) -> Result<RedisSource, Error> {
    Options::new().source(url, queue, handlers).await
}

/// A publisher to the stream `queue` at `url`: `XADD`, returning once Redis replied.
/// Creates the stream and the group if missing, so that what it adds before any consumer
/// started is consumed.
pub async fn publisher(url: &str, queue: &str) -> Result<RedisPublisher, Error> {
    let target = Target::new(url, queue);
    let client = target.client(url)?;
    let conn = target.manager(&client).await?;
    let publisher = RedisPublisher { target, conn };
    create_group(&publisher.target, publisher.conn.clone()).await?;
    Ok(publisher)
}

/// Where a source or publisher is: the URL without its password, and the stream. Names
/// both in every error.
#[derive(Clone, Debug)]
struct Target {
    url: String,
    stream: String,
}

impl Target {
    fn new(url: &str, stream: &str) -> Target {
        Target {
            url: without_password(url),
            stream: stream.to_owned(),
        }
    }

    fn error(&self, what: &str, cause: RedisError) -> Error {
        Error::new(
            format!("redis {} stream {}: {what}", self.url, self.stream),
            cause,
        )
    }

    fn msg(&self, what: &str) -> Error {
        Error::msg(format!("redis {} stream {}: {what}", self.url, self.stream))
    }

    fn client(&self, url: &str) -> Result<Client, Error> {
        if url.starts_with("rediss://") {
            return Err(self.msg(
                "TLS (rediss://) is not supported by this build; use redis:// or a TLS proxy",
            ));
        }
        Client::open(url).map_err(|e| self.error("not a Redis URL", e))
    }

    /// The settling connection, which reconnects by itself after the server went away.
    async fn manager(&self, client: &Client) -> Result<ConnectionManager, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(REPLY_WITHIN))
            .set_number_of_retries(1);
        let mut conn = timeout(
            CONNECT_WITHIN,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| self.msg("cannot connect within 10 s"))?
        .map_err(|e| self.error("cannot connect", e))?;
        // A refused login or a wrong database shows here, not at the first read.
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.error("cannot connect", e))?;
        Ok(conn)
    }
}

/// `redis://user:secret@host` as `redis://user:***@host`.
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    if !userinfo.contains(':') && user.is_empty() {
        return url.to_owned();
    }
    format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
}

fn random_u32() -> u32 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}

async fn create_group(target: &Target, mut conn: ConnectionManager) -> Result<(), Error> {
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&target.stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut conn)
        .await;
    match created {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(target.error("cannot create the stream and its consumer group", e)),
    }
}

/// What a source and its deliveries share.
struct Shared {
    target: Target,
    dead: String,
    consumer: String,
    conn: ConnectionManager,
    /// The entries this process holds and renews.
    held: Mutex<HashSet<String>>,
    /// Deliveries read and not yet being settled (buffered or with a handler): what the
    /// next read leaves room for. A settlement under way holds no handler.
    outstanding: Arc<AtomicUsize>,
    /// Set by `stop`: no read is started after it.
    stopping: AtomicBool,
    /// The reading connection's `CLIENT ID`, for `CLIENT UNBLOCK`.
    reader_id: Mutex<Option<i64>>,
    moves: Script,
}

impl Shared {
    async fn create_group(&self) -> Result<(), Error> {
        create_group(&self.target, self.conn.clone()).await
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Renews what this process holds, every `every`, until the source is closed or dropped.
async fn renew(shared: Arc<Shared>, every: Duration) {
    let script = Script::new(RENEW);
    loop {
        sleep(every).await;
        let ids: Vec<String> = shared.held().iter().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        let mut invocation = script.key(&shared.target.stream);
        invocation.arg(GROUP).arg(&shared.consumer).arg(&ids);
        if let Err(e) = invocation
            .invoke_async::<i64>(&mut shared.conn.clone())
            .await
        {
            tracing::warn!(
                stream = %shared.target.stream,
                error = %e,
                "redis: cannot renew the held entries; they are claimed by another consumer if this lasts"
            );
        }
    }
}

/// One entry as read.
struct Entry {
    id: String,
    origin: Option<String>,
    attempt: u32,
    payload: Vec<u8>,
}

/// A Redis Streams consumer in the group [`GROUP`]: see [the module's docs](self).
pub struct RedisSource {
    shared: Arc<Shared>,
    client: Client,
    reader: Option<MultiplexedConnection>,
    handlers: u16,
    claim_after: Duration,
    block: Duration,
    buffer: VecDeque<RedisDelivery>,
    /// The read under way, kept when `next` is dropped.
    read: Option<JoinHandle<Result<Read, Error>>>,
    last_claim: Option<Instant>,
    stopped: bool,
    renewer: JoinHandle<()>,
}

/// What a read task gives back.
struct Read {
    reader: Option<MultiplexedConnection>,
    entries: Vec<Entry>,
    claimed: bool,
}

impl RedisSource {
    /// This process's consumer name in the group.
    pub fn consumer(&self) -> &str {
        &self.shared.consumer
    }

    fn deliver(&mut self, entries: Vec<Entry>, claimed: bool) {
        for entry in entries {
            let attempt = if claimed {
                entry.attempt.saturating_add(1)
            } else {
                entry.attempt
            };
            let origin = entry.origin.unwrap_or_else(|| entry.id.clone());
            self.shared.held().insert(entry.id.clone());
            self.buffer.push_back(RedisDelivery {
                shared: Arc::clone(&self.shared),
                message: Message::new(origin.as_str(), entry.payload, attempt),
                entry: entry.id,
                origin,
                settled: false,
                place: Place::take(&self.shared.outstanding),
            });
        }
    }

    /// Handlers with no entry read for them.
    fn free(&self) -> usize {
        usize::from(self.handlers).saturating_sub(self.shared.outstanding.load(Ordering::SeqCst))
    }

    fn start_read(&mut self) {
        let free = self.free().max(1);
        let claim = self
            .last_claim
            .is_none_or(|at| at.elapsed() >= self.claim_after / 2);
        if claim {
            self.last_claim = Some(Instant::now());
        }
        let job = ReadJob {
            shared: Arc::clone(&self.shared),
            client: self.client.clone(),
            reader: self.reader.take(),
            count: free,
            block: self.block,
            claim: claim.then_some(self.claim_after),
        };
        self.read = Some(tokio::spawn(job.run()));
    }
}

struct ReadJob {
    shared: Arc<Shared>,
    client: Client,
    reader: Option<MultiplexedConnection>,
    count: usize,
    block: Duration,
    claim: Option<Duration>,
}

impl ReadJob {
    /// The read; what it brought is renewed from now on, though it may wait in the task's
    /// result until the runner's next `next` (after a handler longer than the claim's
    /// idle time), so that no other consumer claims it meanwhile.
    async fn run(self) -> Result<Read, Error> {
        let shared = Arc::clone(&self.shared);
        let read = self.read().await?;
        shared
            .held()
            .extend(read.entries.iter().map(|entry| entry.id.clone()));
        Ok(read)
    }

    async fn read(mut self) -> Result<Read, Error> {
        let target = &self.shared.target;
        if let Some(idle) = self.claim {
            let entries = self.claim(idle).await?;
            if !entries.is_empty() {
                return Ok(Read {
                    reader: self.reader,
                    entries,
                    claimed: true,
                });
            }
        }
        let mut reader = match self.reader.take() {
            Some(reader) => reader,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(3)))
                    .set_response_timeout(Some(self.block + REPLY_WITHIN));
                let mut reader = self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(|e| target.error("cannot connect the reading connection", e))?;
                let id: i64 = redis::cmd("CLIENT")
                    .arg("ID")
                    .query_async(&mut reader)
                    .await
                    .map_err(|e| target.error("cannot connect the reading connection", e))?;
                *self
                    .shared
                    .reader_id
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(id);
                reader
            }
        };
        if self.shared.stopping.load(Ordering::SeqCst) {
            return Ok(Read {
                reader: Some(reader),
                entries: Vec::new(),
                claimed: false,
            });
        }
        let reply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.shared.consumer)
            .arg("COUNT")
            .arg(self.count)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&target.stream)
            .arg(">")
            .query_async::<Value>(&mut reader)
            .await;
        match reply {
            Ok(value) => Ok(Read {
                reader: Some(reader),
                entries: parse_read(value).map_err(|e| target.msg(&e))?,
                claimed: false,
            }),
            Err(e) if e.code() == Some("NOGROUP") => {
                // The stream or the group was deleted under us: make them again.
                self.shared.create_group().await?;
                Ok(Read {
                    reader: Some(reader),
                    entries: Vec::new(),
                    claimed: false,
                })
            }
            // The connection is dropped; the next read connects again.
            Err(e) => Err(target.error("cannot read", e)),
        }
    }

    /// `XAUTOCLAIM` what was idle `idle` in anyone's hands, and now and then removes the
    /// consumers killed processes left behind.
    async fn claim(&self, idle: Duration) -> Result<Vec<Entry>, Error> {
        let target = &self.shared.target;
        let mut conn = self.shared.conn.clone();
        let reply = redis::cmd("XAUTOCLAIM")
            .arg(&target.stream)
            .arg(GROUP)
            .arg(&self.shared.consumer)
            .arg(idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(self.count)
            .query_async::<Value>(&mut conn)
            .await;
        let entries = match reply {
            Ok(value) => parse_claim(value).map_err(|e| target.msg(&e))?,
            Err(e) if e.code() == Some("NOGROUP") => {
                self.shared.create_group().await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(target.error("cannot claim idle entries", e)),
        };
        let sweep = Script::new(SWEEP);
        let mut invocation = sweep.key(&target.stream);
        invocation
            .arg(GROUP)
            .arg(&self.shared.consumer)
            .arg((idle * 10).as_millis() as u64);
        if let Err(e) = invocation.invoke_async::<i64>(&mut conn).await {
            tracing::debug!(stream = %target.stream, error = %e, "redis: cannot remove stale consumers");
        }
        Ok(entries)
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// One `[id, [field, value, ...]]`; `None` for an entry deleted while pending.
fn parse_entry(value: Value) -> Result<Option<Entry>, String> {
    let Value::Array(mut parts) = value else {
        return Err("an unexpected reply (entry)".to_owned());
    };
    if parts.len() != 2 {
        return Err("an unexpected reply (entry)".to_owned());
    }
    let fields = parts.pop().unwrap_or(Value::Nil);
    let id = text(&parts[0]).ok_or("an unexpected reply (entry id)")?;
    let Value::Array(fields) = fields else {
        return Ok(None);
    };
    let mut entry = Entry {
        id,
        origin: None,
        attempt: 1,
        payload: Vec::new(),
    };
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        match text(&name).as_deref() {
            Some("payload") => {
                if let Value::BulkString(b) = value {
                    entry.payload = b;
                }
            }
            Some("attempt") => {
                entry.attempt = text(&value).and_then(|a| a.parse().ok()).unwrap_or(1);
            }
            Some("id") => entry.origin = text(&value),
            _ => {}
        }
    }
    Ok(Some(entry))
}

fn parse_entries(value: Value) -> Result<Vec<Entry>, String> {
    match value {
        Value::Array(items) => Ok(items
            .into_iter()
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect()),
        Value::Nil => Ok(Vec::new()),
        _ => Err("an unexpected reply (entries)".to_owned()),
    }
}

/// `XREADGROUP`'s `[[stream, entries]]`, or nil when it timed out or was unblocked.
fn parse_read(value: Value) -> Result<Vec<Entry>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => {
            let mut all = Vec::new();
            for stream in streams {
                let Value::Array(mut pair) = stream else {
                    return Err("an unexpected reply (stream)".to_owned());
                };
                if let Some(entries) = pair.pop() {
                    all.extend(parse_entries(entries)?);
                }
            }
            Ok(all)
        }
        Value::Map(streams) => {
            let mut all = Vec::new();
            for (_, entries) in streams {
                all.extend(parse_entries(entries)?);
            }
            Ok(all)
        }
        _ => Err("an unexpected reply (XREADGROUP)".to_owned()),
    }
}

/// `XAUTOCLAIM`'s `[cursor, entries, deleted]`.
fn parse_claim(value: Value) -> Result<Vec<Entry>, String> {
    let Value::Array(parts) = value else {
        return Err("an unexpected reply (XAUTOCLAIM)".to_owned());
    };
    match parts.into_iter().nth(1) {
        Some(entries) => parse_entries(entries),
        None => Err("an unexpected reply (XAUTOCLAIM)".to_owned()),
    }
}

impl Source for RedisSource {
    type Delivery = RedisDelivery;

    async fn next(&mut self) -> Result<RedisDelivery, Error> {
        loop {
            if let Some(delivery) = self.buffer.pop_front() {
                // The last one read: the next read goes out now, for the handlers free
                // now, and its round trip overlaps this delivery's handler.
                if self.buffer.is_empty() && self.read.is_none() && !self.stopped && self.free() > 0
                {
                    self.start_read();
                }
                return Ok(delivery);
            }
            if self.stopped {
                return Err(self.shared.target.msg("intake was stopped"));
            }
            if self.read.is_none() {
                self.start_read();
            }
            let Some(read) = self.read.as_mut() else {
                continue;
            };
            // Dropped here, the read goes on and its entries wait in `self.read`.
            let result = read.await;
            self.read = None;
            match result {
                Ok(Ok(read)) => {
                    self.reader = read.reader;
                    self.deliver(read.entries, read.claimed);
                }
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(Error::new(
                        format!(
                            "redis {} stream {}: the read failed",
                            self.shared.target.url, self.shared.target.stream
                        ),
                        e,
                    ))
                }
            }
        }
    }

    async fn stop(&mut self) -> Result<Vec<RedisDelivery>, Error> {
        self.stopped = true;
        self.shared.stopping.store(true, Ordering::SeqCst);
        let mut failure = None;
        if let Some(mut read) = self.read.take() {
            // End the blocking read at once; again and again until the task is done, for a
            // read that was not yet sent when the first unblock came.
            let result = loop {
                let id = *self
                    .shared
                    .reader_id
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(id) = id {
                    let _ = redis::cmd("CLIENT")
                        .arg("UNBLOCK")
                        .arg(id)
                        .query_async::<i64>(&mut self.shared.conn.clone())
                        .await;
                }
                tokio::select! {
                    result = &mut read => break result,
                    () = sleep(Duration::from_millis(50)) => {}
                }
            };
            match result {
                Ok(Ok(read)) => {
                    self.reader = read.reader;
                    self.deliver(read.entries, read.claimed);
                }
                Ok(Err(e)) => failure = Some(e),
                Err(e) => {
                    failure = Some(Error::new(
                        format!(
                            "redis {} stream {}: the read failed",
                            self.shared.target.url, self.shared.target.stream
                        ),
                        e,
                    ))
                }
            }
        }
        // The reading connection is no longer needed.
        self.reader = None;
        let buffered = self.buffer.drain(..).collect();
        match failure {
            // What the failed read had taken stays with this consumer, claimed back by
            // the others after `claim_after`; what was buffered is handed back.
            Some(e) => {
                tracing::warn!(stream = %self.shared.target.stream, error = %e, "redis: the last read failed at the stop");
                Ok(buffered)
            }
            None => Ok(buffered),
        }
    }

    async fn close(self) -> Result<(), Error> {
        self.renewer.abort();
        let mut this = self;
        this.reader = None;
        if let Some(read) = this.read.take() {
            read.abort();
        }
        let shared = &this.shared;
        let leave = Script::new(LEAVE);
        let mut invocation = leave.key(&shared.target.stream);
        invocation.arg(GROUP).arg(&shared.consumer);
        match invocation
            .invoke_async::<i64>(&mut shared.conn.clone())
            .await
        {
            Ok(1) => Ok(()),
            Ok(_) => {
                tracing::warn!(
                    stream = %shared.target.stream,
                    consumer = %shared.consumer,
                    "redis: this consumer still holds entries at its close and stays in the group; another consumer claims them after they sat idle"
                );
                Ok(())
            }
            Err(e) if e.code() == Some("NOGROUP") => Ok(()),
            Err(e) => Err(shared
                .target
                .error("cannot remove this consumer from the group", e)),
        }
    }
}

impl Drop for RedisSource {
    fn drop(&mut self) {
        // Dropped without a close (a crash of the task, a test): renew nothing more, so
        // what is held is claimed back by the others.
        self.renewer.abort();
    }
}

/// One entry read from the stream, held by this consumer until settled.
pub struct RedisDelivery {
    shared: Arc<Shared>,
    message: Message,
    entry: String,
    origin: String,
    settled: bool,
    /// Counted in [`Shared::outstanding`] until its settlement begins.
    place: Place,
}

impl RedisDelivery {
    /// The stream entry's id (a hand-back or retry makes a new entry; [`Message::id`]
    /// stays that of the first).
    pub fn entry_id(&self) -> &str {
        &self.entry
    }

    fn done(&mut self) {
        self.settled = true;
        self.shared.held().remove(&self.entry);
        self.place.give_up();
    }

    fn error(&self, what: &str, cause: RedisError) -> Error {
        self.shared
            .target
            .error(&format!("cannot {what} message {}", self.origin), cause)
    }

    async fn move_to(mut self, what: &str, stream: &str, attempt: u32) -> Result<(), Error> {
        // Its settlement begins: its handler is free, and the next read counts it no more.
        self.place.give_up();
        let shared = Arc::clone(&self.shared);
        let mut invocation = shared.moves.key(&shared.target.stream);
        invocation
            .key(stream)
            .arg(GROUP)
            .arg(&shared.consumer)
            .arg(&self.entry)
            .arg(attempt)
            .arg(&self.origin);
        let moved = invocation
            .invoke_async::<i64>(&mut shared.conn.clone())
            .await;
        match moved {
            Ok(1 | -1) => {
                self.done();
                Ok(())
            }
            Ok(_) => {
                self.done();
                Err(shared.target.msg(&format!(
                    "cannot {what} message {}: this consumer no longer holds it (it sat idle longer than the claim time and another consumer took it)",
                    self.origin
                )))
            }
            Err(e) => Err(self.error(what, e)),
        }
    }
}

impl Drop for RedisDelivery {
    fn drop(&mut self) {
        if !self.settled {
            // Never settled: stop renewing it, so another consumer claims it.
            self.shared.held().remove(&self.entry);
        }
    }
}

impl Delivery for RedisDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn ack(mut self) -> Result<(), Error> {
        // Its settlement begins: its handler is free, and the next read counts it no more.
        self.place.give_up();
        let shared = Arc::clone(&self.shared);
        // One round trip. The delete does no harm when the acknowledgement finds the
        // entry no longer pending: then the consumer that claimed it has acknowledged it,
        // and deletes it too.
        let acked: Result<(i64, i64), RedisError> = redis::pipe()
            .xack(&shared.target.stream, GROUP, &[&self.entry])
            .xdel(&shared.target.stream, &[&self.entry])
            .query_async(&mut shared.conn.clone())
            .await;
        match acked.map(|(acked, _deleted)| acked) {
            Ok(1) => {
                self.done();
                Ok(())
            }
            Ok(_) => {
                self.done();
                Err(shared.target.msg(&format!(
                    "message {} was already acknowledged by another consumer, which had claimed it",
                    self.origin
                )))
            }
            Err(e) => Err(self.error("acknowledge", e)),
        }
    }

    async fn retry(self) -> Result<(), Error> {
        let stream = self.shared.target.stream.clone();
        let attempt = self.message.attempt().saturating_add(1);
        self.move_to("retry", &stream, attempt).await
    }

    async fn reject(self) -> Result<(), Error> {
        let dead = self.shared.dead.clone();
        let attempt = self.message.attempt();
        self.move_to("reject", &dead, attempt).await
    }

    async fn hand_back(self) -> Result<(), Error> {
        let stream = self.shared.target.stream.clone();
        let attempt = self.message.attempt();
        self.move_to("hand back", &stream, attempt).await
    }
}

/// Adds messages to a stream (`XADD`): see [`publisher`].
pub struct RedisPublisher {
    target: Target,
    conn: ConnectionManager,
}

impl Publish for RedisPublisher {
    async fn publish(&self, payload: &[u8]) -> Result<(), Error> {
        redis::cmd("XADD")
            .arg(&self.target.stream)
            .arg("*")
            .arg("payload")
            .arg(payload)
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
            .map_err(|e| self.target.error("cannot add a message", e))
    }
}

impl std::fmt::Debug for RedisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSource")
            .field("url", &self.shared.target.url)
            .field("stream", &self.shared.target.stream)
            .field("consumer", &self.shared.consumer)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RedisDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDelivery")
            .field("stream", &self.shared.target.stream)
            .field("entry", &self.entry)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RedisPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPublisher")
            .field("url", &self.target.url)
            .field("stream", &self.target.stream)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            without_password("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(
            without_password("redis://user:secret@host"),
            "redis://user:***@host"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            without_password("redis://user@host"),
            "redis://user:***@host"
        );
    }
}
