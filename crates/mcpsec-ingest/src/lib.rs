//! Ingest for mcpsec: everything between a client or source and the event log.
//!
//! Key design decision: one writer appends to the log, and it commits many requests'
//! events with one fsync (group commit). A request is answered only after its events
//! are durable, so a 2xx always means "on disk"; when the writer falls behind, the
//! bounded queue refuses new work with a retry hint instead of growing without limit.
//!
//! - [`body`]: HTTP bodies (JSON array, NDJSON, text lines; gzip/zstd) into events, with
//!   per-line errors.
//! - [`Pipeline`]: the bounded queue and the group-commit writer.
//! - [`sources`]: syslog (UDP/TCP) and file tailing.

pub mod body;
mod error;
mod pipeline;
pub mod sources;

pub use error::IngestError;
pub use pipeline::{Appended, Pipeline, PipelineOptions};
