//! Small helpers shared by the sources: retrying a full queue, shutdown signals, and
//! warnings that do not flood the log.

use crate::{Appended, IngestError};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Shortest and longest pause between two attempts on a full queue.
const MIN_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Runs `attempt` until it does not fail with [`IngestError::QueueFull`], pausing for the
/// hinted `retry_after` in between. `give_up` sees the time spent so far after each
/// refusal; when it returns `true` the last `QueueFull` is returned. Every other outcome
/// is returned as it is.
pub(crate) async fn retry_queue_full<F, Fut>(
    mut attempt: F,
    mut give_up: impl FnMut(Duration) -> bool,
) -> Result<Appended, IngestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Appended, IngestError>>,
{
    let started = Instant::now();
    loop {
        match attempt().await {
            Err(IngestError::QueueFull {
                queued,
                retry_after,
            }) => {
                if give_up(started.elapsed()) {
                    return Err(IngestError::QueueFull {
                        queued,
                        retry_after,
                    });
                }
                tokio::time::sleep(retry_after.clamp(MIN_PAUSE, MAX_PAUSE)).await;
            }
            other => return other,
        }
    }
}

/// Resolves once `rx` holds `true`, or once its sender is gone (nobody can signal any
/// more, so the source stops).
pub(crate) async fn shutdown_signalled(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Whether shutdown has been requested (or can no longer be signalled).
pub(crate) fn shutdown_requested(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// Lets one warning through per interval and counts the ones held back.
#[derive(Debug)]
pub(crate) struct WarnLimiter {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnLimiter {
    /// A limiter allowing one warning per `every`.
    pub(crate) fn new(every: Duration) -> Self {
        WarnLimiter {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a warning may be logged now, `n` being how many were held back
    /// since the last one; `None` when this one should be held back.
    pub(crate) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Removes trailing `\n`, `\r` and NUL bytes.
pub(crate) fn trim_end_terminators(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | 0] = b {
        b = rest;
    }
    b
}

/// Whether a message holds nothing but whitespace and NUL bytes (no event is made).
pub(crate) fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| c.is_ascii_whitespace() || *c == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn full() -> IngestError {
        IngestError::QueueFull {
            queued: 1,
            retry_after: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn retries_a_full_queue_until_it_takes_the_events() {
        let calls = Cell::new(0);
        let res = retry_queue_full(
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(full())
                    } else {
                        Ok(Appended {
                            first_seq: 7,
                            count: 2,
                        })
                    }
                }
            },
            |_| false,
        )
        .await;
        assert_eq!(res.expect("accepted").first_seq, 7);
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn gives_up_when_told_and_passes_other_errors_through() {
        let res = retry_queue_full(
            || async { Err(full()) },
            |spent| spent >= Duration::from_millis(30),
        )
        .await;
        assert!(matches!(res, Err(IngestError::QueueFull { .. })));
        let calls = Cell::new(0);
        let res = retry_queue_full(
            || {
                calls.set(calls.get() + 1);
                async { Err(IngestError::ShuttingDown) }
            },
            |_| false,
        )
        .await;
        assert!(matches!(res, Err(IngestError::ShuttingDown)));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn limiter_counts_what_it_holds_back() {
        let mut l = WarnLimiter::new(Duration::from_secs(3600));
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
        l.every = Duration::ZERO;
        assert_eq!(l.allow(), Some(2));
    }

    #[test]
    fn terminators_are_trimmed() {
        assert_eq!(trim_end_terminators(b"a b\r\n\0"), b"a b");
        assert_eq!(trim_end_terminators(b"\n\n"), b"");
        assert_eq!(trim_end_terminators(b"x"), b"x");
    }
}

/// What the source tests share: a real log in a temporary directory behind a pipeline.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::{Pipeline, PipelineOptions};
    use mcpsec_core::Event;
    use mcpsec_store::{EventLog, FileLog, FileLogOptions, decode_record};
    use std::sync::Arc;
    use std::time::Duration;

    /// A [`FileLog`] in a temporary directory and a [`Pipeline`] writing to it.
    pub(crate) struct TestLog {
        /// Keeps the directory alive.
        pub _dir: tempfile::TempDir,
        /// The log, to read back.
        pub log: Arc<FileLog>,
        /// The pipeline in front of it.
        pub pipeline: Pipeline,
    }

    /// A fresh log and pipeline.
    pub(crate) fn test_log() -> TestLog {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(FileLog::open(dir.path(), FileLogOptions::default()).expect("open log"));
        let dyn_log: Arc<dyn EventLog> = log.clone();
        let pipeline = Pipeline::start(dyn_log, PipelineOptions::default());
        TestLog {
            _dir: dir,
            log,
            pipeline,
        }
    }

    /// Every event in the log, in order.
    pub(crate) fn events(log: &FileLog) -> Vec<Event> {
        let mut cursor = log.cursor(1).expect("cursor");
        let mut out = Vec::new();
        loop {
            let batch = cursor.next_batch(10_000, 64 << 20).expect("read log");
            if batch.is_empty() {
                return out;
            }
            out.extend(batch.iter().map(|r| decode_record(r).expect("decode")));
        }
    }

    /// Polls the log until it holds at least `n` events or 10 s have passed.
    pub(crate) async fn wait_for_events(log: &FileLog, n: usize) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let evs = events(log);
            if evs.len() >= n || tokio::time::Instant::now() >= deadline {
                return evs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The `message` field of each event.
    pub(crate) fn messages(evs: &[Event]) -> Vec<String> {
        evs.iter()
            .map(|e| {
                e.get("message")
                    .and_then(|v| v.as_str())
                    .unwrap_or("<no message>")
                    .to_owned()
            })
            .collect()
    }
}
