//! A queue table in PostgreSQL as a [`Source`] and a [`Publish`]: feature `postgres`,
//! Rust 1.85.
//!
//! Why it looks like this:
//!
//! - The client is [tokio-postgres](https://docs.rs/tokio-postgres): asynchronous, on
//!   tokio, no macros. sqlx would check queries at compile time, which a handful of fixed
//!   statements do not need, at the price of minutes of build on a small machine.
//! - A queue is a table of its own name (see [`schema`]), created by the first of
//!   [`source`] or [`publisher`] (`CREATE TABLE IF NOT EXISTS`, under an advisory lock so
//!   that two processes starting at once do not collide).
//! - A delivery is a row locked by an open transaction (`SELECT … FOR UPDATE SKIP LOCKED`)
//!   on a connection of its own, held until it is settled. The lock, not a lease, says who
//!   holds a message: a crashed or killed process's connection closes, PostgreSQL rolls its
//!   transactions back, and what it held is free at once, with no heartbeat to keep up and
//!   no clock to trust. The price is one connection per handler (plus one that listens):
//!   size `max_connections` for it.
//! - A source takes ahead: while handlers are free it has a take under way on a
//!   connection for each, so that a free handler finds a row waiting instead of waiting
//!   one round trip to the server for it. A row taken ahead is held like any other; at
//!   [`stop`](Source::stop) the rows not yet given out are returned to be handed back.
//! - New messages are announced by `NOTIFY` (the publisher's insert, a retry, a hand-back),
//!   heard through `LISTEN` on one more connection, so an idle source takes a message at
//!   once; it also looks every second, in case a notification was missed while it
//!   reconnected.
//! - Settlements end the transaction: `ack` deletes the row and commits, `retry` counts the
//!   attempt and commits, `reject` marks the row `dead` and commits, `hand_back` rolls back
//!   (no attempt counted). Each returns once the commit (or rollback) is done. A
//!   connection lost once a commit was sent leaves unknown whether the server ran it, and
//!   the error says so: the message may be settled, or back in the queue.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_postgres::config::Host;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Statement};

use super::{Delivery, Error, Message, Publish, Source};

/// How long a connection may take to open, unless the URL says `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a statement may take before the server is taken for gone.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often an idle source looks for messages when no notification came.
const POLL: Duration = Duration::from_secs(1);

