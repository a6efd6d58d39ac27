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

/// How long a consumer's buffer may stay full before it is dropped.
pub const SLOW_AFTER: Duration = Duration::from_secs(2);

/// Waits until the channel has a free slot besides the reserved last one.
async fn room_within(tx: &mpsc::Sender<FollowItem>, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if tx.capacity() > 1 {
            return true;
        }
        if tx.is_closed() || tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

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
/// events in log order; when `buffer` events have waited for it for [`SLOW_AFTER`], it
/// gets `Err(SlowConsumer)` as the last item.
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
                order: SortOrder::SeqAsc,
                ..Default::default()
            };
            let (ix, t) = (index.clone(), tenant.clone());
            let res = tokio::task::spawn_blocking(move || ix.search(&t, &req)).await;
            let events = match res {
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
            let n = events.len();
            for e in events {
                after = after.max(e.seq);
                // Data may use all slots but one, kept for the end reason. A consumer
                // whose buffer stays full for SLOW_AFTER is dropped.
                if !room_within(&tx, SLOW_AFTER).await {
                    if tx.is_closed() {
                        return;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_core::{EventFormat, SourceInfo};
    use mcpsec_store::{IndexItem, TantivyIndex, TantivyOptions};

    fn index_with(n: u64, dir: &std::path::Path) -> Arc<dyn SearchIndex> {
        let idx = TantivyIndex::open(dir, TantivyOptions::default()).expect("index");
        let evs: Vec<(Event, Vec<u8>)> = (1..=n)
            .map(|seq| {
                let mut m = serde_json::Map::new();
                m.insert("n".into(), seq.into());
                let mut ev = Event::new(
                    TenantId::default_tenant(),
                    SourceInfo::new("t", ""),
                    EventFormat::Json,
                    m,
                );
                // Event times deliberately against log order: followers must use the seq.
                ev.time -= chrono::Duration::seconds(seq as i64);
                let raw = serde_json::to_vec(&ev).expect("encode");
                ev.seq = seq;
                (ev, raw)
            })
            .collect();
        let items: Vec<IndexItem<'_>> = evs
            .iter()
            .map(|(e, r)| IndexItem { event: e, raw: r })
            .collect();
        idx.add(&items, n).expect("add");
        idx.commit().expect("commit");
        Arc::new(idx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn followers_get_every_event_in_log_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let idx = index_with(2500, dir.path());
        let mut rx = follow(idx, TenantId::default_tenant(), "*".into(), 0, 100);
        // after_seq 0 means "from now": nothing old arrives.
        assert!(
            tokio::time::timeout(Duration::from_millis(600), rx.recv())
                .await
                .is_err()
        );
        let dir2 = tempfile::tempdir().expect("tmp");
        let idx = index_with(2500, dir2.path());
        let mut rx = follow(idx, TenantId::default_tenant(), "*".into(), 10, 100);
        let mut seqs = Vec::new();
        while seqs.len() < 2490 {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(Ok(e))) => seqs.push(e.seq),
                other => panic!("follower ended early: {other:?}"),
            }
        }
        assert_eq!(seqs, (11..=2500).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_consumer_that_stops_reading_is_dropped_with_a_reason() {
        let dir = tempfile::tempdir().expect("tmp");
        let idx = index_with(50, dir.path());
        let mut rx = follow(idx, TenantId::default_tenant(), "*".into(), 1, 5);
        tokio::time::sleep(SLOW_AFTER + Duration::from_millis(500)).await;
        let mut data = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(Ok(_))) => data += 1,
                Ok(Some(Err(FollowEnd::SlowConsumer))) => break,
                other => panic!("expected a slow-consumer end, got {other:?}"),
            }
        }
        assert_eq!(data, 5, "only the buffer's worth was queued");
        assert!(rx.recv().await.is_none(), "nothing after the end");
    }
}
