//! `graceful::consume::postgres` against a real PostgreSQL: each settlement, two sources on
//! one table, a consumer whose connection is cut, and the errors of a wrong URL, an
//! unreachable server and a refused login.

#[path = "../../tests/process/src/broker.rs"]
#[allow(dead_code, unreachable_pub)]
mod broker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graceful::consume::postgres::{self, PostgresDelivery, PostgresSource};
use graceful::consume::{Delivery, Publish, Source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_postgres::{Client, NoTls};

const URL: &str = broker::POSTGRES.url;

/// A connection of the test's own, to look at the table and drop it.
async fn admin() -> Client {
    let (client, connection) = tokio_postgres::connect(URL, NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    client
}

/// Rows of `table` in `state`.
async fn count(client: &Client, table: &str, state: &str) -> i64 {
    client
        .query_one(
            &format!("SELECT count(*) FROM \"{table}\" WHERE state = $1"),
            &[&state],
        )
        .await
        .expect("count")
        .get(0)
}

/// Rows of `table` locked by someone (held by a delivery).
async fn locked(client: &Client, table: &str) -> i64 {
    let ready = count(client, table, "ready").await;
    let free: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM (SELECT id FROM \"{table}\" WHERE state = 'ready' FOR UPDATE SKIP LOCKED) f"),
            &[],
        )
        .await
        .expect("count the free")
        .get(0);
    ready - free
}

/// Drops a test's table when dropped, so that a failing test leaves nothing behind either.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let table = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let client = admin().await;
                // A test that failed may still hold a row locked on a connection of its
                // runtime, which cannot run while this waits: give up on the table after
                // a while (its name is this run's own) rather than hang the failed test.
                let _ = client
                    .batch_execute(&format!(
                        "SET lock_timeout = '5s'; DROP TABLE IF EXISTS \"{table}\""
                    ))
                    .await;
            });
        })
        .join();
    }
}

/// A publisher on `table`, which has published `m0`, `m1`, … `count` messages.
async fn publisher_of(table: &str, count: usize) -> postgres::PostgresPublisher {
    let publisher = postgres::publisher(URL, table).await.expect("publisher");
    for n in 0..count {
        publisher
            .publish(format!("m{n}").as_bytes())
            .await
            .expect("committed");
    }
    publisher
}

async fn drop_table(client: &Client, table: &str) {
    client
        .batch_execute(&format!("DROP TABLE \"{table}\""))
        .await
        .expect("drop the test's table");
}

async fn next(source: &mut PostgresSource) -> PostgresDelivery {
    tokio::time::timeout(Duration::from_secs(10), source.next())
        .await
        .expect("a delivery within 10 s")
        .expect("a delivery")
}

/// Whether `next` gives nothing for `wait` (its future is then dropped, which must lose
/// nothing).
async fn nothing_for(source: &mut PostgresSource, wait: Duration) -> bool {
    tokio::time::timeout(wait, source.next()).await.is_err()
}

fn text(delivery: &PostgresDelivery) -> String {
    delivery.message().text().expect("utf-8").to_string()
}

#[tokio::test]
async fn published_rows_are_taken_acknowledged_and_deleted() {
    if !broker::available(
        broker::POSTGRES,
        "published_rows_are_taken_acknowledged_and_deleted",
    ) {
        return;
    }
    let table = broker::unique_name("pg_ack");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    // The publisher comes first and creates the table; the source finds it.
    publisher_of(&table, 3).await;
    assert_eq!(
        count(&admin, &table, "ready").await,
        3,
        "each publish returned once committed"
    );
    let mut source = postgres::source(URL, &table, 4).await.expect("source");
    // Taken at once by the takes ahead: in any order among them.
    let mut texts = Vec::new();
    for _ in 0..3 {
        let delivery = next(&mut source).await;
        texts.push(text(&delivery));
        assert_eq!(delivery.message().attempt(), 1);
        delivery.ack().await.expect("ack");
    }
    texts.sort();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    assert!(source.stop().await.expect("stop").is_empty());
    source.close().await.expect("close");
    assert_eq!(
        count(&admin, &table, "ready").await,
        0,
        "acknowledged rows are deleted"
    );
    drop_table(&admin, &table).await;
}

