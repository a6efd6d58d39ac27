//! [`SummaryBuilder`]: folds events into report figures in bounded memory.

use crate::model::{
    AlertSummary, Bucket, Count, EventSummary, Histogram, Period, REPORT_SCHEMA_VERSION, ReportData,
};
use chrono::{DateTime, TimeZone, Utc};
use mcpsec_core::Event;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// How many entries the top lists keep.
pub const TOP_N: usize = 10;
/// Distinct names counted one by one per list; beyond, new names are only tallied.
const MAX_DISTINCT: usize = 100_000;
/// Histogram cells kept while reading; beyond, cells are merged into wider ones.
const MAX_CELLS: usize = 20_000;
/// Buckets a histogram shows at most.
const MAX_BUCKETS: i64 = 60;
/// Bucket widths a histogram may use, in seconds, narrowest first.
const WIDTHS: &[i64] = &[
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
];

/// Fields that name the host an event is about, most specific first: ECS, syslog as
/// normalised, Windows, CEF, and plain JSON.
const HOST_FIELDS: &[&str] = &[
    "host.name",
    "host.hostname",
    "Event.System.Computer",
    "dvchost",
    "hostname",
    "host",
    "computer_name",
];

/// The host an event is about, if it names one.
pub fn host_of(ev: &Event) -> Option<&str> {
    HOST_FIELDS.iter().find_map(|f| match ev.get(f) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        _ => None,
    })
}

/// `a / b` rounded up, for positive `b` and non-negative `a`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// Counts names, up to [`MAX_DISTINCT`] of them.
#[derive(Debug, Default)]
struct Tally {
    counts: HashMap<String, u64>,
    capped: bool,
}

impl Tally {
    fn add(&mut self, name: &str, n: u64) {
        if let Some(c) = self.counts.get_mut(name) {
            *c += n;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(name.to_owned(), n);
        } else {
            self.capped = true;
        }
    }

