//! A broker in the subject's own process, for the runner's own cost a message: no network,
//! no broker's work, the same for the runner and the loop by hand. It delivers
//! `BENCH_COUNT` messages (`0`, "1", "2", …; without a count, for ever), at most `window`
//! unacknowledged at once as a prefetch allows, and delivers the next one when an
//! acknowledgement comes back to its task, as a broker's connection would.

use graceful::consume::{Delivery, Error, Message, Source};
use tokio::sync::mpsc;

/// The two ends a consumer holds: deliveries (tag and payload), and acknowledgements.
pub(crate) struct Broker {
    pub(crate) deliveries: mpsc::UnboundedReceiver<(u64, Vec<u8>)>,
    pub(crate) acks: mpsc::UnboundedSender<u64>,
}

/// Starts the broker's task: `count` messages (`0`: no end), `window` unacknowledged.
pub(crate) fn start(count: usize, window: usize) -> Broker {
    let (deliver, deliveries) = mpsc::unbounded_channel();
    let (acks, mut acked) = mpsc::unbounded_channel::<u64>();
    let total = if count == 0 { u64::MAX } else { count as u64 };
    tokio::spawn(async move {
        let mut next = 0u64;
        let send = |next: &mut u64| {
            if *next < total {
                // The payload is made here, as a client crate reads it off its socket.
                let _ = deliver.send((*next, next.to_string().into_bytes()));
                *next += 1;
            }
        };
        for _ in 0..window {
            send(&mut next);
        }
        while acked.recv().await.is_some() {
            send(&mut next);
        }
    });
    Broker { deliveries, acks }
}

/// The broker as a runner's source.
pub(crate) struct MemorySource(pub(crate) Broker);

/// One delivery: its acknowledgement goes back to the broker's task.
pub(crate) struct MemoryDelivery {
    message: Message,
    tag: u64,
    acks: mpsc::UnboundedSender<u64>,
}

impl Source for MemorySource {
    type Delivery = MemoryDelivery;

    async fn next(&mut self) -> Result<MemoryDelivery, Error> {
        match self.0.deliveries.recv().await {
            Some((tag, payload)) => Ok(MemoryDelivery {
                message: Message::new(tag.to_string(), payload, 1),
                tag,
                acks: self.0.acks.clone(),
            }),
            // Every message was delivered: nothing more comes.
            None => std::future::pending().await,
        }
    }

    async fn stop(&mut self) -> Result<Vec<MemoryDelivery>, Error> {
        Ok(Vec::new())
    }

    async fn close(self) -> Result<(), Error> {
        Ok(())
    }
}

impl MemoryDelivery {
    fn settle(self) -> Result<(), Error> {
        self.acks
            .send(self.tag)
            .map_err(|_| Error::msg("the in-process broker is gone"))
    }
}

impl Delivery for MemoryDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn ack(self) -> Result<(), Error> {
        self.settle()
    }

    async fn retry(self) -> Result<(), Error> {
        self.settle()
    }

    async fn reject(self) -> Result<(), Error> {
        self.settle()
    }

    async fn hand_back(self) -> Result<(), Error> {
        self.settle()
    }
}
