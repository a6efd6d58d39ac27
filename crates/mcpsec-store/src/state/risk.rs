//! Risk records: each tenant's asset inventory, assessments of alerts, calls to language
//! models (for budgets, costs and metrics), a cache of identical model requests, and the
//! risk time series. The documents are opaque JSON here; `mcpsec-risk` owns their shape.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;
use serde_json::Value;

/// One asset of a tenant's inventory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAsset {
    /// `host`, `user`, `service` or `project`.
    pub kind: String,
    /// The asset's name, unique per kind within the tenant.
    pub name: String,
    /// Everything else (criticality, exposure, vulnerabilities...).
    pub doc: Value,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
    /// Who wrote it (key id or `cli`).
    pub updated_by: String,
}

/// One assessment of one alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAssessment {
    /// ULID.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// The alert assessed.
    pub alert_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Final score 0–100.
    pub score: u8,
    /// `llm` or `deterministic`.
    pub source: String,
    /// Who asked.
    pub actor: String,
    /// The whole assessment.
    pub doc: Value,
}

/// One call to a language model (or one answer served from the cache).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmCallRecord {
    /// ULID.
    pub id: String,
    /// Whose budget it counts against.
    pub tenant: TenantId,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Provider name from the configuration.
    pub provider: String,
    /// Model asked.
    pub model: String,
    /// Prompt scenario (`alert_triage`...).
    pub scenario: String,
    /// The alert it was about, if any.
    pub alert_id: Option<String>,
    /// Input tokens as the provider counted them.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Wall time of the call, retries included.
    pub latency_ms: u64,
    /// Cost from the configured prices.
    pub cost_usd: f64,
    /// `ok`, `invalid_answer`, `error: ...`.
    pub outcome: String,
    /// Served from the cache (no tokens spent).
    pub cached: bool,
}

/// Sums over a tenant's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LlmUsage {
    /// Calls (cached ones excluded).
    pub calls: u64,
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Cost.
    pub cost_usd: f64,
}

/// One point of a risk time series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskPoint {
    /// When the score was computed.
    pub at: DateTime<Utc>,
    /// `tenant` or an asset kind (`host`, `user`, `service`, `project`).
    pub scope: String,
    /// The tenant's or the asset's name.
    pub name: String,
    /// Score 0–100.
    pub score: f64,
}

/// A rolled-up bucket of a risk time series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskBucket {
    /// Start of the bucket (RFC 3339, UTC).
    pub start: String,
    /// `tenant` or the asset kind.
    pub scope: String,
    /// The tenant's or the asset's name.
    pub name: String,
    /// Highest score in the bucket.
    pub max: f64,
    /// Mean score in the bucket.
    pub avg: f64,
    /// Points in the bucket.
    pub points: u64,
}

/// Storage of risk records. Every call is scoped to one tenant.
pub trait RiskStore: Send + Sync {
    /// Writes assets (replacing those with the same kind and name); with `replace_all`
    /// the tenant's other assets are removed in the same transaction. Returns the number
    /// of assets the tenant has afterwards.
    fn put_assets(
        &self,
        tenant: &TenantId,
        assets: &[StoredAsset],
        replace_all: bool,
    ) -> Result<usize>;
    /// The tenant's assets, by kind then name.
    fn list_assets(&self, tenant: &TenantId) -> Result<Vec<StoredAsset>>;
    /// Stores an assessment.
    fn put_assessment(&self, a: &StoredAssessment) -> Result<()>;
    /// Assessments of one alert of the tenant, oldest first.
    fn assessments(&self, tenant: &TenantId, alert_id: &str) -> Result<Vec<StoredAssessment>>;
    /// Records one model call.
    fn record_llm_call(&self, call: &LlmCallRecord) -> Result<()>;
    /// What the tenant's calls since `since` used.
    fn llm_usage(&self, tenant: &TenantId, since: DateTime<Utc>) -> Result<LlmUsage>;
    /// The tenant's latest calls, newest first.
    fn llm_calls(&self, tenant: &TenantId, limit: usize) -> Result<Vec<LlmCallRecord>>;
    /// A cached answer written at or after `not_before`.
    fn llm_cache_get(
        &self,
        tenant: &TenantId,
        key: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// Caches an answer (replacing an older one with the same key).
    fn llm_cache_put(
        &self,
        tenant: &TenantId,
        key: &str,
        response: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Appends points to the tenant's risk time series.
    fn add_risk_points(&self, tenant: &TenantId, points: &[RiskPoint]) -> Result<()>;
    /// Buckets of `bucket_secs` (3600 or 86400) over `[from, to)`, optionally for one
    /// scope and name, oldest first.
    fn risk_trend(
        &self,
        tenant: &TenantId,
        scope: Option<(&str, &str)>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_secs: u32,
    ) -> Result<Vec<RiskBucket>>;
}
