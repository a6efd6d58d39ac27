//! The indexer: the first consumer of the event log. It reads from the sequence number
//! after the one recorded in the index's last commit, so a crash between adding and
//! committing replays those events and never indexes one twice.

use crate::{EventLog, IndexItem, LogCursor, LogRecord, Result, SearchIndex, StoreError};
use mcpsec_core::Event;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Tuning of the indexer.
#[derive(Debug, Clone, Copy)]
pub struct IndexerOptions {
    /// Longest time an indexed event waits before it becomes searchable.
    pub commit_interval: Duration,
    /// Records read from the log per step.
    pub batch: usize,
}

impl Default for IndexerOptions {
    fn default() -> Self {
        IndexerOptions {
            commit_interval: Duration::from_millis(500),
            batch: 8192,
        }
    }
}

/// Decodes a log record into its event, with `seq` set.
pub fn decode_record(rec: &LogRecord) -> Result<Event> {
    let mut ev: Event = serde_json::from_slice(&rec.payload)?;
    ev.seq = rec.seq;
    Ok(ev)
}

/// Feeds the search index from the event log.
pub struct Indexer {
    log: Arc<dyn EventLog>,
    index: Arc<dyn SearchIndex>,
    opts: IndexerOptions,
}

struct Step {
    cursor: Box<dyn LogCursor>,
    read: usize,
    last_seq: Option<u64>,
}

fn step(mut cursor: Box<dyn LogCursor>, index: &dyn SearchIndex, batch: usize) -> Result<Step> {
    let records = cursor.next_batch(batch, 64 << 20)?;
    let decoded = crate::par::par_map(&records, decode_record);
    let mut events = Vec::with_capacity(records.len());
    for (rec, ev) in records.iter().zip(decoded) {
        match ev {
            Ok(ev) => events.push((ev, rec)),
            Err(e) => {
                metrics::counter!("mcpsec_index_decode_errors_total").increment(1);
                tracing::error!(seq = rec.seq, error = %e, "skipping an event the indexer cannot decode");
            }
        }
    }
    let items: Vec<IndexItem<'_>> = events
        .iter()
        .map(|(ev, rec)| IndexItem {
            event: ev,
            raw: &rec.payload,
        })
        .collect();
    if let Some(last) = records.last() {
        index.add(&items, last.seq)?;
    }
    metrics::counter!("mcpsec_indexed_events_total").increment(items.len() as u64);
    Ok(Step {
        cursor,
        read: records.len(),
        last_seq: records.last().map(|r| r.seq),
    })
}

fn commit(log: &dyn EventLog, index: &dyn SearchIndex) -> Result<()> {
    let started = Instant::now();
    let seq = index.commit()?;
    metrics::histogram!("mcpsec_index_commit_seconds").record(started.elapsed().as_secs_f64());
    let lag = log.bounds().last_seq.saturating_sub(seq);
    metrics::gauge!("mcpsec_index_lag_events").set(lag as f64);
    Ok(())
}

impl Indexer {
    /// An indexer from `log` into `index`.
    pub fn new(log: Arc<dyn EventLog>, index: Arc<dyn SearchIndex>, opts: IndexerOptions) -> Self {
        Indexer { log, index, opts }
    }

    fn commit(&self) -> Result<()> {
        commit(self.log.as_ref(), self.index.as_ref())
    }

    /// Indexes everything the log holds now and commits; returns the events indexed.
    /// For one-shot commands (no concurrent writer needed).
    pub fn catch_up(&self) -> Result<u64> {
        let mut cursor = self.log.cursor(self.index.indexed_seq() + 1)?;
        let mut total = 0u64;
        let mut last = None;
        loop {
            let s = step(cursor, self.index.as_ref(), self.opts.batch)?;
            cursor = s.cursor;
            total += s.read as u64;
            if s.last_seq.is_some() {
                last = s.last_seq;
            }
            if s.read == 0 {
                break;
            }
        }
        if last.is_some() {
            self.commit()?;
        }
        Ok(total)
    }

