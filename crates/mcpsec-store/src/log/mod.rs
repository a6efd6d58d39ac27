//! The append-only event log: every accepted event gets the next sequence number, and a
//! batch is durable (written and fsynced) before `append` returns.
//!
//! Consumers (the indexer, later detection) read it through a [`LogCursor`] from the
//! sequence number they last finished, so a crash costs a replay, never a loss.

mod file;
mod record;

pub(crate) use file::list_segments as list_segment_files;
pub use file::{FileLog, FileLogOptions};
pub use record::MAX_RECORD_LEN;
pub(crate) use record::copy_valid_prefix;

use crate::Result;
use std::time::SystemTime;
use tokio::sync::watch;

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its sequence number (1-based, gap-free while retained).
    pub seq: u64,
    /// The bytes appended (an event encoded as JSON).
    pub payload: Vec<u8>,
}

/// The range of sequence numbers the log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LogBounds {
    /// Oldest retained sequence number (equals `last_seq + 1` when empty).
    pub first_seq: u64,
    /// Newest durable sequence number (0 when nothing was ever appended).
    pub last_seq: u64,
}

/// What a retention pass removed from the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Whole segments deleted.
    pub segments: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// Which segments a retention pass may remove. A segment is removed only when every
/// record in it is below `keep_from_seq` (all consumers are past it) **and** it is older
/// than `older_than` or the log is above `max_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct RetainPolicy {
    /// Lowest sequence number any consumer still needs.
    pub keep_from_seq: u64,
    /// Remove segments last written before this time.
    pub older_than: Option<SystemTime>,
    /// Remove the oldest segments while the log is larger than this.
    pub max_bytes: Option<u64>,
}

/// An append-only, durable, replayable log of encoded events.
pub trait EventLog: Send + Sync + 'static {
    /// Appends the payloads in order as one durable batch and returns the sequence number
    /// given to the first. On error nothing of the batch is visible to readers.
    fn append(&self, payloads: &[&[u8]]) -> Result<u64>;
    /// A cursor that yields records from `from_seq` on (clamped to the oldest retained).
    fn cursor(&self, from_seq: u64) -> Result<Box<dyn LogCursor>>;
    /// The retained range.
    fn bounds(&self) -> LogBounds;
    /// A channel that changes whenever new records become durable (value: last seq).
    fn watch(&self) -> watch::Receiver<u64>;
    /// Removes old segments according to the policy.
    fn retain(&self, policy: RetainPolicy) -> Result<Removed>;
    /// Bytes on disk.
    fn size_bytes(&self) -> u64;
}

/// Reads a log sequentially.
pub trait LogCursor: Send {
    /// Up to `max_records` records (and roughly `max_bytes`), empty when caught up.
    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<LogRecord>>;
    /// The sequence number the next record will have.
    fn position(&self) -> u64;
}
