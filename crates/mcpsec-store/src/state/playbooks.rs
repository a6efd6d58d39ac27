//! Response playbooks, their runs, step attempts and approvals.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;
use serde_json::Value;

/// A deployed playbook (the current version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPlaybook {
    /// Owner.
    pub tenant: TenantId,
    /// The playbook's `id:`.
    pub id: String,
    /// Its `name:`.
    pub name: String,
    /// Starts at 1, grows with every change of the text.
    pub version: u32,
    /// The YAML as submitted.
    pub yaml: String,
    /// Whether triggers start it.
    pub enabled: bool,
    /// First deployment.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who made the last change.
    pub updated_by: String,
}

/// One playbook version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookVersion {
    /// The version number.
    pub version: u32,
    /// The YAML of that version.
    pub yaml: String,
    /// Who deployed it.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A run of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// ULID.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// The playbook.
    pub playbook_id: String,
    /// Its version (0 for playbooks loaded from files).
    pub playbook_version: u32,
    /// The playbook as it was when the run started.
    #[serde(skip)]
    pub playbook_yaml: String,
    /// The alert the run is about.
    pub alert_id: Option<String>,
    /// `alert`, `manual` or `webhook`.
    pub trigger: String,
    /// Who started it (`detector` for alert triggers).
    pub actor: String,
    /// `running`, `waiting` (for approval), `succeeded`, `failed`.
    pub status: String,
    /// What templates see at the top level (`alert`, `trigger`, `input`).
    pub context: Value,
    /// Why it failed.
    pub error: Option<String>,
    /// Start.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One step (or one `foreach` element, or one compensation) of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRunRecord {
    /// The run.
    pub run_id: String,
    /// The step id (compensations: `<step>/<compensation id>`).
    pub step_id: String,
    /// `-1` for the step as a whole, the element index within a `foreach`.
    pub item: i64,
    /// `running`, `succeeded`, `failed`, `skipped`, `waiting`, `rejected`, `cancelled`.
    pub status: String,
    /// Attempts made.
    pub attempt: u32,
    /// Rendered inputs.
    pub input: Option<Value>,
    /// The action's output.
    pub output: Option<Value>,
    /// The last error.
    pub error: Option<String>,
    /// Who acted (the run's actor, or the approvers).
    pub actor: String,
    /// First attempt began.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Time spent, all attempts and waits included.
    pub duration_ms: Option<u64>,
}

/// A request for approval of one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRecord {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// Owner.
    pub tenant: TenantId,
    /// The playbook.
    pub playbook_id: String,
    /// The run's alert.
    pub alert_id: Option<String>,
    /// Anybody with this role may decide.
    pub role: Option<String>,
    /// Named approvers.
    pub approvers: Vec<String>,
    /// Approvals needed.
    pub min: u32,
    /// When the request expires.
    pub deadline: DateTime<Utc>,
    /// `pending`, `approved`, `rejected`, `expired`.
    pub status: String,
    /// Whether it was escalated.
    pub escalated: bool,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// When it was settled.
    pub decided_at: Option<DateTime<Utc>>,
}

/// One person's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalDecision {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// Who.
    pub actor: String,
    /// Their role at the time.
    pub role: String,
    /// Approve or reject.
    pub approve: bool,
    /// Why.
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Which runs a listing returns.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// One playbook.
    pub playbook_id: Option<String>,
    /// One alert.
    pub alert_id: Option<String>,
    /// One status.
    pub status: Option<String>,
    /// Page size (capped at 500).
    pub limit: usize,
    /// Skipped (newest first).
    pub offset: usize,
}

/// Storage of playbooks and runs.
pub trait PlaybookStore: Send + Sync {
    /// Deploys a playbook: a new version when the text changed; returns the version.
    fn put_playbook(
        &self,
        tenant: &TenantId,
        id: &str,
        name: &str,
        yaml: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<u32>;
    /// One playbook of the tenant.
    fn get_playbook(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredPlaybook>>;
    /// The tenant's playbooks.
    fn list_playbooks(&self, tenant: &TenantId) -> Result<Vec<StoredPlaybook>>;
    /// Every version of one playbook, oldest first.
    fn playbook_versions(&self, tenant: &TenantId, id: &str) -> Result<Vec<PlaybookVersion>>;
    /// Switches a playbook's triggers on or off; `false` when there is no such playbook.
    fn set_playbook_enabled(
        &self,
        tenant: &TenantId,
        id: &str,
        enabled: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Removes a playbook (its versions stay as history, and a later deployment of the
    /// same id continues their numbering); `false` when there is no such playbook.
    fn delete_playbook(&self, tenant: &TenantId, id: &str) -> Result<bool>;
    /// Enabled playbooks of every tenant.
    fn enabled_playbooks(&self) -> Result<Vec<StoredPlaybook>>;
    /// Stores a new run.
    fn create_run(&self, run: &RunRecord) -> Result<()>;
    /// Sets a run's status (and error, end time).
    fn update_run(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// One run; with a tenant, only that tenant's.
    fn get_run(&self, tenant: Option<&TenantId>, id: &str) -> Result<Option<RunRecord>>;
    /// A page of the tenant's runs, newest first.
    fn list_runs(&self, tenant: &TenantId, filter: &RunFilter) -> Result<Vec<RunRecord>>;
    /// Runs of every tenant that are `running` or `waiting`.
    fn unfinished_runs(&self) -> Result<Vec<RunRecord>>;
    /// Inserts or replaces a step record.
    fn put_step_run(&self, step: &StepRunRecord) -> Result<()>;
    /// A run's step records, in start order.
    fn step_runs(&self, run_id: &str) -> Result<Vec<StepRunRecord>>;
    /// Inserts or replaces an approval request.
    fn put_approval(&self, approval: &ApprovalRecord) -> Result<()>;
    /// A run's approval requests.
    fn approvals(&self, run_id: &str) -> Result<Vec<ApprovalRecord>>;
    /// The tenant's pending approval requests, oldest first.
    fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<ApprovalRecord>>;
    /// Records a decision; `false` when this actor already decided on this step.
    fn add_decision(&self, decision: &ApprovalDecision) -> Result<bool>;
    /// Decisions on one step, oldest first.
    fn decisions(&self, run_id: &str, step_id: &str) -> Result<Vec<ApprovalDecision>>;
}