/// The SQL that creates `queue`'s table and its index, as [`source`] and [`publisher`] run
/// it: ship it with your migrations if the service's role may not create tables.
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS "orders" (
///     id          bigserial   PRIMARY KEY,
///     payload     bytea       NOT NULL,
///     attempt     integer     NOT NULL DEFAULT 1,
///     state       text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'dead')),
///     enqueued_at timestamptz NOT NULL DEFAULT now(),
///     dead_at     timestamptz
/// );
/// CREATE INDEX IF NOT EXISTS "orders_ready" ON "orders" (id) WHERE state = 'ready';
/// ```
pub fn schema(queue: &str) -> String {
    let table = ident(queue);
    let index = ident(&format!("{queue}_ready"));
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n    \
            id          bigserial   PRIMARY KEY,\n    \
            payload     bytea       NOT NULL,\n    \
            attempt     integer     NOT NULL DEFAULT 1,\n    \
            state       text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'dead')),\n    \
            enqueued_at timestamptz NOT NULL DEFAULT now(),\n    \
            dead_at     timestamptz\n\
        );\n\
        CREATE INDEX IF NOT EXISTS {index} ON {table} (id) WHERE state = 'ready';\n"
    )
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Where to connect, and the server as it may be shown (no password).
#[derive(Clone)]
struct Endpoint {
    config: Config,
    shown: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, Error> {
        let mut config = Config::from_str(url).map_err(|e| {
            Error::new(
                format!(
                    "bad PostgreSQL URL {}: expected postgres://user@host:port/database",
                    redact(url)
                ),
                e,
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(format!("graceful {}", std::process::id()));
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => shown_host(host).to_owned(),
            #[cfg(unix)]
            Some(Host::Unix(path)) => path.display().to_string(),
            None => String::from("localhost"),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let shown = format!(
            "postgres://{}@{host}:{port}/{}",
            shown_user(config.get_user().unwrap_or("")),
            config.get_dbname().unwrap_or("")
        );
        Ok(Endpoint { config, shown })
    }

    /// Opens a connection, driven by a task of its own that wakes `notified` on each
    /// notification and when the connection ends.
    async fn connect(
        &self,
        notified: Option<Arc<Notify>>,
    ) -> Result<(Client, JoinHandle<()>), Error> {
        let timeout = self
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        let (client, mut connection) =
            match tokio::time::timeout(timeout, self.config.connect(NoTls)).await {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => {
                    return Err(Error::new(format!("cannot connect to {}", self.shown), e))
                }
                Err(_) => {
                    return Err(Error::msg(format!(
                        "cannot connect to {}: no answer within {timeout:?}",
                        self.shown
                    )))
                }
            };
        let task = tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(_))) => {
                        if let Some(notified) = &notified {
                            notified.notify_one();
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            if let Some(notified) = &notified {
                notified.notify_one();
            }
        });
        Ok((client, task))
    }
}

/// The URL without its password, read as tokio-postgres reads it: the URL form only when
/// it starts with `postgres://` or `postgresql://`, PostgreSQL's `key=value` form
/// otherwise.
///
/// In the URL form the password is hidden where either reading puts it: in the user part
/// (to the first `@` for tokio-postgres, to the last for a password that holds an `@`; it
/// may hold a `/` or a `?`) and as a `password` parameter of the query, its key
/// percent-decoded (`pass%77ord`). An `@` in the query makes the user part hold the query
/// up to it: that user is not shown, and the query goes on after the `@`.
fn redact(url: &str) -> String {
    let Some(scheme) = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|scheme| url.starts_with(scheme))
    else {
        return redact_key_values(url);
    };
    let rest = &url[scheme.len()..];
    let (user, in_query, place) = match rest.rsplit_once('@') {
        Some((userinfo, place)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            (
                format!("{}@", shown_user(user)),
                userinfo.contains('?'),
                place,
            )
        }
        None => (String::new(), false, rest),
    };
    let split = if in_query {
        place
            .split_once('&')
            .map(|(place, query)| (place, '&', query))
    } else {
        place
            .split_once('?')
            .map(|(place, query)| (place, '?', query))
    };
    let shown = match split {
        Some((place, mark, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !is_password(pair.split_once('=').map_or(*pair, |(k, _)| k)))
                .collect();
            if kept.is_empty() {
                place.to_owned()
            } else {
                format!("{place}{mark}{}", kept.join("&"))
            }
        }
        None => place.to_owned(),
    };
    format!("{scheme}{user}{shown}")
}

/// Whether `key` names the password, percent-decoded as tokio-postgres decodes a URL's
/// keys (and, to be safe, whatever its case, spaces or suffix).
fn is_password(key: &str) -> bool {
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded)
        .trim()
        .to_ascii_lowercase()
        .starts_with("password")
}

/// A user name as it may be shown. tokio-postgres ends the user at the first `@`: with an
/// `@` in the query (`…/test?password=…&application_name=a@b`), the user is the URL up to
/// there, query and password included, and is not shown.
fn shown_user(user: &str) -> &str {
    if user.contains(['?', '&', '=']) {
        "…"
    } else {
        user
    }
}

/// A host name as it may be shown: not one that holds the query (after an `@` in it,
/// `…&application_name=a@b&password=…`) or the end of a password (after an `@` in it,
/// `postgres://app:p@ss@db/x`).
fn shown_host(host: &str) -> &str {
    if host.contains(['?', '&', '=', '@']) {
        "…"
    } else {
        host
    }
}