    /// Runs until `shutdown` turns true, then indexes what is left and commits.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        let mut changed = self.log.watch();
        let mut cursor = Some(self.log.cursor(self.index.indexed_seq() + 1)?);
        let mut pending: Option<u64> = None;
        let mut last_commit = Instant::now();
        loop {
            let stopping = *shutdown.borrow();
            let Some(c) = cursor.take() else {
                return Err(StoreError::Index("indexer lost its cursor".into()));
            };
            let index = Arc::clone(&self.index);
            let batch = self.opts.batch;
            let s = tokio::task::spawn_blocking(move || step(c, index.as_ref(), batch))
                .await
                .map_err(|e| StoreError::Index(format!("indexer task: {e}")))??;
            cursor = Some(s.cursor);
            if s.last_seq.is_some() {
                pending = s.last_seq;
            }
            let caught_up = s.read < batch;
            let due = last_commit.elapsed() >= self.opts.commit_interval;
            if pending.is_some() && (due || (stopping && caught_up)) {
                let (log, index) = (Arc::clone(&self.log), Arc::clone(&self.index));
                tokio::task::spawn_blocking(move || commit(log.as_ref(), index.as_ref()))
                    .await
                    .map_err(|e| StoreError::Index(format!("indexer task: {e}")))??;
                pending = None;
                last_commit = Instant::now();
            }
            if stopping && caught_up && pending.is_none() {
                return Ok(());
            }
            if !caught_up {
                continue;
            }
            let wait = match pending {
                Some(_) => self
                    .opts
                    .commit_interval
                    .saturating_sub(last_commit.elapsed()),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = changed.changed() => {}
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileLog, FileLogOptions, SearchRequest, TantivyIndex, TantivyOptions};
    use mcpsec_core::{EventFormat, SourceInfo, TenantId};

    fn encoded(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut m = serde_json::Map::new();
                m.insert("message".into(), format!("event number {i}").into());
                let ev = Event::new(
                    TenantId::default_tenant(),
                    SourceInfo::new("test", ""),
                    EventFormat::Json,
                    m,
                );
                serde_json::to_vec(&ev).expect("encode")
            })
            .collect()
    }

    #[test]
    fn catch_up_indexes_once_even_when_repeated() {
        let dir = tempfile::tempdir().expect("tmp");
        let log: Arc<dyn EventLog> = Arc::new(
            FileLog::open(&dir.path().join("log"), FileLogOptions::default()).expect("log"),
        );
        let p = encoded(50);
        let refs: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
        log.append(&refs).expect("append");
        let index: Arc<dyn SearchIndex> = Arc::new(
            TantivyIndex::open(&dir.path().join("index"), TantivyOptions::default())
                .expect("index"),
        );
        let ix = Indexer::new(
            Arc::clone(&log),
            Arc::clone(&index),
            IndexerOptions::default(),
        );
        assert_eq!(ix.catch_up().expect("catch up"), 50);
        assert_eq!(ix.catch_up().expect("again"), 0);
        let all = SearchRequest {
            query: "*".into(),
            limit: 1000,
            ..Default::default()
        };
        let res = index
            .search(&TenantId::default_tenant(), &all)
            .expect("search");
        assert_eq!(res.total, 50);
        assert_eq!(index.indexed_seq(), 50);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn run_follows_the_log_and_drains_on_shutdown() {
        let dir = tempfile::tempdir().expect("tmp");
        let log: Arc<dyn EventLog> = Arc::new(
            FileLog::open(&dir.path().join("log"), FileLogOptions::default()).expect("log"),
        );
        let index: Arc<dyn SearchIndex> = Arc::new(
            TantivyIndex::open(&dir.path().join("index"), TantivyOptions::default())
                .expect("index"),
        );
        let (tx, rx) = watch::channel(false);
        let opts = IndexerOptions {
            commit_interval: Duration::from_millis(50),
            batch: 16,
        };
        let task = tokio::spawn(Indexer::new(Arc::clone(&log), Arc::clone(&index), opts).run(rx));
        let p = encoded(100);
        for chunk in p.chunks(10) {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            log.append(&refs).expect("append");
        }
        tx.send_replace(true);
        task.await.expect("join").expect("indexer");
        assert_eq!(index.indexed_seq(), 100);
        assert_eq!(index.doc_count(), 100);
    }
}
