//! What each consumer of `graceful::consume` did with its messages, as the report tells
//! it. Plain numbers: the report sits below the runner, and the runner fills these in.

use std::fmt;

/// What one consumer did with its deliveries, over the program's life.
///
/// Once the consumer has finished, every delivery given to a handler (`taken`) has ended
/// in exactly one of `done`, `retried`, `rejected`, `handed_back_cut` or `settle_failed`,
/// and every delivery taken off the broker but never started in `handed_back_unstarted`,
/// or in `settle_failed` when its hand-back failed. So the six add up to `taken` plus the
/// deliveries never started, and, when no settlement failed, to
/// `taken + handed_back_unstarted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerCounts {
    /// Deliveries given to a handler.
    pub taken: u64,
    /// Handled, and acknowledged.
    pub done: u64,
    /// Handler runs that returned an error or panicked (each attempt counts).
    pub failed: u64,
    /// Of `failed`, those that panicked.
    pub panicked: u64,
    /// Failed and returned to the queue for another attempt.
    pub retried: u64,
    /// Failed for the last time: dead-lettered, or dropped where the source has no dead
    /// letters.
    pub rejected: u64,
    /// Taken off the broker (prefetched, buffered) but never started when intake
    /// stopped: handed back at once.
    pub handed_back_unstarted: u64,
    /// Cut at the hard stop while their handler ran: handed back for the next instance.
    pub handed_back_cut: u64,
    /// Settlements (ack, retry, reject, hand back) that the broker refused or never
    /// confirmed: the message is the broker's to deliver again.
    pub settle_failed: u64,
}

/// `taken 12, done 10, failed 1 (retried 1, rejected 0), handed back 3 unstarted and 1 cut`,
/// then `, 2 settlements failed` and `, 1 panicked` when there were any.
impl fmt::Display for ConsumerCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "taken {}, done {}, failed {} (retried {}, rejected {}), handed back {} unstarted and {} cut",
            self.taken,
            self.done,
            self.failed,
            self.retried,
            self.rejected,
            self.handed_back_unstarted,
            self.handed_back_cut
        )?;
        if self.panicked > 0 {
            write!(f, ", {} panicked", self.panicked)?;
        }
        if self.settle_failed > 0 {
            write!(f, ", {} settlements failed", self.settle_failed)?;
        }
        Ok(())
    }
}

/// One consumer in the [`Report`](crate::Report): its name and its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerReport {
    pub(crate) name: String,
    pub(crate) counts: ConsumerCounts,
}

impl ConsumerReport {
    /// The name given to the consumer.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What it did.
    pub fn counts(&self) -> ConsumerCounts {
        self.counts
    }
}
