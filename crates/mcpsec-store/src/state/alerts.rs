//! Alerts: what the detection consumer found, and the analysts' triage of it.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where an alert is in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// New, nobody looked at it yet.
    Open,
    /// Somebody is on it.
    Acknowledged,
    /// Handled.
    Closed,
    /// Not an attack: the rule fired on benign activity.
    FalsePositive,
}

impl AlertStatus {
    /// Every status, in workflow order.
    pub const ALL: [AlertStatus; 4] = [
        AlertStatus::Open,
        AlertStatus::Acknowledged,
        AlertStatus::Closed,
        AlertStatus::FalsePositive,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
            AlertStatus::FalsePositive => "false_positive",
        }
    }

    /// Parses a stored or API name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Whether an alert comes from one rule on one event or from a correlation of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A detection rule matched one event.
    Rule,
    /// A correlation rule matched a group of events.
    Correlation,
    /// Supply chain: a stored SBOM became affected by new advisories.
    Supply,
}

impl AlertKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Rule => "rule",
            AlertKind::Correlation => "correlation",
            AlertKind::Supply => "supply",
        }
    }

    /// Parses a stored name (unknown names read as `rule`).
    pub fn parse(s: &str) -> Self {
        match s {
            "correlation" => AlertKind::Correlation,
            "supply" => AlertKind::Supply,
            _ => AlertKind::Rule,
        }
    }
}

/// Sigma levels in rising order; unknown levels rank as `informational`.
pub fn level_rank(level: &str) -> u8 {
    match level.to_ascii_lowercase().as_str() {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 0,
    }
}

/// The rank of a Sigma level name (any case), or `None` for a name that is not a level.
pub fn parse_level(level: &str) -> Option<u8> {
    let rank = level_rank(level);
    (rank > 0 || level.eq_ignore_ascii_case("informational")).then_some(rank)
}

/// What callers are told when a level name is unknown.
pub const LEVEL_NAMES: &str = "informational, low, medium, high or critical";

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// ULID, sortable by creation time.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// Rule or correlation.
    pub kind: AlertKind,
    /// The rule's id (its `id:`, else its title).
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// Version of the deployed rule (0 for rules loaded from files).
    pub rule_version: u32,
    /// Sigma level.
    pub level: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags.
    pub techniques: Vec<String>,
    /// ATT&CK tactics from the tags.
    pub tactics: Vec<String>,
    /// The host the (first) event names, when it names one.
    pub host: Option<String>,
    /// Ids of the matching events (bounded for correlations).
    pub event_ids: Vec<String>,
    /// The matching events as stored (bounded for correlations).
    pub events: Vec<Value>,
    /// How many events the alert stands for (may exceed `events.len()`).
    pub event_count: u64,
    /// Group-by values of a correlation.
    pub group: Option<Map<String, Value>>,
    /// Time of the (first) event.
    pub event_time: DateTime<Utc>,
    /// When the alert was written.
    pub created_at: DateTime<Utc>,
    /// Log sequence number of the (last) event.
    pub seq: u64,
    /// Triage status.
    pub status: AlertStatus,
    /// Who set the status last.
    pub status_by: Option<String>,
    /// When the status was set last.
    pub status_at: Option<DateTime<Utc>>,
}

/// Which alerts a listing returns; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Exact levels.
    pub levels: Vec<String>,
    /// This level or higher.
    pub min_level: Option<String>,
    /// A rule id.
    pub rule_id: Option<String>,
    /// Statuses.
    pub statuses: Vec<AlertStatus>,
    /// A host.
    pub host: Option<String>,
    /// Events at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events before.
    pub to: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: usize,
    /// Alerts skipped (newest first).
    pub offset: usize,
}

/// One page of alerts, newest event first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertPage {
    /// All alerts matching the filter.
    pub total: u64,
    /// This page.
    pub alerts: Vec<Alert>,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertChange {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (key id or OIDC subject).
    pub actor: String,
    /// Status before.
    pub from: AlertStatus,
    /// Status after.
    pub to: AlertStatus,
    /// Why, as the analyst wrote it.
    pub comment: Option<String>,
}

/// Counts for dashboards and reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertSummary {
    /// Alerts in the period.
    pub total: u64,
    /// `(level, count)`, highest level first.
    pub by_level: Vec<(String, u64)>,
    /// `(status, count)`.
    pub by_status: Vec<(String, u64)>,
    /// `(rule id, title, count)`, most alerts first.
    pub top_rules: Vec<(String, String, u64)>,
    /// `(host, count)`, most alerts first.
    pub top_hosts: Vec<(String, u64)>,
}

/// Where the detection consumer stands: the last sequence number whose alerts are
/// stored, and its opaque correlation state at that point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectionOffset {
    /// Every event up to this one has been evaluated.
    pub seq: u64,
    /// Serialized correlation windows.
    pub state: Option<Vec<u8>>,
}

/// Storage of alerts.
pub trait AlertStore: Send + Sync {
    /// Stores alerts and moves the consumer's offset (and state) in one transaction, so
    /// a crash either keeps both or neither: no alert is lost or written twice.
    fn commit_detections(
        &self,
        consumer: &str,
        alerts: &[Alert],
        offset: &DetectionOffset,
    ) -> Result<()>;
    /// Where `consumer` stands (`None` before its first commit).
    fn detection_offset(&self, consumer: &str) -> Result<Option<DetectionOffset>>;
    /// A page of one tenant's alerts.
    fn list_alerts(&self, tenant: &TenantId, filter: &AlertFilter) -> Result<AlertPage>;
    /// One alert of the tenant.
    fn get_alert(&self, tenant: &TenantId, id: &str) -> Result<Option<Alert>>;
    /// Sets the status of the tenant's alerts among `ids`, recording who and when;
    /// returns the ids that existed (an unchanged status is still recorded).
    fn set_alert_status(
        &self,
        tenant: &TenantId,
        ids: &[String],
        status: AlertStatus,
        actor: &str,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>>;
    /// Status changes of one alert, oldest first.
    fn alert_history(&self, tenant: &TenantId, id: &str) -> Result<Vec<AlertChange>>;
    /// Counts over the period (all time when unbounded).
    fn alert_summary(
        &self,
        tenant: &TenantId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        top: usize,
    ) -> Result<AlertSummary>;
    /// Response times, false positives, the `oldest` alerts still open and the ATT&CK
    /// techniques and tactics that fired, over alerts whose event lies in the period.
    fn alert_triage(
        &self,
        tenant: &TenantId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        oldest: usize,
    ) -> Result<super::AlertTriage>;
}