#[tokio::test]
async fn two_sources_never_take_one_row_and_a_waiting_source_is_woken_by_a_publish() {
    if !broker::available(
        broker::POSTGRES,
        "two_sources_never_take_one_row_and_a_waiting_source_is_woken_by_a_publish",
    ) {
        return;
    }
    let table = broker::unique_name("pg_two");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    // The source comes first and creates the table.
    let mut a = postgres::source(URL, &table, 2).await.expect("source a");
    let mut b = postgres::source(URL, &table, 2).await.expect("source b");
    let publisher = publisher_of(&table, 4).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(next(&mut a).await);
        held.push(next(&mut b).await);
    }
    let mut texts: Vec<String> = held.iter().map(text).collect();
    texts.sort();
    assert_eq!(texts, ["m0", "m1", "m2", "m3"], "each row taken once");
    assert_eq!(locked(&admin, &table).await, 4);
    // Nothing left: a waiting next is dropped and loses nothing.
    assert!(nothing_for(&mut a, Duration::from_millis(300)).await);

    // A waiting source takes a new message at once, not at its next look. One of b's
    // handlers is free first: with both holding a row, it waits for a settlement.
    held.remove(1).ack().await.expect("ack");
    let waiting = tokio::spawn(async move {
        let delivery = next(&mut b).await;
        (delivery, Instant::now(), b)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let published = Instant::now();
    publisher.publish(b"late").await.expect("committed");
    let (late, taken, mut b) = waiting.await.expect("the waiting task");
    assert_eq!(text(&late), "late");
    assert!(
        taken.duration_since(published) < Duration::from_millis(500),
        "woken by the notification: {:?}",
        taken.duration_since(published)
    );
    held.push(late);
    for delivery in held {
        delivery.ack().await.expect("ack");
    }
    for source in [&mut a, &mut b] {
        source.stop().await.expect("stop");
    }
    // Nothing is taken after stop.
    publisher.publish(b"after").await.expect("committed");
    assert!(nothing_for(&mut a, Duration::from_millis(300)).await);
    a.close().await.expect("close");
    b.close().await.expect("close");
    assert_eq!(count(&admin, &table, "ready").await, 1);
    assert_eq!(locked(&admin, &table).await, 0);
    drop_table(&admin, &table).await;
}

#[tokio::test]
async fn hand_back_frees_at_once_uncounted_retry_counts_and_reject_keeps_a_dead_row() {
    if !broker::available(
        broker::POSTGRES,
        "hand_back_frees_at_once_uncounted_retry_counts_and_reject_keeps_a_dead_row",
    ) {
        return;
    }
    let table = broker::unique_name("pg_settle");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"flaky").await.expect("committed");
    let mut a = postgres::source(URL, &table, 1).await.expect("source a");
    let mut b = postgres::source(URL, &table, 1).await.expect("source b");

    let first = next(&mut a).await;
    assert!(
        nothing_for(&mut b, Duration::from_millis(200)).await,
        "held by a"
    );
    let waiting = tokio::spawn(async move { (next(&mut b).await, Instant::now(), b) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let handed = Instant::now();
    first.hand_back().await.expect("hand back");
    let (again, taken, mut b) = waiting.await.expect("the waiting task");
    assert!(
        taken.duration_since(handed) < Duration::from_millis(500),
        "free at once: {:?}",
        taken.duration_since(handed)
    );
    assert_eq!(
        again.message().attempt(),
        1,
        "a hand-back counts no attempt"
    );
    again.retry().await.expect("retry");
    let second = next(&mut a).await;
    assert_eq!(text(&second), "flaky");
    assert_eq!(second.message().attempt(), 2);
    second.retry().await.expect("retry");
    let third = next(&mut b).await;
    assert_eq!(third.message().attempt(), 3);
    third.reject().await.expect("reject");
    assert!(
        nothing_for(&mut a, Duration::from_millis(300)).await,
        "a dead row is not taken"
    );
    assert_eq!(
        count(&admin, &table, "dead").await,
        1,
        "the dead letter is kept"
    );
    assert_eq!(count(&admin, &table, "ready").await, 0);
    let attempt: i32 = admin
        .query_one(&format!("SELECT attempt FROM \"{table}\""), &[])
        .await
        .expect("the dead row")
        .get(0);
    assert_eq!(attempt, 3);
    for source in [&mut a, &mut b] {
        source.stop().await.expect("stop");
    }
    a.close().await.expect("close");
    b.close().await.expect("close");
    drop_table(&admin, &table).await;
}

/// A TCP proxy to the server that the test cuts, as a crash or a network failure would.
struct Proxy {
    addr: std::net::SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(to: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let spawned = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                spawned.lock().unwrap().push(task);
            }
        });
        tasks.lock().unwrap().push(accept);
        Proxy { addr, tasks }
    }

    fn url(&self) -> String {
        format!("postgres://postgres:secret@{}/test", self.addr)
    }

    /// Drops every connection through it, and goes on taking new ones.
    fn drop_connections(&self) {
        for task in self.tasks.lock().unwrap().drain(..).skip(1) {
            task.abort();
        }
    }

    /// Drops every connection through it, and takes no new one.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn a_cut_consumers_rows_come_back_by_themselves_and_cannot_be_settled_after() {
    if !broker::available(
        broker::POSTGRES,
        "a_cut_consumers_rows_come_back_by_themselves_and_cannot_be_settled_after",
    ) {
        return;
    }
    let table = broker::unique_name("pg_cut");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let proxy = Proxy::start(broker::POSTGRES.addr).await;
    let mut doomed = postgres::source(&proxy.url(), &table, 2)
        .await
        .expect("source through the proxy");
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"a").await.expect("committed");
    publisher.publish(b"b").await.expect("committed");
    // Both are taken at once by the takes ahead; either is given out first.
    let held = next(&mut doomed).await;
    assert!(
        ["a", "b"].contains(&text(&held).as_str()),
        "{}",
        text(&held)
    );

    proxy.cut();
    // PostgreSQL rolls the cut connection's transaction back: the row is free at once.
    let mut survivor = postgres::source(URL, &table, 2).await.expect("source");
    let started = Instant::now();
    let mut got = Vec::new();
    for _ in 0..2 {
        let delivery = next(&mut survivor).await;
        assert_eq!(delivery.message().attempt(), 1);
        got.push(text(&delivery));
        delivery.ack().await.expect("ack");
    }
    got.sort();
    assert_eq!(got, ["a", "b"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no lease to wait for: {:?}",
        started.elapsed()
    );

    // The cut side says so, and deletes nothing it no longer holds.
    let error = tokio::time::timeout(Duration::from_secs(35), held.ack())
        .await
        .expect("a settlement on a cut connection returns")
        .expect_err("an ack on a cut connection is an error");
    assert!(error.to_string().contains(&table), "{error}");
    assert!(
        !error.to_string().contains("secret"),
        "no password: {error}"
    );
    let again = tokio::time::timeout(Duration::from_secs(15), doomed.next())
        .await
        .expect("next returns")
        .expect_err("the server is unreachable through the cut proxy");
    assert!(
        again.to_string().contains(&proxy.addr.to_string()),
        "{again}"
    );

    survivor.stop().await.expect("stop");
    survivor.close().await.expect("close");
    doomed.stop().await.expect("stop");
    doomed.close().await.expect("close of a cut source");
    assert_eq!(count(&admin, &table, "ready").await, 0);
    drop_table(&admin, &table).await;
}

