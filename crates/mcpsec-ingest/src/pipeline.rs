//! The bounded ingest queue and its group-commit writer.

use crate::IngestError;
use mcpsec_core::Event;
use mcpsec_store::EventLog;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Tuning of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// Events that may wait for the writer; beyond this, submissions get `QueueFull`.
    pub queue_events: usize,
    /// Bytes the writer gathers into one append (one fsync).
    pub max_batch_bytes: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            queue_events: 500_000,
            max_batch_bytes: 16 << 20,
        }
    }
}

/// Where a submission landed in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number of the first event (0 when the submission was empty).
    pub first_seq: u64,
    /// Number of events appended.
    pub count: usize,
}

struct Job {
    payloads: Vec<Vec<u8>>,
    reply: oneshot::Sender<Result<u64, String>>,
}

/// The entrance to the event log, shared by all sources. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    queued: Arc<AtomicUsize>,
    opts: PipelineOptions,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Pipeline {
    /// Starts the writer thread over `log`.
    pub fn start(log: Arc<dyn EventLog>, opts: PipelineOptions) -> Pipeline {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let q = Arc::clone(&queued);
        let handle = std::thread::Builder::new()
            .name("mcpsec-log-writer".into())
            .spawn(move || writer_loop(log, rx, q, opts))
            .ok();
        Pipeline {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                queued,
                opts,
                writer: Mutex::new(handle),
            }),
        }
    }

    /// Events waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    /// Encodes events and waits until they are durable in the log.
    pub async fn submit(&self, events: &[Event]) -> Result<Appended, IngestError> {
        let mut payloads = Vec::with_capacity(events.len());
        for ev in events {
            payloads.push(
                serde_json::to_vec(ev).map_err(|e| IngestError::BadBody(format!("encode: {e}")))?,
            );
        }
        self.submit_encoded(payloads).await
    }

    /// Like [`Pipeline::submit`] for events already encoded as JSON.
    pub async fn submit_encoded(&self, payloads: Vec<Vec<u8>>) -> Result<Appended, IngestError> {
        let n = payloads.len();
        if n == 0 {
            return Ok(Appended {
                first_seq: 0,
                count: 0,
            });
        }
        let cap = self.inner.opts.queue_events;
        let before = self.inner.queued.fetch_add(n, Ordering::AcqRel);
        if before > 0 && before + n > cap {
            self.inner.queued.fetch_sub(n, Ordering::AcqRel);
            metrics::counter!("mcpsec_ingest_queue_full_total").increment(1);
            return Err(IngestError::QueueFull {
                queued: before,
                retry_after: Duration::from_secs(1),
            });
        }
        let (reply, rx) = oneshot::channel();
        let sent = {
            let tx = self.inner.tx.lock().unwrap_or_else(|e| e.into_inner());
            match tx.as_ref() {
                Some(tx) => tx.send(Job { payloads, reply }).is_ok(),
                None => false,
            }
        };
        if !sent {
            self.inner.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(IngestError::ShuttingDown);
        }
        match rx.await {
            Ok(Ok(first_seq)) => Ok(Appended {
                first_seq,
                count: n,
            }),
            Ok(Err(msg)) => Err(IngestError::Store(mcpsec_store::StoreError::Invalid(msg))),
            Err(_) => Err(IngestError::ShuttingDown),
        }
    }

    /// Stops taking submissions, lets the writer finish what is queued, and waits for it.
    pub fn shutdown(&self) {
        self.inner
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let handle = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

fn writer_loop(
    log: Arc<dyn EventLog>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    queued: Arc<AtomicUsize>,
    opts: PipelineOptions,
) {
    let mut jobs: Vec<Job> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut bytes: usize = first.payloads.iter().map(Vec::len).sum();
        jobs.push(first);
        while bytes < opts.max_batch_bytes {
            match rx.try_recv() {
                Ok(job) => {
                    bytes += job.payloads.iter().map(Vec::len).sum::<usize>();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let refs: Vec<&[u8]> = jobs
            .iter()
            .flat_map(|j| j.payloads.iter().map(Vec::as_slice))
            .collect();
        let n = refs.len();
        let started = Instant::now();
        let result = log.append(&refs);
        drop(refs);
        metrics::histogram!("mcpsec_log_append_seconds").record(started.elapsed().as_secs_f64());
        match result {
            Ok(mut seq) => {
                metrics::counter!("mcpsec_log_appended_events_total").increment(n as u64);
                metrics::counter!("mcpsec_log_appended_bytes_total").increment(bytes as u64);
                for job in jobs.drain(..) {
                    let k = job.payloads.len();
                    let _ = job.reply.send(Ok(seq));
                    seq += k as u64;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = n, "event log append failed");
                let msg = e.to_string();
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(msg.clone()));
                }
            }
        }
        let left = queued.fetch_sub(n, Ordering::AcqRel).saturating_sub(n);
        metrics::gauge!("mcpsec_ingest_queue_depth").set(left as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_core::{EventFormat, SourceInfo, TenantId};
    use mcpsec_store::{FileLog, FileLogOptions};

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|_| {
                Event::new(
                    TenantId::default_tenant(),
                    SourceInfo::new("test", ""),
                    EventFormat::Json,
                    serde_json::Map::new(),
                )
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submissions_get_disjoint_consecutive_ranges() {
        let dir = tempfile::tempdir().expect("tmp");
        let log: Arc<dyn EventLog> =
            Arc::new(FileLog::open(dir.path(), FileLogOptions::default()).expect("log"));
        let p = Pipeline::start(Arc::clone(&log), PipelineOptions::default());
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move { p.submit(&events(50)).await }));
        }
        let mut ranges = Vec::new();
        for t in tasks {
            let a = t.await.expect("join").expect("submit");
            assert_eq!(a.count, 50);
            ranges.push(a.first_seq);
        }
        ranges.sort();
        for (i, r) in ranges.iter().enumerate() {
            assert_eq!(*r, 1 + 50 * i as u64);
        }
        assert_eq!(log.bounds().last_seq, 1000);
        p.shutdown();
        assert!(matches!(
            p.submit(&events(1)).await,
            Err(IngestError::ShuttingDown)
        ));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_with_a_retry_hint() {
        let dir = tempfile::tempdir().expect("tmp");
        let log: Arc<dyn EventLog> =
            Arc::new(FileLog::open(dir.path(), FileLogOptions::default()).expect("log"));
        let p = Pipeline::start(
            log,
            PipelineOptions {
                queue_events: 10,
                max_batch_bytes: 1 << 20,
            },
        );
        // Pretend the writer is far behind.
        p.inner.queued.fetch_add(10, Ordering::AcqRel);
        let err = p.submit(&events(5)).await.expect_err("queue full");
        assert!(err.retry_after().is_some());
        assert_eq!(err.code().http_status(), 429);
        p.inner.queued.fetch_sub(10, Ordering::AcqRel);
        assert_eq!(p.submit(&events(5)).await.expect("fits now").count, 5);
    }
}