/// `key = value` pairs without the `password` one, as tokio-postgres reads them: a value
/// is quoted (`'…'`) or runs to the next space, and a `\` takes the character after it as
/// it is in either (`hunter\ two` is one value). Where the parser stops (no `=` after a
/// key, a quote not closed), the rest is not shown: it may be the password.
fn redact_key_values(text: &str) -> String {
    let mut shown = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_eq = rest[key_end..].trim_start().strip_prefix('=');
        let (false, Some(after_eq)) = (key.is_empty(), after_eq) else {
            shown.push(String::from("…"));
            break;
        };
        let value = after_eq.trim_start();
        let Some(value_end) = value_len(value) else {
            shown.push(format!("{key}=…"));
            break;
        };
        if !is_password(key) {
            shown.push(format!("{key}={}", &value[..value_end]));
        }
        rest = value[value_end..].trim_start();
    }
    shown.join(" ")
}

/// The length of the value `text` starts with, its quotes included: `None` for a quote
/// not closed.
fn value_len(text: &str) -> Option<usize> {
    let quoted = text.starts_with('\'');
    let mut chars = text.char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if quoted => return Some(i + 1),
            c if !quoted && c.is_whitespace() => return Some(i),
            _ => {}
        }
    }
    (!quoted).then_some(text.len())
}

/// What a source, its deliveries and a publisher share.
struct Shared {
    endpoint: Endpoint,
    queue: String,
    table: String,
    channel: String,
    /// Connections between deliveries, each with its take statement prepared.
    idle: Mutex<Vec<Held>>,
    /// The tasks that drive this source's connections, awaited at close.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Deliveries given out by `next` and not yet settled or dropped.
    given: AtomicUsize,
    /// Told each time a given-out delivery is done with, and its connection free.
    freed: Notify,
}

/// A connection of the pool and its take statement.
struct Held {
    client: Client,
    take: Statement,
}

impl Shared {
    fn new(endpoint: Endpoint, queue: &str) -> Result<Arc<Shared>, Error> {
        if queue.is_empty() || queue.len() > 57 || queue.contains('\0') {
            return Err(Error::msg(format!(
                "bad queue name {queue:?}: the table's name must be 1 to 57 bytes (PostgreSQL names are 63 at most, and its index adds _ready)"
            )));
        }
        Ok(Arc::new(Shared {
            endpoint,
            queue: queue.to_string(),
            table: ident(queue),
            channel: queue.to_string(),
            idle: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            given: AtomicUsize::new(0),
            freed: Notify::new(),
        }))
    }

    fn failed(&self, what: &str) -> String {
        format!("{what} queue {:?} on {}", self.queue, self.endpoint.shown)
    }

    async fn connect(&self, notified: Option<Arc<Notify>>) -> Result<Client, Error> {
        let (client, task) = self.endpoint.connect(notified).await?;
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        Ok(client)
    }