#[tokio::test]
async fn a_wrong_url_an_unreachable_server_and_a_refused_login_are_clear_errors_at_once() {
    if !broker::available(
        broker::POSTGRES,
        "a_wrong_url_an_unreachable_server_and_a_refused_login_are_clear_errors_at_once",
    ) {
        return;
    }
    let table = broker::unique_name("pg_errors");
    let _cleanup = Cleanup(table.clone());
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let cases = [
        (
            "postgres://app:secret@127.0.0.1:notaport/test".to_string(),
            "bad PostgreSQL URL",
        ),
        (
            format!("postgres://app:secret@{refused}/test"),
            "cannot connect to",
        ),
        (
            format!("postgres://app:secret@{silent_addr}/test?connect_timeout=1"),
            "cannot connect to",
        ),
        // No such role: the login is refused.
        (
            "postgres://nobody_here:secret@127.0.0.1:5432/test".to_string(),
            "cannot connect to",
        ),
        (
            "postgres://postgres:secret@127.0.0.1:5432/no_such_database".to_string(),
            "cannot connect to",
        ),
    ];
    for (url, expected) in cases {
        let started = Instant::now();
        let error = postgres::source(&url, &table, 1).await.expect_err(&url);
        let shown = error.to_string();
        assert!(shown.contains(expected), "{url}: {shown}");
        assert!(
            !shown.contains("secret"),
            "{url}: the password is not shown: {shown}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: at once, not {:?}",
            started.elapsed()
        );
        let error = postgres::publisher(&url, &table).await.expect_err(&url);
        assert!(error.to_string().contains(expected), "{url}: {error}");
    }
    let error = postgres::source("postgres://nobody_here@127.0.0.1:5432/test", &table, 1)
        .await
        .expect_err("a refused login");
    // The client's error is the source, and the chain says why.
    let causes = &broker::chain(&error)[1..];
    assert!(
        causes.iter().any(|e| e.contains("nobody_here")),
        "{causes:?}"
    );
}