    /// The `n` largest, ties broken by name so output is stable.
    fn top(&self, n: usize) -> Vec<Count> {
        let mut all: Vec<Count> = self
            .counts
            .iter()
            .map(|(k, v)| Count {
                name: k.clone(),
                count: *v,
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        all.truncate(n);
        all
    }
}

/// Collects alert figures; the caller feeds one alert at a time.
#[derive(Debug, Default)]
pub struct AlertTally {
    total: u64,
    levels: Tally,
    rules: Tally,
}

impl AlertTally {
    /// Counts one alert of `level` raised by `rule`.
    pub fn add(&mut self, level: &str, rule: &str) {
        self.total += 1;
        self.levels.add(level, 1);
        self.rules.add(rule, 1);
    }

    /// The figures.
    pub fn finish(&self) -> AlertSummary {
        AlertSummary {
            total: self.total,
            by_level: self.levels.top(usize::MAX),
            top_rules: self.rules.top(TOP_N),
        }
    }
}

/// Folds events into the figures of a report. Memory is bounded: at most
/// 100 000 distinct names per list and 20 000 histogram cells, whatever the number
/// of events.
#[derive(Debug)]
pub struct SummaryBuilder {
    period: Period,
    total: u64,
    without_host: u64,
    sources: Tally,
    formats: Tally,
    hosts: Tally,
    named_sources: Tally,
    /// Cell start (seconds, a multiple of `cell`) → events.
    cells: BTreeMap<i64, u64>,
    cell: i64,
}

impl SummaryBuilder {
    /// A builder for the period `[from, to)`; open ends follow the events.
    pub fn new(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        SummaryBuilder {
            period: Period {
                from,
                to,
                first_event: None,
                last_event: None,
            },
            total: 0,
            without_host: 0,
            sources: Tally::default(),
            formats: Tally::default(),
            hosts: Tally::default(),
            named_sources: Tally::default(),
            cells: BTreeMap::new(),
            cell: WIDTHS[0],
        }
    }

    /// Counts one event. The caller selects the events (tenant, period); this only tallies.
    pub fn add(&mut self, ev: &Event) {
        self.total += 1;
        let t = ev.time;
        self.period.first_event = Some(self.period.first_event.map_or(t, |f| f.min(t)));
        self.period.last_event = Some(self.period.last_event.map_or(t, |l| l.max(t)));
        self.sources.add(&ev.source.kind, 1);
        self.formats.add(ev.format.as_str(), 1);
        if ev.source.name.is_empty() {
            self.named_sources.add(&ev.source.kind, 1);
        } else {
            self.named_sources
                .add(&format!("{} {}", ev.source.kind, ev.source.name), 1);
        }
        match host_of(ev) {
            Some(h) => self.hosts.add(h, 1),
            None => self.without_host += 1,
        }
        let secs = t.timestamp();
        *self
            .cells
            .entry(secs.div_euclid(self.cell) * self.cell)
            .or_insert(0) += 1;
        if self.cells.len() > MAX_CELLS {
            self.widen_cells();
        }
    }

    /// Merges histogram cells into the next wider width.
    fn widen_cells(&mut self) {
        let next = WIDTHS
            .iter()
            .copied()
            .find(|w| *w > self.cell)
            .unwrap_or(self.cell * 2);
        let old = std::mem::take(&mut self.cells);
        for (start, n) in old {
            *self.cells.entry(start.div_euclid(next) * next).or_insert(0) += n;
        }
        self.cell = next;
    }

    fn histogram(&self) -> Histogram {
        let lo = self
            .period
            .from
            .or(self.period.first_event)
            .map(|t| t.timestamp());
        let hi = self
            .period
            .to
            .map(|t| t.timestamp() - 1)
            .or(self.period.last_event.map(|t| t.timestamp()));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Histogram::default();
        };
        let hi = hi.max(lo);
        let span = hi - lo + 1;
        let width = WIDTHS
            .iter()
            .copied()
            .filter(|w| *w >= self.cell)
            .find(|w| ceil_div(span, *w) <= MAX_BUCKETS)
            .unwrap_or_else(|| {
                let w = ceil_div(span, MAX_BUCKETS);
                ceil_div(w, 86_400) * 86_400
            });
        let first = lo.div_euclid(width) * width;
        let last = hi.div_euclid(width) * width;
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        // Cells are never wider than buckets, but one may start before the period when
        // the widths do not divide each other: it counts in the first bucket.
        for (start, n) in self.cells.range(..=hi) {
            let at = (*start).max(first);
            *counts.entry(at.div_euclid(width) * width).or_insert(0) += n;
        }
        let buckets = (0..)
            .map(|i| first + i * width)
            .take_while(|s| *s <= last)
            .filter_map(|s| {
                Utc.timestamp_opt(s, 0).single().map(|start| Bucket {
                    start,
                    count: counts.get(&s).copied().unwrap_or(0),
                })
            })
            .collect();
        Histogram {
            bucket_seconds: width,
            buckets,
        }
    }

    /// The report: event figures from what was added, alerts as given.
    pub fn finish(
        self,
        kind: &str,
        title: &str,
        tenant: &str,
        alerts: AlertSummary,
        generated_at: DateTime<Utc>,
    ) -> ReportData {
        let events = EventSummary {
            total: self.total,
            by_source: self.sources.top(usize::MAX),
            by_format: self.formats.top(usize::MAX),
            top_hosts: self.hosts.top(TOP_N),
            top_sources: self.named_sources.top(TOP_N),
            distinct_hosts: self.hosts.counts.len() as u64,
            hosts_capped: self.hosts.capped,
            without_host: self.without_host,
            histogram: self.histogram(),
        };
        ReportData {
            schema_version: REPORT_SCHEMA_VERSION,
            kind: kind.to_owned(),
            title: title.to_owned(),
            tenant: tenant.to_owned(),
            generated_at,
            period: self.period,
            events,
            alerts,
            triage: None,
            coverage: None,
            supply: None,
            risk: None,
            response: None,
            compliance: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mcpsec_core::{EventFormat, SourceInfo, TenantId};
    use serde_json::json;

    pub(crate) fn event(minute: i64, host: Option<&str>, kind: &str) -> Event {
        let mut fields = serde_json::Map::new();
        if let Some(h) = host {
            fields.insert("host".into(), json!({ "name": h }));
        }
        let mut ev = Event::new(
            TenantId::default_tenant(),
            SourceInfo::new(kind, "x"),
            EventFormat::Json,
            fields,
        );
        ev.time = Utc
            .timestamp_opt(1_700_000_000 + minute * 60, 0)
            .single()
            .expect("time");
        ev
    }

    fn finish(b: SummaryBuilder) -> ReportData {
        b.finish(
            "executive",
            "t",
            "default",
            AlertSummary::default(),
            Utc::now(),
        )
    }

    #[test]
    fn counts_sources_formats_and_hosts() {
        let mut b = SummaryBuilder::new(None, None);
        for i in 0..30 {
            let host = if i % 3 == 0 { "web-1" } else { "db-1" };
            b.add(&event(i, Some(host), if i < 10 { "http" } else { "file" }));
        }
        b.add(&event(31, None, "http"));
        let r = finish(b);
        assert_eq!(r.events.total, 31);
        assert_eq!(r.events.by_source[0].name, "file");
        assert_eq!(r.events.by_source[0].count, 20);
        assert_eq!(r.events.top_hosts[0].name, "db-1");
        assert_eq!(r.events.top_hosts[0].count, 20);
        assert_eq!(r.events.without_host, 1);
        assert_eq!(r.events.distinct_hosts, 2);
        assert_eq!(r.events.top_sources[0].name, "file x");
        let h = &r.events.histogram;
        assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 31);
        assert!(h.buckets.len() as i64 <= MAX_BUCKETS, "{}", h.buckets.len());
    }

    #[test]
    fn host_fields_are_found_in_every_shape() {
        let mut ev = event(0, None, "x");
        assert_eq!(host_of(&ev), None);
        ev.fields = json!({"Event": {"System": {"Computer": "DC01"}}})
            .as_object()
            .cloned()
            .expect("obj");
        assert_eq!(host_of(&ev), Some("DC01"));
        ev.fields = json!({"host": {"hostname": "web-1"}})
            .as_object()
            .cloned()
            .expect("obj");
        assert_eq!(host_of(&ev), Some("web-1"));
        ev.fields = json!({"host": "  "}).as_object().cloned().expect("obj");
        assert_eq!(host_of(&ev), None, "blank names are no host");
    }

    #[test]
    fn empty_period_has_an_empty_histogram_or_zero_buckets() {
        let r = finish(SummaryBuilder::new(None, None));
        assert_eq!(r.events.total, 0);
        assert!(r.events.histogram.buckets.is_empty());
        let from = Utc.timestamp_opt(1_700_006_400, 0).single();
        let to = Utc.timestamp_opt(1_700_092_800, 0).single();
        let r = finish(SummaryBuilder::new(from, to));
        let h = &r.events.histogram;
        assert_eq!(h.bucket_seconds, 1800, "a day in half hours");
        assert_eq!(h.buckets.len(), 48);
        assert!(h.buckets.iter().all(|b| b.count == 0));
    }

    #[test]
    fn memory_stays_bounded_with_many_hosts_and_a_long_span() {
        let mut b = SummaryBuilder::new(None, None);
        // 150 000 distinct hosts over about three years, one event a ten minutes.
        for i in 0..150_000i64 {
            b.add(&event(i * 10, Some(&format!("h{i}")), "http"));
        }
        b.add(&event(5, Some("h0"), "http"));
        assert!(b.cells.len() <= MAX_CELLS);
        assert!(b.hosts.counts.len() <= MAX_DISTINCT);
        let r = finish(b);
        assert!(r.events.hosts_capped);
        assert_eq!(r.events.top_hosts[0].name, "h0");
        assert_eq!(r.events.top_hosts.len(), TOP_N);
        let h = &r.events.histogram;
        assert!(h.buckets.len() as i64 <= MAX_BUCKETS);
        assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 150_001);
    }

    #[test]
    fn alert_tally_orders_levels_and_rules() {
        let mut a = AlertTally::default();
        a.add("high", "brute force");
        a.add("high", "brute force");
        a.add("low", "new service");
        let s = a.finish();
        assert_eq!(s.total, 3);
        assert_eq!(s.by_level[0].name, "high");
        assert_eq!(s.top_rules[0].count, 2);
    }
}