    /// Creates the table if it is missing. A table that exists (made by a migration from
    /// [`schema`]) is used as it is, by a role that may not create tables.
    async fn create(&self, client: &Client) -> Result<(), Error> {
        let exists = run(
            client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.table]),
            || self.failed("cannot look for the table of"),
        )
        .await?;
        if exists.get::<_, bool>(0) {
            return Ok(());
        }
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext({})); {} COMMIT;",
            literal(&format!("graceful queue {}", self.queue)),
            schema(&self.queue)
        );
        run(client.batch_execute(&sql), || {
            self.failed("cannot create the table of")
        })
        .await
    }

    fn idle(&self) -> Option<Held> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn back(&self, held: Held) {
        if !held.client.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(held);
        }
    }

    async fn held(&self) -> Result<Held, Error> {
        // An idle connection the server closed meanwhile (a restart, a terminated backend)
        // is dropped here, not tried: one failed take after a lost connection, not one per
        // idle connection.
        while let Some(held) = self.idle() {
            if !held.client.is_closed() {
                return Ok(held);
            }
        }
        // A connection lost mid-handshake (the server restarting, the network) is said
        // with the queue it was for, as a take's other failures are.
        let client = self
            .connect(None)
            .await
            .map_err(|e| Error::new(self.failed("cannot take from"), e))?;
        let sql = format!(
            "SELECT id, payload, attempt FROM {} WHERE state = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            self.table
        );
        let take = run(client.prepare(&sql), || {
            self.failed("cannot prepare to take from")
        })
        .await?;
        Ok(Held { client, take })
    }

    fn notify_sql(&self) -> String {
        format!("SELECT pg_notify({}, '')", literal(&self.channel))
    }

    /// Takes the oldest ready row that no one holds, in a transaction of its own on a
    /// connection of the pool; `None`, the connection back in the pool, when there is none.
    async fn take(self: Arc<Shared>) -> Result<Option<PostgresDelivery>, Error> {
        let held = self.held().await?;
        // One round trip: tokio-postgres sends requests in the order their futures are
        // first polled, and `join!` polls `BEGIN` first.
        let take = async {
            let (begun, row) = tokio::join!(
                held.client.batch_execute("BEGIN"),
                held.client.query_opt(&held.take, &[])
            );
            begun.and(row)
        };
        let row = run(take, || self.failed("cannot take from")).await?;
        let Some(row) = row else {
            run(held.client.batch_execute("ROLLBACK"), || {
                self.failed("cannot take from")
            })
            .await?;
            self.back(held);
            return Ok(None);
        };
        let id: i64 = row.get(0);
        let payload: Vec<u8> = row.get(1);
        let attempt: i32 = row.get(2);
        let attempt = u32::try_from(attempt).unwrap_or(1);
        Ok(Some(PostgresDelivery {
            message: Message::new(id.to_string(), payload, attempt),
            id,
            held: Some(held),
            shared: self.clone(),
            given: None,
        }))
    }
}

/// Runs a statement within [`REQUEST_TIMEOUT`], naming what failed.
async fn run<T>(
    request: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    what: impl FnOnce() -> String,
) -> Result<T, Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::new(what(), e)),
        Err(_) => Err(Error::msg(format!(
            "{}: no answer within {REQUEST_TIMEOUT:?}",
            what()
        ))),
    }
}

/// Connects to `url` (`postgres://user[:password]@host[:port]/database[?options]`, or
/// PostgreSQL's `key=value` form) and creates `queue`'s table if it is missing, to take
/// its messages with up to `handlers` connections, one per message held.
///
/// A wrong URL, an unreachable server or a refused login is an error at once (the
/// connection is bounded by `connect_timeout`, 10 s by default).
pub async fn source(url: &str, queue: &str, handlers: u16) -> Result<PostgresSource, Error> {
    let shared = Shared::new(Endpoint::parse(url)?, queue)?;
    let client = shared.connect(None).await?;
    shared.create(&client).await?;
    drop(client);
    Ok(PostgresSource {
        shared,
        handlers,
        listener: None,
        notified: Arc::new(Notify::new()),
        takes: JoinSet::new(),
        ahead: VecDeque::new(),
        empty: false,
        stopped: false,
    })
}

/// Connects to `url` and creates `queue`'s table as [`source`] does, to insert messages.
pub async fn publisher(url: &str, queue: &str) -> Result<PostgresPublisher, Error> {
    let shared = Shared::new(Endpoint::parse(url)?, queue)?;
    let client = shared.connect(None).await?;
    shared.create(&client).await?;
    let sql = format!(
        "WITH inserted AS (INSERT INTO {} (payload) VALUES ($1) RETURNING id) \
         SELECT pg_notify({}, '') FROM inserted",
        shared.table,
        literal(&shared.channel)
    );
    let insert = run(client.prepare(&sql), || {
        shared.failed("cannot prepare to publish to")
    })
    .await?;
    Ok(PostgresPublisher {
        shared,
        client,
        insert,
    })
}

/// A consumer of one queue table: see [the module's docs](self).
pub struct PostgresSource {
    shared: Arc<Shared>,
    handlers: u16,
    listener: Option<Client>,
    notified: Arc<Notify>,
    /// Takes under way, each a task of its own (a dropped `next` loses none of them).
    takes: JoinSet<Result<Option<PostgresDelivery>, Error>>,
    /// Rows taken ahead, not yet given out.
    ahead: VecDeque<PostgresDelivery>,
    /// A take found the table empty: none starts again until a notification or [`POLL`].
    empty: bool,
    stopped: bool,
}

