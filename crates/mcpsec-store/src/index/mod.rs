//! Event search: a full-text and field index over events, always queried within one
//! tenant. Embedded backend: tantivy ([`TantivyIndex`]); ClickHouse later.

mod schema;
mod tantivy_index;

pub use tantivy_index::{TantivyIndex, TantivyOptions};

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::{Event, TenantId};
use serde::Serialize;

/// The most results one search returns.
pub const MAX_LIMIT: usize = 10_000;

/// Result order by event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Newest first (the default).
    #[default]
    Desc,
    /// Oldest first.
    Asc,
    /// In log order (sequence number, ascending): what followers need, since event times
    /// need not follow arrival order.
    SeqAsc,
}

/// A search over one tenant's events.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Lucene-style query string (`*` or empty: everything). Bare terms search all
    /// text; `field.path:value` targets a field; `_format:`, `_source:`, `_id:` target
    /// event metadata.
    pub query: String,
    /// Inclusive lower bound on event time.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on event time.
    pub to: Option<DateTime<Utc>>,
    /// Results per page (capped at [`MAX_LIMIT`]).
    pub limit: usize,
    /// Results to skip.
    pub offset: usize,
    /// Order by event time.
    pub order: SortOrder,
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// Matching events in all pages.
    pub total: u64,
    /// This page.
    pub events: Vec<Event>,
}

/// An event to index, with its encoded form (stored as is, returned by searches).
#[derive(Debug, Clone, Copy)]
pub struct IndexItem<'a> {
    /// The decoded event (with `seq` set).
    pub event: &'a Event,
    /// The event as encoded in the log.
    pub raw: &'a [u8],
}

/// A search index over events.
pub trait SearchIndex: Send + Sync + 'static {
    /// Adds events read from the log up to `through_seq` (events that could not be
    /// decoded are skipped but still count as done); visible at the next commit.
    fn add(&self, items: &[IndexItem<'_>], through_seq: u64) -> Result<()>;
    /// Makes everything added (and deleted) durable and visible, recording the highest
    /// `through_seq` added so far in the same commit; returns it. Safe to call from
    /// any task: what it records always matches what it commits.
    fn commit(&self) -> Result<u64>;
    /// The last log sequence number whose event is durably indexed.
    fn indexed_seq(&self) -> u64;
    /// Searches one tenant's events.
    fn search(&self, tenant: &TenantId, req: &SearchRequest) -> Result<SearchResult>;
    /// Calls `visit` with every event of `tenant` matching `query` in `[from, to)`, in no
    /// particular order, in bounded memory; returns how many it visited. Stops at the
    /// first error, from the index or from `visit`.
    fn for_each_event(
        &self,
        tenant: &TenantId,
        query: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        visit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<u64>;
    /// One event by id, within a tenant.
    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>>;
    /// Removes events with a time before `cutoff` (applied at the next commit).
    fn delete_before(&self, cutoff: DateTime<Utc>) -> Result<()>;
    /// Removes events with a log sequence number of `seq` or more (for replay).
    fn delete_from_seq(&self, seq: u64) -> Result<()>;
    /// The oldest event time indexed, if any.
    fn oldest_time(&self) -> Result<Option<DateTime<Utc>>>;
    /// Number of indexed events (all tenants).
    fn doc_count(&self) -> u64;
    /// Bytes on disk.
    fn size_bytes(&self) -> u64;
}
