//! Errors of the ingest path.

use mcpsec_core::ErrorCode;
use std::time::Duration;

/// Why events were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue in front of the log is full.
    #[error("ingest queue is full ({queued} events waiting); retry in {}s", retry_after.as_secs())]
    QueueFull {
        /// Events waiting.
        queued: usize,
        /// When to try again.
        retry_after: Duration,
    },
    /// The server is shutting down.
    #[error("ingest is shutting down")]
    ShuttingDown,
    /// The body exceeds the configured limit (after decompression too).
    #[error("request body exceeds the {limit} byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be decoded (bad compression, not JSON at all, empty).
    #[error("{0}")]
    BadBody(String),
    /// The event log failed.
    #[error("event log: {0}")]
    Store(#[from] mcpsec_store::StoreError),
}

impl IngestError {
    /// The transport-independent error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            IngestError::QueueFull { .. } => ErrorCode::Overloaded,
            IngestError::ShuttingDown => ErrorCode::Unavailable,
            IngestError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            IngestError::BadBody(_) => ErrorCode::BadRequest,
            IngestError::Store(e) => e.code(),
        }
    }

    /// Seconds a client should wait before retrying, for overload errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            IngestError::QueueFull { retry_after, .. } => Some(*retry_after),
            IngestError::ShuttingDown => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}