impl fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSource")
            .field("server", &self.shared.endpoint.shown)
            .field("queue", &self.shared.queue)
            .field("handlers", &self.handlers)
            .finish()
    }
}

impl PostgresSource {
    async fn listen(&mut self) -> Result<(), Error> {
        if self.listener.as_ref().is_some_and(|l| !l.is_closed()) {
            return Ok(());
        }
        self.listener = None;
        let client = self
            .shared
            .connect(Some(self.notified.clone()))
            .await
            .map_err(|e| Error::new(self.shared.failed("cannot listen for"), e))?;
        let sql = format!("LISTEN {}", ident(&self.shared.channel));
        run(client.batch_execute(&sql), || {
            self.shared.failed("cannot listen for")
        })
        .await?;
        self.listener = Some(client);
        Ok(())
    }
}

impl Source for PostgresSource {
    type Delivery = PostgresDelivery;

    /// Gives out the oldest row taken; takes ahead on a connection for each free handler
    /// (none while every connection holds a row, until a settlement ends); waits for a notification (or a second) when the table is empty.
    /// Cancel-safe: the takes under way go on, and what they take is given out by the
    /// next call.
    async fn next(&mut self) -> Result<PostgresDelivery, Error> {
        loop {
            if self.stopped {
                std::future::pending::<()>().await;
            }
            // A row whose connection was lost is no longer held: it is free again.
            while let Some(delivery) = self.ahead.pop_front() {
                if delivery
                    .held
                    .as_ref()
                    .is_some_and(|h| !h.client.is_closed())
                {
                    return Ok(delivery.given_out());
                }
            }
            self.listen().await?;
            // A connection for each handler at most: a row given out keeps its own until
            // its settlement ends, which may be after its handler is free again.
            let free = usize::from(self.handlers.max(1))
                .saturating_sub(self.shared.given.load(Ordering::SeqCst));
            if !self.empty {
                while self.takes.len() < free {
                    self.takes.spawn(Arc::clone(&self.shared).take());
                }
            }
            tokio::select! {
                Some(taken) = self.takes.join_next(), if !self.takes.is_empty() => {
                    match taken {
                        Ok(Ok(Some(delivery))) => {
                            self.ahead.push_back(delivery);
                            self.empty = false;
                        }
                        Ok(Ok(None)) => self.empty = true,
                        Ok(Err(e)) => return Err(e),
                        Err(e) => return Err(Error::new(self.shared.failed("cannot take from"), e)),
                    }
                }
                () = self.notified.notified(), if self.empty => self.empty = false,
                () = tokio::time::sleep(POLL), if self.empty => self.empty = false,
                // Every connection holds a row being settled: wait for one to end.
                () = self.shared.freed.notified(), if !self.empty && self.takes.is_empty() => {}
            }
        }
    }

    /// Stops listening and taking; returns the rows taken ahead, those of the takes under
    /// way included, to be handed back.
    async fn stop(&mut self) -> Result<Vec<PostgresDelivery>, Error> {
        self.stopped = true;
        self.listener = None;
        // A take that failed (the server gone) held nothing: there is nothing to return.
        while let Some(taken) = self.takes.join_next().await {
            if let Ok(Ok(Some(delivery))) = taken {
                self.ahead.push_back(delivery);
            }
        }
        Ok(self.ahead.drain(..).collect())
    }

    /// Closes every connection and waits for each to end.
    async fn close(mut self) -> Result<(), Error> {
        drop(self.listener.take());
        // Dropped, a row taken ahead is released as its connection closes.
        self.takes.abort_all();
        while self.takes.join_next().await.is_some() {}
        self.ahead.clear();
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let tasks: Vec<JoinHandle<()>> = self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            if tokio::time::timeout(REQUEST_TIMEOUT, task).await.is_err() {
                return Err(Error::msg(format!(
                    "cannot close the connections to {}: one did not end within {REQUEST_TIMEOUT:?}",
                    self.shared.endpoint.shown
                )));
            }
        }
        Ok(())
    }
}