#[tokio::test]
async fn a_lost_connection_is_said_and_the_next_call_connects_again() {
    if !broker::available(
        broker::POSTGRES,
        "a_lost_connection_is_said_and_the_next_call_connects_again",
    ) {
        return;
    }
    let table = broker::unique_name("pg_again");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let proxy = Proxy::start(broker::POSTGRES.addr).await;
    // Two handlers: the second is free while the first holds the lost row.
    let mut source = postgres::source(&proxy.url(), &table, 2)
        .await
        .expect("source");
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"a").await.expect("committed");
    let held = next(&mut source).await;
    proxy.drop_connections();
    // The row is free again at once; the source notices at its next call, connects again
    // and takes it.
    let mut again = None;
    for _ in 0..5 {
        match tokio::time::timeout(Duration::from_secs(10), source.next())
            .await
            .expect("next returns")
        {
            Ok(delivery) => {
                again = Some(delivery);
                break;
            }
            // Said with the queue it was for, even when the connection was lost while a
            // take ahead was connecting.
            Err(e) => assert!(e.to_string().contains(&table), "{:?}", broker::chain(&e)),
        }
    }
    let again = again.expect("the row taken again");
    assert_eq!(text(&again), "a");
    assert_eq!(again.message().attempt(), 1);
    assert!(
        held.ack().await.is_err(),
        "the lost delivery cannot be acknowledged"
    );
    again.ack().await.expect("ack on the new connection");
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    assert_eq!(count(&admin, &table, "ready").await, 0);
    drop_table(&admin, &table).await;
}

#[tokio::test]
async fn a_server_out_of_reach_at_the_next_call_is_said_with_the_queue() {
    if !broker::available(
        broker::POSTGRES,
        "a_server_out_of_reach_at_the_next_call_is_said_with_the_queue",
    ) {
        return;
    }
    let table = broker::unique_name("pg_reach");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let proxy = Proxy::start(broker::POSTGRES.addr).await;
    let mut source = postgres::source(&proxy.url(), &table, 1)
        .await
        .expect("source");
    // The server goes out of reach before the source's first take: its connections, the
    // listener's and the takes', cannot be made.
    proxy.cut();
    tokio::task::yield_now().await;
    let error = tokio::time::timeout(Duration::from_secs(15), source.next())
        .await
        .expect("next returns")
        .expect_err("no server to reach");
    let chain = broker::chain(&error);
    assert!(chain[0].contains(&table), "names the queue: {chain:?}");
    assert!(
        chain.iter().any(|e| e.contains("cannot connect to")),
        "says why: {chain:?}"
    );
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    drop_table(&admin, &table).await;
}

