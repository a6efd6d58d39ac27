//! The state store: small, transactional records (tenants, API keys, checkpoints).
//! Embedded backend: SQLite ([`SqliteState`]); PostgreSQL later, behind the same trait.

mod alerts;
mod playbooks;
mod projects;
mod reports;
mod risk;
mod rules;
mod sqlite;
mod sqlite_alerts;
mod sqlite_playbooks;
mod sqlite_projects;
mod sqlite_reports;
mod sqlite_risk;
mod sqlite_rules;
mod sqlite_schedules;
mod sqlite_triage;
mod triage;

pub use alerts::{
    Alert, AlertChange, AlertFilter, AlertKind, AlertPage, AlertStatus, AlertStore, AlertSummary,
    DetectionOffset, LEVEL_NAMES, level_rank, parse_level,
};
pub use playbooks::{
    ApprovalDecision, ApprovalRecord, PlaybookStore, PlaybookVersion, RunFilter, RunRecord,
    StepRunRecord, StoredPlaybook,
};
pub use projects::{
    LatestSbom, MAX_PROJECT_NAME, MAX_PROJECTS_PER_TENANT, MAX_SBOM_VERSIONS, NewSbom, Project,
    ProjectStore, ProjectVex, SbomVersion,
};
pub use reports::{
    ReportJob, ReportJobStatus, ReportSchedule, ReportShare, ReportStore, ScheduleStore,
};
pub use risk::{
    LlmCallRecord, LlmUsage, RiskBucket, RiskPoint, RiskStore, StoredAssessment, StoredAsset,
};
pub use rules::{RuleStore, RuleVersion, RuleWrite, StoredRule};
pub use sqlite::SqliteState;
pub use sqlite_alerts::MAX_ALERT_PAGE;
pub use triage::{AlertTriage, Durations, OpenAlert};

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use std::path::Path;

/// A stored API key. Only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public identifier (ULID).
    pub id: String,
    /// The tenant the key acts for.
    pub tenant: TenantId,
    /// A label for people.
    pub name: String,
    /// Role name (`admin`, `analyst`, ...).
    pub role: String,
    /// Hex SHA-256 of the secret.
    pub key_hash: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// After this the key is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Actions (or `area.*`) the key is limited to on top of its role; empty: no limit.
    pub scopes: Vec<String>,
}

impl ApiKey {
    /// Whether the key may be used at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

/// Transactional state shared by every component (alerts, rules and projects included).
pub trait StateStore:
    AlertStore
    + RuleStore
    + PlaybookStore
    + ProjectStore
    + ReportStore
    + RiskStore
    + ScheduleStore
    + Send
    + Sync
    + 'static
{
    /// The stored value of a checkpoint (a consumer offset, a tailed file position).
    fn checkpoint(&self, name: &str) -> Result<Option<String>>;
    /// Stores a checkpoint durably.
    fn set_checkpoint(&self, name: &str, value: &str) -> Result<()>;
    /// Creates a tenant; `false` when it existed already.
    fn create_tenant(&self, tenant: &TenantId) -> Result<bool>;
    /// All tenants.
    fn tenants(&self) -> Result<Vec<TenantId>>;
    /// Inserts a key, or replaces the key with the same id.
    fn put_api_key(&self, key: &ApiKey) -> Result<()>;
    /// Finds a key by the hash of its secret.
    fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    /// Whether a tenant exists.
    fn tenant_exists(&self, tenant: &TenantId) -> Result<bool>;
    /// The keys of one tenant (hashes included, secrets never stored).
    fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes a key by id; `false` when there was no such usable key.
    fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Appends an audit event to the hash chain and returns the stored entry.
    fn append_audit(&self, event: &crate::AuditEvent) -> Result<crate::AuditEntry>;
    /// Audit entries after `after_seq` (all tenants when `tenant` is `None`), oldest first.
    fn audit_entries(
        &self,
        tenant: Option<&TenantId>,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<crate::AuditEntry>>;
    /// Stores a signed checkpoint.
    fn add_audit_checkpoint(&self, cp: &crate::AuditCheckpoint) -> Result<()>;
    /// All checkpoints, oldest first.
    fn audit_checkpoints(&self) -> Result<Vec<crate::AuditCheckpoint>>;
    /// Records a successful use.
    fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// Writes a consistent copy of the whole store to `dest` (works while in use).
    fn backup_to(&self, dest: &Path) -> Result<()>;
}