/// One row of a queue table, locked by this process's open transaction until settled.
pub struct PostgresDelivery {
    message: Message,
    id: i64,
    held: Option<Held>,
    shared: Arc<Shared>,
    /// Once given out by `next`: counted in [`Shared::given`] until dropped.
    given: Option<Given>,
}

impl PostgresDelivery {
    fn given_out(mut self) -> PostgresDelivery {
        self.shared.given.fetch_add(1, Ordering::SeqCst);
        self.given = Some(Given(Arc::clone(&self.shared)));
        self
    }
}

/// A delivery's place in [`Shared::given`], given up when the delivery is dropped.
struct Given(Arc<Shared>);

impl Drop for Given {
    fn drop(&mut self) {
        self.0.given.fetch_sub(1, Ordering::SeqCst);
        self.0.freed.notify_one();
    }
}

impl fmt::Debug for PostgresDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresDelivery")
            .field("message", &self.message)
            .finish()
    }
}

/// Whether `error` came from the server ending the session (a `FATAL` answer).
fn ended_the_session(error: &Error) -> bool {
    std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<tokio_postgres::Error>())
        .is_some_and(|e| {
            e.is_closed() || e.as_db_error().is_some_and(|db| db.severity() == "FATAL")
        })
}

/// What a settlement does, for what its error says when the connection is lost.
#[derive(Clone, Copy)]
enum Settlement {
    Ack,
    Retry,
    Reject,
    HandBack,
}

impl Settlement {
    fn verb(self) -> &'static str {
        match self {
            Settlement::Ack => "acknowledge",
            Settlement::Retry => "retry",
            Settlement::Reject => "reject",
            Settlement::HandBack => "hand back",
        }
    }

    /// What happens to the message if the server did not commit the settlement.
    fn if_not_committed(self) -> &'static str {
        match self {
            Settlement::Ack => {
                "the message returns to the queue for the next consumer, and runs again"
            }
            Settlement::Retry => {
                "the message returns to the queue for the next consumer, this attempt not counted"
            }
            Settlement::Reject => {
                "the message returns to the queue for the next consumer instead of the dead letters"
            }
            Settlement::HandBack => "the message returns to the queue for the next consumer",
        }
    }
}

impl PostgresDelivery {
    /// Ends the row's transaction with `sql`, then returns the connection to the pool.
    async fn settle(mut self, settlement: Settlement, sql: String) -> Result<(), Error> {
        let held = self.held.take().expect("a delivery is settled once");
        let what = || {
            self.shared.failed(&format!(
                "cannot {} message {} of",
                settlement.verb(),
                self.id
            ))
        };
        // Lost before the settlement was sent, or while a rollback was: the transaction is
        // rolled back, the row free.
        let lost = || {
            format!(
                "{}: the connection was lost, and the message is back in the queue",
                what()
            )
        };
        // Lost once a commit was sent: the server may have run it, and only its answer was
        // lost.
        let in_doubt = || {
            format!(
                "{}: the connection was lost before the server answered, so the outcome is unknown: if the server did not commit it, {}",
                what(),
                settlement.if_not_committed()
            )
        };
        if held.client.is_closed() {
            return Err(Error::msg(lost()));
        }
        // A connection the server ends as the settlement goes (a terminated backend, a
        // shutdown: a FATAL answer) is said as the lost connection it is, a commit's
        // outcome unknown: the answer may be all that was lost.
        match run(held.client.batch_execute(&sql), what).await {
            Ok(()) => {
                self.shared.back(held);
                Ok(())
            }
            Err(e) if held.client.is_closed() || ended_the_session(&e) => match settlement {
                Settlement::HandBack => Err(Error::new(lost(), e)),
                _ => Err(Error::new(in_doubt(), e)),
            },
            Err(e) => Err(e),
        }
    }
}

