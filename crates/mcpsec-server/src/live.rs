//! Live streams of newly searchable events matching a query, shared by the gRPC `Tail`
//! and the WebSocket `/api/v1/stream`.
//!
//! A follower reads the *index* (after a sequence number), never the ingest path, so a
//! slow or stuck consumer can never hold up ingest: its bounded buffer fills and it is
//! dropped with a reason instead.

use crate::ApiError;
use mcpsec_core::{Event, TenantId};
use mcpsec_store::{SearchIndex, SearchRequest, SortOrder};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a follower looks for new events.
pub const POLL: Duration = Duration::from_millis(250);
/// Most events one poll fetches.
const BATCH: usize = 1000;

/// Why a follow ended.
#[derive(Debug)]
pub enum FollowEnd {
    /// The query failed (reported once).
    Failed(ApiError),
    /// The consumer stopped reading fast enough and its buffer filled up.
    SlowConsumer,
}

/// One item of a follow stream.
pub type FollowItem = Result<Event, FollowEnd>;

/// Checks a query once so that a bad one is refused before the stream starts.
pub async fn validate(
    index: &Arc<dyn SearchIndex>,
    tenant: &TenantId,
    query: &str,
) -> Result<(), ApiError> {
    let probe = SearchRequest {
        query: query.to_owned(),
        limit: 1,
        ..Default::default()
    };
    let (index, tenant) = (index.clone(), tenant.clone());
    tokio::task::spawn_blocking(move || index.search(&tenant, &probe))
        .await
        .map_err(ApiError::internal)??;
    Ok(())
}

/// Follows `query` for `tenant` from after `after_seq` (0: from now). The receiver gets
/// events in log order; when it lags by more than `buffer` events it gets
/// `Err(SlowConsumer)` as the last item.
pub fn follow(
    index: Arc<dyn SearchIndex>,
    tenant: TenantId,
    query: String,
    after_seq: u64,
    buffer: usize,
) -> mpsc::Receiver<FollowItem> {
    let (tx, rx) = mpsc::channel::<FollowItem>(buffer.max(1) + 1);
    let mut after = if after_seq == 0 {
        index.indexed_seq()
    } else {
        after_seq
    };
    let user = query.trim().to_owned();
    tokio::spawn(async move {
        loop {
            if tx.is_closed() {
                return;
            }
            let seq_clause = format!("_seq:{{{after} TO *}}");
            let q = if user.is_empty() || user == "*" {
                seq_clause
            } else {
                format!("({user}) AND {seq_clause}")
            };
            let req = SearchRequest {
                query: q,
                limit: BATCH,
                order: SortOrder::Asc,
                ..Default::default()
            };
            let (ix, t) = (index.clone(), tenant.clone());
            let res = tokio::task::spawn_blocking(move || ix.search(&t, &req)).await;
            let mut events = match res {
                Ok(Ok(r)) => r.events,
                Ok(Err(e)) => {
                    let _ = tx.send(Err(FollowEnd::Failed(e.into()))).await;
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(FollowEnd::Failed(ApiError::internal(e)))).await;
                    return;
                }
            };
            events.sort_by_key(|e| e.seq);
            let n = events.len();
            for e in events {
                after = after.max(e.seq);
                // Leave one slot for the end reason.
                if tx.capacity() <= 1 {
                    metrics::counter!("mcpsec_stream_slow_consumers_total").increment(1);
                    let _ = tx.try_send(Err(FollowEnd::SlowConsumer));
                    return;
                }
                if tx.send(Ok(e)).await.is_err() {
                    return;
                }
            }
            if n < BATCH {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    rx
}
