//! The data of a report: plain structures, filled by the caller, read by every format.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Version of the [`ReportData`] shape that templates see; bumped when a field is
/// renamed or removed, so a tenant's override can tell it was written for another shape.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// Shape version ([`REPORT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Report kind, e.g. `executive`.
    pub kind: String,
    /// Human title.
    pub title: String,
    /// Whose data this is.
    pub tenant: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The period covered.
    pub period: Period,
    /// Event figures.
    pub events: EventSummary,
    /// Alert figures (empty until alerts are stored).
    pub alerts: AlertSummary,
    /// How alerts were handled (the `triage` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<crate::sections::Triage>,
    /// What the deployed rules cover (the `coverage` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::sections::Coverage>,
    /// Supply-chain posture per project (the `supply` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supply: Option<crate::supply::Supply>,
    /// Risk now and over the period (the `risk` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk::Risk>,
    /// Playbook runs and approvals of the period (the `response` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<crate::response::Response>,
    /// Controls of compliance frameworks and their evidence (the `compliance` report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<crate::compliance::Compliance>,
}

/// The period a report covers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Period {
    /// Requested start (inclusive); `None`: since the first event.
    pub from: Option<DateTime<Utc>>,
    /// Requested end (exclusive); `None`: up to the last event.
    pub to: Option<DateTime<Utc>>,
    /// Time of the oldest event seen.
    pub first_event: Option<DateTime<Utc>>,
    /// Time of the newest event seen.
    pub last_event: Option<DateTime<Utc>>,
}

impl Period {
    /// `from – to` for people, with "first event"/"last event" standing in for open ends.
    pub fn label(&self) -> String {
        let show = |t: Option<DateTime<Utc>>, open: &str| {
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| open.to_owned())
        };
        format!(
            "{} to {}",
            show(self.from.or(self.first_event), "the first event"),
            show(self.to.or(self.last_event), "the last event")
        )
    }
}

/// A name and how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The name (a host, a source, a format, a rule, a level).
    pub name: String,
    /// Occurrences.
    pub count: u64,
}

/// Events over time, in equal buckets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Histogram {
    /// Width of each bucket in seconds.
    pub bucket_seconds: i64,
    /// The buckets, oldest first, empty ones included.
    pub buckets: Vec<Bucket>,
}

/// One bucket of a [`Histogram`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// Events in `[start, start + bucket_seconds)`.
    pub count: u64,
}

/// What the events of the period looked like.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventSummary {
    /// Events in the period.
    pub total: u64,
    /// Events by source kind (`http`, `syslog-udp`, `file`...), most first.
    pub by_source: Vec<Count>,
    /// Events by recognised format (`windows`, `syslog5424`...), most first.
    pub by_format: Vec<Count>,
    /// The busiest hosts, most first.
    pub top_hosts: Vec<Count>,
    /// The busiest sources (`kind name`), most first.
    pub top_sources: Vec<Count>,
    /// Distinct hosts seen (a lower bound when `hosts_capped`).
    pub distinct_hosts: u64,
    /// True when there were more distinct hosts than the engine counts one by one; the
    /// top list is then exact for hosts seen before the cap was reached.
    pub hosts_capped: bool,
    /// Events that named no host.
    pub without_host: u64,
    /// Events over time.
    pub histogram: Histogram,
}

/// What the alerts of the period looked like. Empty (total 0) when there were none or
/// when alerts are not stored yet; reports then say "no alerts in this period".
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertSummary {
    /// Alerts in the period.
    pub total: u64,
    /// Alerts by level (`critical`, `high`...), most first.
    pub by_level: Vec<Count>,
    /// The rules that fired most, most first.
    pub top_rules: Vec<Count>,
}
