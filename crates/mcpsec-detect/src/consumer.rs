//! The detection consumer: event log → deployed rules → alerts.

use crate::correlations::Origin;
use crate::{Catalog, Result, RuleStats, TenantRules, alert_for, correlation_alert};
use mcpsec_core::{Event, TenantId};
use mcpsec_store::{
    Alert, DetectionOffset, EventLog, LogCursor, LogRecord, StateStore, decode_record,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// The consumer's name in the offsets table.
pub const CONSUMER: &str = "detect";

/// Tuning of the consumer.
#[derive(Debug, Clone, Copy)]
pub struct DetectorOptions {
    /// Records read from the log per step (one transaction each).
    pub batch: usize,
    /// Alerts kept for slow subscribers before they miss some.
    pub subscriber_buffer: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            batch: 4096,
            subscriber_buffer: 4096,
        }
    }
}

/// Runs the deployed rules over the event log and stores alerts.
pub struct Detector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn StateStore>,
    catalog: Arc<Catalog>,
    stats: Arc<RuleStats>,
    alerts: broadcast::Sender<Arc<Alert>>,
    offset: AtomicU64,
    /// The correlation windows as last committed.
    windows: std::sync::Mutex<Option<Vec<u8>>>,
    sampled: AtomicU64,
    opts: DetectorOptions,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("offset", &self.offset.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What one event produced.
struct Found {
    alerts: Vec<Alert>,
    profile: Option<(TenantId, Vec<(String, Duration)>)>,
    /// Matches that correlations count, with the event and its tenant's rules.
    feeds: Vec<(Origin, String)>,
    event: Option<(Event, Arc<TenantRules>)>,
    /// Every rule that matched (emitting an alert or not), for the per-rule figures.
    matched: Vec<String>,
    tenant: Option<TenantId>,
}

impl Detector {
    /// A consumer starting after the offset stored in `store`.
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn StateStore>,
        catalog: Arc<Catalog>,
        opts: DetectorOptions,
    ) -> Result<Self> {
        let stored = store.detection_offset(CONSUMER)?.unwrap_or_default();
        let offset = stored.seq;
        if let Some(bytes) = &stored.state
            && let Err(e) = catalog.load_windows(bytes)
        {
            tracing::error!(error = %e, "correlation windows could not be restored; starting empty");
        }
        let (alerts, _) = broadcast::channel(opts.subscriber_buffer.max(16));
        Ok(Detector {
            log,
            store,
            catalog,
            stats: Arc::new(RuleStats::default()),
            alerts,
            offset: AtomicU64::new(offset),
            windows: std::sync::Mutex::new(stored.state),
            sampled: AtomicU64::new(0),
            opts,
        })
    }

    /// The deployed rules.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Per-rule figures.
    pub fn stats(&self) -> &Arc<RuleStats> {
        &self.stats
    }

    /// Every event up to this sequence number has been evaluated and its alerts stored.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// New alerts as they are stored (slow receivers miss the oldest, see `Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Alert>> {
        self.alerts.subscribe()
    }

    /// Hands alerts that another component stored (supply-chain re-evaluation) to the
    /// subscribers, like the detector's own.
    pub fn publish(&self, alerts: &[Alert]) {
        for a in alerts {
            // no subscriber: nothing to do
            let _ = self.alerts.send(Arc::new(a.clone()));
        }
    }

    fn evaluate(&self, rec: &LogRecord) -> Found {
        let mut found = Found {
            alerts: Vec::new(),
            profile: None,
            feeds: Vec::new(),
            event: None,
            matched: Vec::new(),
            tenant: None,
        };
        let ev: Event = match decode_record(rec) {
            Ok(ev) => ev,
            Err(e) => {
                metrics::counter!("mcpsec_detect_decode_errors_total").increment(1);
                tracing::error!(seq = rec.seq, error = %e, "skipping an event detection cannot decode");
                return found;
            }
        };
        let rules = match self.catalog.rules_for(&ev.tenant) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(tenant = %ev.tenant.as_str(), error = %e, "cannot load the tenant's rules");
                return found;
            }
        };
        rules.for_each_match(&ev.fields, |rule, origin, version| {
            let role = rules.windows.role(origin, rule);
            found.matched.push(rule.name().to_owned());
            if role.emits {
                found.alerts.push(alert_for(rule, version, &ev));
            }
            if role.feeds {
                found.feeds.push((origin, rule.name().to_owned()));
            }
        });
        if self
            .sampled
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(RuleStats::SAMPLE_EVERY)
        {
            found.profile = Some((ev.tenant.clone(), rules.profile(&ev.fields)));
        }
        found.tenant = Some(ev.tenant.clone());
        if !found.feeds.is_empty() {
            found.event = Some((ev, rules));
        }
        found
    }

    /// Feeds correlations in log order; returns their alerts and whether any window
    /// changed.
    fn correlate(&self, found: &[Found]) -> (Vec<Alert>, bool) {
        let mut alerts = Vec::new();
        let mut newest: HashMap<TenantId, (Arc<TenantRules>, i64)> = HashMap::new();
        for f in found {
            let Some((ev, matched_with)) = &f.event else {
                continue;
            };
            // Windows live in the tenant's current engines: a reload while the batch was
            // matched has moved them there.
            let rules = self
                .catalog
                .rules_for(&ev.tenant)
                .unwrap_or_else(|_| matched_with.clone());
            let t = ev.time.timestamp_millis();
            for (origin, name) in &f.feeds {
                for hit in rules
                    .windows
                    .observe(*origin, name, &ev.fields, t, ev.id.to_string())
                {
                    let version = rules.version(hit.name());
                    alerts.push(correlation_alert(&hit, &ev.tenant, version, Some(ev)));
                }
            }
            let e = newest
                .entry(ev.tenant.clone())
                .or_insert_with(|| (rules.clone(), t));
            e.1 = e.1.max(t);
        }
        let changed = !newest.is_empty();
        for (tenant, (rules, t)) in newest {
            for (_, hit) in rules.windows.advance(t) {
                let version = rules.version(hit.name());
                alerts.push(correlation_alert(&hit, &tenant, version, None));
            }
        }
        (alerts, changed)
    }

    /// Reads, evaluates and commits one batch; returns the cursor and records read.
    fn step(&self, mut cursor: Box<dyn LogCursor>) -> Result<(Box<dyn LogCursor>, usize)> {
        let records = cursor.next_batch(self.opts.batch, 64 << 20)?;
        let Some(last) = records.last().map(|r| r.seq) else {
            return Ok((cursor, 0));
        };
        let started = Instant::now();
        let found: Vec<Found> = if self.catalog.any_rules() {
            records.par_iter().map(|r| self.evaluate(r)).collect()
        } else {
            Vec::new()
        };
        let (mut alerts, changed) = self.correlate(&found);
        let windows = if changed {
            Some(self.catalog.save_windows()?)
        } else {
            self.windows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        let mut counts: HashMap<TenantId, HashMap<String, u64>> = HashMap::new();
        for a in &alerts {
            *counts
                .entry(a.tenant.clone())
                .or_default()
                .entry(a.rule_id.clone())
                .or_default() += 1;
        }
        for f in found {
            if let Some((tenant, times)) = f.profile {
                self.stats.add_sample(tenant.as_str(), &times);
            }
            if let Some(tenant) = f.tenant {
                let c = counts.entry(tenant).or_default();
                for name in f.matched {
                    *c.entry(name).or_default() += 1;
                }
            }
            alerts.extend(f.alerts);
        }
        self.store.commit_detections(
            CONSUMER,
            &alerts,
            &DetectionOffset {
                seq: last,
                state: windows.clone(),
            },
        )?;
        *self.windows.lock().unwrap_or_else(|e| e.into_inner()) = windows;
        self.offset.store(last, Ordering::Release);
        for (tenant, c) in &counts {
            self.stats.add_matches(tenant.as_str(), c);
        }
        metrics::counter!("mcpsec_detect_events_total").increment(records.len() as u64);
        metrics::counter!("mcpsec_alerts_total").increment(alerts.len() as u64);
        metrics::histogram!("mcpsec_detect_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::gauge!("mcpsec_detect_lag_events")
            .set(self.log.bounds().last_seq.saturating_sub(last) as f64);
        for a in alerts {
            let _ = self.alerts.send(Arc::new(a));
        }
        Ok((cursor, records.len()))
    }

    /// Evaluates everything the log holds now; returns the events evaluated.
    pub fn catch_up(&self) -> Result<u64> {
        let mut cursor = self.log.cursor(self.offset() + 1)?;
        let mut total = 0;
        loop {
            let (c, n) = self.step(cursor)?;
            cursor = c;
            total += n as u64;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `shutdown` turns true and the log is drained.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        let mut changed = self.log.watch();
        let mut cursor = Some(self.log.cursor(self.offset() + 1)?);
        loop {
            let stopping = *shutdown.borrow();
            let Some(c) = cursor.take() else {
                return Err(crate::DetectError::Invalid(
                    "detector lost its cursor".into(),
                ));
            };
            let me = self.clone();
            let step = tokio::task::spawn_blocking(move || me.step(c))
                .await
                .map_err(|e| crate::DetectError::Invalid(format!("detector task: {e}")))?;
            let (c, n) = match step {
                Ok(s) => s,
                Err(e) => {
                    // Nothing of the step was committed: retry it from the stored offset.
                    metrics::counter!("mcpsec_detect_errors_total").increment(1);
                    tracing::error!(error = %e, offset = self.offset(), "detection step failed; retrying in 1 s");
                    if stopping {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    cursor = Some(self.log.cursor(self.offset() + 1)?);
                    continue;
                }
            };
            cursor = Some(c);
            if n >= self.opts.batch {
                continue;
            }
            if stopping {
                return Ok(());
            }
            tokio::select! {
                _ = changed.changed() => {}
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}
