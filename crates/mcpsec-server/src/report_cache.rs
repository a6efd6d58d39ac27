//! A cache of gathered report data, so the same report asked again — in another format,
//! by another reader, by a schedule — skips the aggregation while nothing changed.
//!
//! The key is the tenant, the kind, the parameters (period, project, risk window, the
//! minute it is asked in) and the data version: a cheap stamp of what the kind reads
//! (counts and latest changes of the tenant's tables, the index's position for kinds
//! reading events, the deployed rules for coverage and risk). New data changes the
//! version, so a stale entry is never found again; it ages out of the LRU. The minute
//! bounds how long figures relative to "now" (ages, the risk window) can be reused.
//! Bounded in entries and bytes (the data's JSON size); a hit only renews
//! `generated_at`. The compliance report is never cached (it reads the audit chain,
//! API keys and settings, which the data version does not follow).

use crate::ReportSources;
use chrono::{DateTime, Timelike, Utc};
use mcpsec_core::TenantId;
use mcpsec_report::ReportData;
use mcpsec_store::StoreError;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Bounds of the report data cache (`[report] cache_entries`, `cache_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct ReportCacheLimits {
    /// Entries kept at most; 0 turns the cache off.
    pub entries: usize,
    /// Bytes kept at most (the data's JSON size); an entry above a quarter of it is
    /// not kept.
    pub bytes: usize,
}

impl Default for ReportCacheLimits {
    fn default() -> Self {
        ReportCacheLimits {
            entries: 64,
            bytes: 64 << 20,
        }
    }
}

/// What a cached entry answers for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    tenant: String,
    kind: String,
    params: String,
    version: String,
}

struct Entry {
    data: Arc<ReportData>,
    size: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<CacheKey, Entry>,
    bytes: usize,
    tick: u64,
}

/// The LRU of report data.
pub(crate) struct ReportCache {
    limits: ReportCacheLimits,
    inner: Mutex<Inner>,
}

impl ReportCache {
    pub(crate) fn new(limits: ReportCacheLimits) -> Self {
        ReportCache {
            limits,
            inner: Mutex::default(),
        }
    }

    /// The entry for `key`, marked as just used.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Arc<ReportData>> {
        let mut inner = self.inner.lock().ok()?;
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.map.get_mut(key)?;
        e.used = tick;
        Some(e.data.clone())
    }

    /// Keeps `data` under `key`, evicting the least recently used entries over the
    /// bounds.
    pub(crate) fn put(&self, key: CacheKey, data: Arc<ReportData>, size: usize) {
        if self.limits.entries == 0 || size > self.limits.bytes / 4 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.tick += 1;
        let used = inner.tick;
        if let Some(old) = inner.map.insert(key, Entry { data, size, used }) {
            inner.bytes -= old.size;
        }
        inner.bytes += size;
        while inner.map.len() > self.limits.entries || inner.bytes > self.limits.bytes {
            let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.size;
            }
        }
    }

    #[cfg(test)]
    fn len_and_bytes(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|i| (i.map.len(), i.bytes))
            .unwrap_or_default()
    }
}

/// The data version of a report of `kind` for `tenant` (see the module doc).
fn data_version(
    src: &ReportSources<'_>,
    kind: &str,
    tenant: &TenantId,
) -> Result<String, StoreError> {
    let mut v = src.state.report_data_version(tenant)?;
    if mcpsec_report::needs_events(kind)
        && let Some(index) = src.index
    {
        v.push_str(&format!(
            "|events:{}:{}",
            index.indexed_seq(),
            index.doc_count()
        ));
    }
    if let Some(rules) = src.rules {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        rules.each_rule(|r| {
            r.name().hash(&mut h);
            rules.version(r.name()).hash(&mut h);
        });
        v.push_str(&format!("|rules:{}:{:x}", rules.len(), h.finish()));
    }
    Ok(v)
}

/// [`crate::report_data`] through the cache.
pub(crate) fn report_data(
    cache: &ReportCache,
    src: &ReportSources<'_>,
    kind: &str,
    tenant: &TenantId,
    span: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> Result<ReportData, StoreError> {
    let (from, to) = span;
    // The compliance report reads the audit chain, keys and settings, which the data
    // version does not follow: it is always gathered afresh.
    if kind == "compliance" {
        return crate::report_data(src, kind, tenant, from, to, now);
    }
    let minute = now.with_second(0).and_then(|t| t.with_nanosecond(0));
    let key = CacheKey {
        tenant: tenant.as_str().to_owned(),
        kind: kind.to_owned(),
        params: format!(
            "{from:?}|{to:?}|{:?}|{}|{minute:?}",
            src.project, src.risk_window_days
        ),
        version: data_version(src, kind, tenant)?,
    };
    if let Some(hit) = cache.get(&key) {
        metrics::counter!("mcpsec_report_cache_hits_total").increment(1);
        let mut data = (*hit).clone();
        data.generated_at = now;
        return Ok(data);
    }
    metrics::counter!("mcpsec_report_cache_misses_total").increment(1);
    let data = crate::report_data(src, kind, tenant, from, to, now)?;
    let size = serde_json::to_vec(&data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    cache.put(key, Arc::new(data.clone()), size);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: &str, version: &str) -> CacheKey {
        CacheKey {
            tenant: tenant.into(),
            kind: "triage".into(),
            params: String::new(),
            version: version.into(),
        }
    }

    fn data(tenant: &str) -> Arc<ReportData> {
        Arc::new(mcpsec_report::SummaryBuilder::new(None, None).finish(
            "triage",
            "Alert triage",
            tenant,
            Default::default(),
            Utc::now(),
        ))
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let c = ReportCache::new(ReportCacheLimits {
            entries: 2,
            bytes: 1 << 20,
        });
        c.put(key("a", "1"), data("a"), 10);
        c.put(key("b", "1"), data("b"), 10);
        assert!(c.get(&key("a", "1")).is_some(), "a is now the newest");
        c.put(key("c", "1"), data("c"), 10);
        assert!(
            c.get(&key("b", "1")).is_none(),
            "b was the least recently used"
        );
        assert!(c.get(&key("a", "1")).is_some());
        assert!(c.get(&key("c", "1")).is_some());
        assert_eq!(c.len_and_bytes(), (2, 20));
    }

    #[test]
    fn bytes_are_bounded_and_big_entries_not_kept() {
        let c = ReportCache::new(ReportCacheLimits {
            entries: 100,
            bytes: 1000,
        });
        for i in 0..10 {
            c.put(key("a", &i.to_string()), data("a"), 200);
        }
        let (n, bytes) = c.len_and_bytes();
        assert!(bytes <= 1000 && n == 5, "{n} entries, {bytes} bytes");
        assert!(c.get(&key("a", "9")).is_some() && c.get(&key("a", "0")).is_none());
        c.put(key("a", "big"), data("a"), 251);
        assert!(
            c.get(&key("a", "big")).is_none(),
            "above a quarter of the bound"
        );
        // The same key again replaces, not doubles, its bytes.
        c.put(key("a", "9"), data("a"), 100);
        assert_eq!(c.len_and_bytes().1, 900);
    }

    #[test]
    fn off_when_no_entries_are_allowed() {
        let c = ReportCache::new(ReportCacheLimits {
            entries: 0,
            bytes: 1 << 20,
        });
        c.put(key("a", "1"), data("a"), 1);
        assert!(c.get(&key("a", "1")).is_none());
    }

    #[test]
    fn tenants_and_versions_are_part_of_the_key() {
        let c = ReportCache::new(ReportCacheLimits::default());
        c.put(key("a", "1"), data("a"), 10);
        assert!(c.get(&key("b", "1")).is_none(), "another tenant");
        assert!(c.get(&key("a", "2")).is_none(), "newer data");
        assert_eq!(
            c.get(&key("a", "1")).map(|d| d.tenant.clone()),
            Some("a".into())
        );
    }
}