#[tokio::test]
async fn a_source_holds_no_more_rows_than_handlers_while_settlements_are_under_way() {
    if !broker::available(
        broker::POSTGRES,
        "a_source_holds_no_more_rows_than_handlers_while_settlements_are_under_way",
    ) {
        return;
    }
    let table = broker::unique_name("pg_bound");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let mut source = postgres::source(URL, &table, 2).await.expect("source");
    publisher_of(&table, 3).await;
    let first = next(&mut source).await;
    let second = next(&mut source).await;
    // The runner asks again as a handler's work ends, before its settlement returned: with
    // both rows still held, a third waits (on no connection of its own) though it is ready.
    assert!(nothing_for(&mut source, Duration::from_millis(500)).await);
    assert_eq!(locked(&admin, &table).await, 2);
    // As a settlement ends, its connection takes the next row.
    let waiting = tokio::spawn(async move {
        let third = next(&mut source).await;
        (third, source)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.ack().await.expect("ack");
    let (third, mut source) = waiting.await.expect("the waiting task");
    assert_eq!(text(&third), "m2");
    for delivery in [second, third] {
        delivery.ack().await.expect("ack");
    }
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    assert_eq!(count(&admin, &table, "ready").await, 0);
    drop_table(&admin, &table).await;
}

/// "`graceful::consume::postgres::schema(name)` returns this SQL, for migrations when the
/// service's role may not create tables."
#[tokio::test]
async fn pg_a_role_that_may_not_create_tables_uses_a_table_made_by_a_migration() {
    if !broker::available(
        broker::POSTGRES,
        "pg_a_role_that_may_not_create_tables_uses_a_table_made_by_a_migration",
    ) {
        return;
    }
    let table = broker::unique_name("pg_mig");
    let role = broker::unique_name("role");
    let admin = admin().await;
    // The migration, run by the table's owner.
    admin
        .batch_execute(&postgres::schema(&table))
        .await
        .expect("the migration");
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON \"{table}\" TO \"{role}\"; \
             GRANT USAGE ON SEQUENCE \"{table}_id_seq\" TO \"{role}\";"
        ))
        .await
        .expect("the service's role");
    let url = format!("postgres://{role}@127.0.0.1:5432/test");
    let publisher = postgres::publisher(&url, &table)
        .await
        .map(drop)
        .map_err(|e| broker::chain(&e));
    let source = postgres::source(&url, &table, 1)
        .await
        .map(drop)
        .map_err(|e| broker::chain(&e));
    let _ = admin
        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
        .await;
    let _ = admin
        .batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .await;
    assert!(
        publisher.is_ok(),
        "publisher as a role that may not create tables: {publisher:?}"
    );
    assert!(
        source.is_ok(),
        "source as a role that may not create tables: {source:?}"
    );
}

/// "a wrong URL … [is an error] naming the server without the password".
#[tokio::test]
async fn pg_a_wrong_url_never_shows_its_password() {
    if !broker::available(broker::POSTGRES, "pg_a_wrong_url_never_shows_its_password") {
        return;
    }
    let table = broker::unique_name("pg_wrong_url");
    let cases = [
        (
            "postgres://app@127.0.0.1:notaport/test?password=hunter2",
            "hunter2",
        ),
        ("postgres://app:hun/ter2@127.0.0.1:notaport/test", "ter2"),
        (
            "host=127.0.0.1 port=notaport user=app password='hunter two' dbname=test",
            "two",
        ),
        (
            "host=127.0.0.1 port=notaport user=app password = hunter2 dbname=test",
            "hunter2",
        ),
        // The key-value form, whatever `://` it holds: only a string that starts with
        // `postgres://` or `postgresql://` is a URL.
        (
            "host=127.0.0.1 port=notaport user=app password=hunter2 application_name=http://x dbname=test",
            "hunter2",
        ),
        (
            "host=127.0.0.1 port=notaport user=app password=hunt://er2 dbname=test",
            "er2",
        ),
        // A `\` keeps the space after it in the value.
        (
            r"host=127.0.0.1 port=notaport user=app password=hunter\ two dbname=test",
            "two",
        ),
        (
            r"host=127.0.0.1 port=notaport user=app password='hunter\' two' dbname=test",
            "two",
        ),
        // Where the parser stops, the rest is not shown.
        (
            "host=127.0.0.1 port=notaport user=app password hunter2",
            "hunter2",
        ),
        // A query's keys are percent-decoded.
        (
            "postgres://app@127.0.0.1:notaport/test?pass%77ord=hunter2",
            "hunter2",
        ),
        // An `@` in the query ends the user part there: the user holds the password.
        (
            "postgresql://127.0.0.1/test?password=hunter2&application_name=a@b",
            "hunter2",
        ),
        (
            "postgresql://127.0.0.1/test?application_name=a@b&password=hunter2",
            "hunter2",
        ),
        (
            "postgresql://127.0.0.1/test?password=hunter2&application_name=a@b:notaport",
            "hunter2",
        ),
        (
            "postgresql://127.0.0.1/test?application_name=a@b:notaport&password=hunter2",
            "hunter2",
        ),
        // An `@` in the password ends it there for tokio-postgres: the rest is the host.
        ("postgres://app:hun@ter2@127.0.0.1:1/test", "ter2"),
        ("postgres://app:hun@ter2@127.0.0.1:notaport/test", "ter2"),
    ];
    let mut leaks = Vec::new();
    for (url, secret) in cases {
        let error = postgres::source(url, &table, 1).await.expect_err(url);
        let shown = broker::chain(&error);
        if shown.iter().any(|e| e.contains(secret)) {
            leaks.push(shown);
        }
    }
    assert!(leaks.is_empty(), "the password is shown: {leaks:#?}");
}

