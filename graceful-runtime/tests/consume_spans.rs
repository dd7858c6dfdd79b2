//! Each message's tracing span. A test binary of its own: tracing's level hint is global,
//! and another test's subscriber, set or dropped on another thread at that moment, could
//! turn the span off while this test's subscriber waits for it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful::consume::{Consumer, Delivery, Error, Message, Source};
use graceful::testing::Harness;
use tokio::time::sleep;

/// A writer that keeps what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Gives out its messages, then nothing.
struct Listed(VecDeque<Message>);

struct Taken(Message);

impl Source for Listed {
    type Delivery = Taken;

    async fn next(&mut self) -> Result<Taken, Error> {
        match self.0.pop_front() {
            Some(message) => Ok(Taken(message)),
            None => std::future::pending().await,
        }
    }

    async fn stop(&mut self) -> Result<Vec<Taken>, Error> {
        Ok(self.0.drain(..).map(Taken).collect())
    }

    async fn close(self) -> Result<(), Error> {
        Ok(())
    }
}

impl Delivery for Taken {
    fn message(&self) -> &Message {
        &self.0
    }
    async fn ack(self) -> Result<(), Error> {
        Ok(())
    }
    async fn retry(self) -> Result<(), Error> {
        Ok(())
    }
    async fn reject(self) -> Result<(), Error> {
        Ok(())
    }
    async fn hand_back(self) -> Result<(), Error> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn each_message_runs_in_a_span_with_the_consumer_its_id_and_its_attempt() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let source = Listed(VecDeque::from([
        Message::new("1", &b"one"[..], 1),
        Message::new("9", &b"nine"[..], 3),
    ]));
    Harness::new()
        .without_registered_hooks()
        .run(async move {
            let consumer = Consumer::new("spans", source).start(|_| async {
                tracing::info!("working");
                Ok::<(), String>(())
            });
            sleep(Duration::from_secs(1)).await;
            graceful::request_shutdown("test over");
            consumer.finished().await.map(|_| ())
        })
        .await;
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("message{consumer=spans id=1 attempt=1}: consume_spans: working"),
        "{text}"
    );
    assert!(
        text.contains("message{consumer=spans id=9 attempt=3}: consume_spans: working"),
        "{text}"
    );
}