impl Delivery for PostgresDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    /// Deletes the row and commits.
    async fn ack(self) -> Result<(), Error> {
        let sql = format!(
            "DELETE FROM {} WHERE id = {}; COMMIT",
            self.shared.table, self.id
        );
        self.settle(Settlement::Ack, sql).await
    }

    /// Counts the attempt and commits: the row is ready again, at its place.
    async fn retry(self) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET attempt = attempt + 1 WHERE id = {}; {}; COMMIT",
            self.shared.table,
            self.id,
            self.shared.notify_sql()
        );
        self.settle(Settlement::Retry, sql).await
    }

    /// Marks the row `dead` (kept in the table: the dead letters) and commits.
    async fn reject(self) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET state = 'dead', dead_at = now() WHERE id = {}; COMMIT",
            self.shared.table, self.id
        );
        self.settle(Settlement::Reject, sql).await
    }

    /// Rolls back: the row is free at once, its attempt not counted.
    async fn hand_back(self) -> Result<(), Error> {
        let sql = format!("ROLLBACK; {}", self.shared.notify_sql());
        self.settle(Settlement::HandBack, sql).await
    }
}

/// Inserts messages into one queue table, each [`publish`](Publish::publish) returning
/// once its insert is committed.
pub struct PostgresPublisher {
    shared: Arc<Shared>,
    client: Client,
    insert: Statement,
}

impl fmt::Debug for PostgresPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresPublisher")
            .field("server", &self.shared.endpoint.shown)
            .field("queue", &self.shared.queue)
            .finish()
    }
}

/// The table and the server, without the password: `queue "orders" on postgres://app@db:5432/prod`.
impl fmt::Display for PostgresPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue {:?} on {}",
            self.shared.queue, self.shared.endpoint.shown
        )
    }
}

impl Publish for PostgresPublisher {
    async fn publish(&self, payload: &[u8]) -> Result<(), Error> {
        run(self.client.query(&self.insert, &[&payload]), || {
            self.shared.failed("cannot publish to")
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_password_in_both_forms() {
        let e = Endpoint::parse("postgres://app:secret@db.local:5433/orders").unwrap();
        assert_eq!(e.shown, "postgres://app@db.local:5433/orders");
        assert_eq!(redact("postgres://app:secret@db/x"), "postgres://app@db/x");
        assert_eq!(
            redact("host=db user=app password=secret dbname=x"),
            "host=db user=app dbname=x"
        );
        // Read as tokio-postgres reads them: a URL only with its scheme first, `\`
        // escapes, percent-decoded keys, the user to the first `@`.
        assert_eq!(
            redact("host=db password=secret application_name=http://x"),
            "host=db application_name=http://x"
        );
        assert_eq!(
            redact(r"host=db password=hunter\ two user='a\' b' port=x"),
            r"host=db user='a\' b' port=x"
        );
        assert_eq!(redact("host=db password secret"), "host=db …");
        assert_eq!(
            redact("host=db application_name='a secret"),
            "host=db application_name=…"
        );
        assert_eq!(
            redact("postgres://app@db:x/d?pass%77ord=secret&sslmode=disable"),
            "postgres://app@db:x/d?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://db/d?password=secret&application_name=a@b:x&password=secret"),
            "postgresql://…@b:x"
        );
        let e = Endpoint::parse("postgresql://db/d?password=secret&application_name=a@b").unwrap();
        assert_eq!(e.shown, "postgres://…@b:5432/");
        let e = Endpoint::parse("postgresql://db/d?application_name=a@b&password=secret").unwrap();
        assert_eq!(e.shown, "postgres://…@…:5432/");
        let error = Endpoint::parse("postgres://app:secret@db:notaport/x")
            .err()
            .expect("a bad port")
            .to_string();
        assert!(error.contains("bad PostgreSQL URL"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert!(schema("orders").contains("CREATE TABLE IF NOT EXISTS \"orders\" ("));
        assert!(Shared::new(Endpoint::parse("postgres://h/d").unwrap(), "").is_err());
        assert!(Shared::new(Endpoint::parse("postgres://h/d").unwrap(), &"q".repeat(58)).is_err());
    }
}