/// "Intake stop. `stop` stops taking and returns the rows taken ahead for free handlers but
/// not given out", handed back with no attempt counted.
#[tokio::test]
async fn pg_stop_returns_the_rows_taken_ahead() {
    if !broker::available(broker::POSTGRES, "pg_stop_returns_the_rows_taken_ahead") {
        return;
    }
    let table = broker::unique_name("pg_stop");
    let admin = admin().await;
    let mut source = postgres::source(URL, &table, 2).await.expect("source");
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"a").await.expect("committed");
    publisher.publish(b"b").await.expect("committed");
    let first = next(&mut source).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let returned = source.stop().await.expect("stop");
    let texts: Vec<String> = returned
        .iter()
        .map(|d| d.message().text().unwrap_or_default().to_owned())
        .collect();
    for delivery in returned {
        delivery.hand_back().await.expect("hand back");
    }
    first.hand_back().await.expect("hand back");
    source.close().await.expect("close");
    let ready = count(&admin, &table, "ready").await;
    let _ = admin
        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
        .await;
    assert_eq!(texts, ["b"], "stop returns the row taken ahead");
    assert_eq!(ready, 2, "both rows are back, ready");
}

/// "A lost connection. `next` returns an error and connects again at the runner's next
/// call".
#[tokio::test]
async fn pg_after_a_lost_connection_the_next_call_connects_again() {
    if !broker::available(
        broker::POSTGRES,
        "pg_after_a_lost_connection_the_next_call_connects_again",
    ) {
        return;
    }
    let table = broker::unique_name("pg_lost");
    let app = broker::unique_name("app");
    let admin = admin().await;
    let url = format!("{URL}?application_name={app}");
    let mut source = postgres::source(&url, &table, 4).await.expect("source");
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"a").await.expect("committed");
    next(&mut source).await.ack().await.expect("ack");
    // Every take ahead ended (the table is empty): their connections are idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed: Vec<tokio_postgres::Row> = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .expect("terminate");
    assert!(!killed.is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    publisher.publish(b"b").await.expect("committed");
    let mut errors = Vec::new();
    let mut taken = None;
    for _ in 0..8 {
        match timeout(Duration::from_secs(10), source.next())
            .await
            .expect("next returns")
        {
            Ok(delivery) => {
                taken = Some(delivery);
                break;
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let Some(delivery) = taken {
        delivery.ack().await.expect("ack");
    }
    let _ = source.stop().await;
    let _ = source.close().await;
    let _ = admin
        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
        .await;
    assert!(
        errors.len() <= 1,
        "{} calls of next failed before one connected again: {errors:#?}",
        errors.len()
    );
}

/// "When the server goes away during a drain, each such settlement is logged ("the
/// connection was lost") … the rows it did not commit are taken by the next consumer."
#[tokio::test]
async fn pg_a_settlement_on_a_lost_connection_says_the_connection_was_lost() {
    if !broker::available(
        broker::POSTGRES,
        "pg_a_settlement_on_a_lost_connection_says_the_connection_was_lost",
    ) {
        return;
    }
    let table = broker::unique_name("pg_midsettle");
    let app = broker::unique_name("app");
    let admin = admin().await;
    let url = format!("{URL}?application_name={app}");
    let mut source = postgres::source(&url, &table, 1).await.expect("source");
    let publisher = postgres::publisher(URL, &table).await.expect("publisher");
    publisher.publish(b"a").await.expect("committed");
    let held = next(&mut source).await;
    let id = held.message().id().to_owned();
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .expect("terminate");
    let error = held.ack().await.expect_err("the connection is gone");
    let said = broker::chain(&error);
    let _ = source.stop().await;
    let _ = source.close().await;
    let ready: i64 = admin
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .await
        .expect("count")
        .get(0);
    let _ = admin
        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
        .await;
    assert_eq!(ready, 1, "the row is still there for the next consumer");
    assert!(said[0].contains("the connection was lost"), "{said:?}");
    assert!(
        said[0].contains(&format!("message {id} of queue \"{table}\"")),
        "names the message and the queue: {said:?}"
    );
    // Said before the ack was sent, or as it went (the server's FATAL answer may come as
    // its answer): the message is back in the queue, or may be.
    assert!(
        said[0].contains("the message is back in the queue")
            || said[0]
                .contains("if the server did not commit it, the message returns to the queue"),
        "{said:?}"
    );
}

/// A TCP proxy to the server that, once armed, passes a client's message holding `COMMIT`
/// on to the server and then closes the client's connection without relaying the answer:
/// the server commits, and the client never hears of it.
struct AnswerCutter {
    addr: std::net::SocketAddr,
    armed: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl AnswerCutter {
    async fn start(to: &'static str) -> AnswerCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let armed = Arc::new(AtomicBool::new(false));
        let arming = armed.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let armed = arming.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(to).await {
                        relay_until_a_commit(client, server, &armed).await;
                    }
                });
            }
        });
        AnswerCutter {
            addr,
            armed,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres:secret@{}/test", self.addr)
    }

    /// From now on, the answer to a `COMMIT` is lost.
    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl Drop for AnswerCutter {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay_until_a_commit(client: TcpStream, server: TcpStream, armed: &AtomicBool) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    let cut = loop {
        tokio::select! {
            read = from_client.read(&mut up) => {
                let n = match read {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => n,
                };
                let commit = armed.load(Ordering::SeqCst)
                    && up[..n].windows(b"COMMIT".len()).any(|w| w == b"COMMIT");
                if to_server.write_all(&up[..n]).await.is_err() {
                    break false;
                }
                if commit {
                    break true;
                }
            }
            read = from_server.read(&mut down) => {
                let n = match read {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => n,
                };
                if to_client.write_all(&down[..n]).await.is_err() {
                    break false;
                }
            }
        }
    };
    if cut {
        drop((from_client, to_client));
        // The server reads the commit before the end of its connection, runs it, and
        // answers into the void.
        let _ = to_server.shutdown().await;
        let _ = tokio::io::copy(&mut from_server, &mut tokio::io::sink()).await;
    }
}

#[tokio::test]
async fn a_settlement_whose_answer_is_lost_after_its_commit_says_the_outcome_is_unknown() {
    if !broker::available(
        broker::POSTGRES,
        "a_settlement_whose_answer_is_lost_after_its_commit_says_the_outcome_is_unknown",
    ) {
        return;
    }
    let table = broker::unique_name("pg_in_doubt");
    let _cleanup = Cleanup(table.clone());
    let admin = admin().await;
    let proxy = AnswerCutter::start(broker::POSTGRES.addr).await;
    let publisher = publisher_of(&table, 1).await;
    let mut source = postgres::source(&proxy.url(), &table, 1)
        .await
        .expect("source through the proxy");
    let held = next(&mut source).await;
    let id = held.message().id().to_owned();
    proxy.arm();
    let error = timeout(Duration::from_secs(35), held.ack())
        .await
        .expect("an ack whose answer is lost returns")
        .expect_err("no answer: an error");
    let said = broker::chain(&error);
    // The server ran the commit: the row is gone, and is not taken again.
    let mut rows: i64 = -1;
    for _ in 0..50 {
        rows = admin
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .await
            .expect("count")
            .get(0);
        if rows == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows, 0, "the commit ran: {said:?}");
    assert!(
        said[0].contains(&format!("message {id} of queue \"{table}\"")),
        "names the message and the queue: {said:?}"
    );
    assert!(said[0].contains("the connection was lost"), "{said:?}");
    assert!(said[0].contains("the outcome is unknown"), "{said:?}");
    assert!(
        !said.iter().any(|e| e.contains("is back in the queue")),
        "the message is not back in the queue: {said:?}"
    );
    assert!(!said.iter().any(|e| e.contains("secret")), "{said:?}");
    drop(publisher);
    source.stop().await.expect("stop");
    source.close().await.expect("close");
    drop_table(&admin, &table).await;
}
