//! Retention: drops events by age and by size, in the background.
//!
//! The log loses whole segments, and only those every consumer has finished; the index
//! loses events by time. Size limits on the index work in steps: each pass removes the
//! oldest tenth of the indexed time span until the index is under its limit (deleted
//! documents free their space as tantivy merges segments).

use crate::{EventLog, Removed, Result, RetainPolicy, SearchIndex};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What to keep.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetentionPolicy {
    /// Events older than this (by event time in the index, by write time in the log) go.
    pub max_age: Option<Duration>,
    /// Upper bound for the event log's bytes.
    pub log_max_bytes: Option<u64>,
    /// Upper bound for the index's bytes.
    pub index_max_bytes: Option<u64>,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetentionReport {
    /// Log segments removed.
    pub log: Removed,
    /// Events before this time were removed from the index.
    pub index_cutoff: Option<DateTime<Utc>>,
}

/// Applies a [`RetentionPolicy`] to a log and an index.
pub struct Retention {
    log: Arc<dyn EventLog>,
    index: Arc<dyn SearchIndex>,
    policy: RetentionPolicy,
    consumers: Vec<ConsumerOffset>,
}

/// Reads the last sequence number a log consumer has finished.
pub type ConsumerOffset = Box<dyn Fn() -> u64 + Send + Sync>;

impl Retention {
    /// Retention over `log` and `index`.
    pub fn new(
        log: Arc<dyn EventLog>,
        index: Arc<dyn SearchIndex>,
        policy: RetentionPolicy,
    ) -> Self {
        Retention {
            log,
            index,
            policy,
            consumers: Vec::new(),
        }
    }

    /// Keeps log records another consumer (besides the indexer) has not finished.
    pub fn with_consumer(mut self, offset: ConsumerOffset) -> Self {
        self.consumers.push(offset);
        self
    }

    /// Runs one pass now (blocking I/O).
    pub fn run_once(&self, now: DateTime<Utc>) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        let mut cutoff: Option<DateTime<Utc>> = None;
        if let Some(age) = self.policy.max_age {
            let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
            cutoff = now.checked_sub_signed(age);
        }
        if let Some(max) = self.policy.index_max_bytes
            && self.index.size_bytes() > max
            && let Some(oldest) = self.index.oldest_time()?
            && oldest < now
        {
            let step = oldest + (now - oldest) / 10;
            cutoff = Some(cutoff.map_or(step, |c| c.max(step)));
        }
        if let Some(c) = cutoff {
            self.index.delete_before(c)?;
            self.index.commit()?;
            report.index_cutoff = Some(c);
        }
        let older_than = self
            .policy
            .max_age
            .and_then(|a| SystemTime::now().checked_sub(a));
        if older_than.is_some() || self.policy.log_max_bytes.is_some() {
            report.log = self.log.retain(RetainPolicy {
                keep_from_seq: self
                    .consumers
                    .iter()
                    .map(|c| c() + 1)
                    .fold(self.index.indexed_seq() + 1, u64::min),
                older_than,
                max_bytes: self.policy.log_max_bytes,
            })?;
        }
        if report.log.segments > 0 || report.index_cutoff.is_some() {
            metrics::counter!("mcpsec_retention_log_bytes_removed_total")
                .increment(report.log.bytes);
            tracing::info!(
                log_segments = report.log.segments,
                log_bytes = report.log.bytes,
                index_cutoff = ?report.index_cutoff,
                "retention pass"
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        FileLog, FileLogOptions, Indexer, IndexerOptions, SearchRequest, TantivyIndex,
        TantivyOptions,
    };
    use mcpsec_core::{Event, EventFormat, SourceInfo, TenantId};

    #[test]
    fn old_events_leave_the_index_and_consumed_segments_leave_the_log() {
        let dir = tempfile::tempdir().expect("tmp");
        let log: Arc<dyn EventLog> = Arc::new(
            FileLog::open(
                &dir.path().join("log"),
                FileLogOptions { segment_bytes: 512 },
            )
            .expect("log"),
        );
        let index: Arc<dyn SearchIndex> = Arc::new(
            TantivyIndex::open(&dir.path().join("index"), TantivyOptions::default())
                .expect("index"),
        );
        let now = Utc::now();
        for days in [10i64, 5, 1, 0] {
            let mut ev = Event::new(
                TenantId::default_tenant(),
                SourceInfo::new("test", ""),
                EventFormat::Json,
                serde_json::Map::new(),
            );
            ev.time = now - chrono::Duration::days(days);
            let raw = serde_json::to_vec(&ev).expect("encode");
            log.append(&[&raw]).expect("append");
        }
        Indexer::new(
            Arc::clone(&log),
            Arc::clone(&index),
            IndexerOptions::default(),
        )
        .catch_up()
        .expect("index");
        let r = Retention::new(
            Arc::clone(&log),
            Arc::clone(&index),
            RetentionPolicy {
                max_age: Some(Duration::from_secs(3 * 86400)),
                log_max_bytes: Some(0),
                index_max_bytes: None,
            },
        );
        let report = r.run_once(now).expect("retention");
        assert!(report.index_cutoff.is_some());
        let all = SearchRequest {
            query: "*".into(),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            index
                .search(&TenantId::default_tenant(), &all)
                .expect("search")
                .total,
            2
        );
        assert!(
            report.log.segments > 0,
            "consumed segments over the size limit go"
        );
        assert_eq!(log.bounds().last_seq, 4, "the active segment stays");
    }
}
