//! Reports made in the background: jobs with their outcome, the finished documents, and
//! share links.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;

/// Where a report job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportJobStatus {
    /// Waiting for a worker (also after a restart interrupted it).
    Queued,
    /// Being generated.
    Running,
    /// Finished; the document can be downloaded.
    Done,
    /// Failed; `error` says why.
    Failed,
}

impl ReportJobStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportJobStatus::Queued => "queued",
            ReportJobStatus::Running => "running",
            ReportJobStatus::Done => "done",
            ReportJobStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => ReportJobStatus::Queued,
            "running" => ReportJobStatus::Running,
            "done" => ReportJobStatus::Done,
            "failed" => ReportJobStatus::Failed,
            _ => return None,
        })
    }
}

/// A report requested from the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportJob {
    /// ULID.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// Report kind (`executive`, `triage`, `coverage`, `supply`).
    pub kind: String,
    /// Output format (`pdf`, `xlsx`...).
    pub format: String,
    /// Start of the period, when given.
    pub from: Option<DateTime<Utc>>,
    /// End of the period, when given.
    pub to: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: ReportJobStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// Who asked (key id or OIDC subject).
    pub requested_by: String,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it finished (done or failed).
    pub finished_at: Option<DateTime<Utc>>,
    /// Size of the document in bytes.
    pub size: Option<u64>,
    /// Hex SHA-256 of the document.
    pub sha256: Option<String>,
    /// The project (id or name) a `supply` report covers; `None`: every project.
    pub project: Option<String>,
    /// The framework a `compliance` report covers; `None`: all of them.
    pub framework: Option<String>,
}

/// A link that lets someone without an API key download one report until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportShare {
    /// ULID, also part of the signed token.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// The shared report.
    pub job_id: String,
    /// Who made the link.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// After this the link is refused.
    pub expires_at: DateTime<Utc>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Storage of report jobs, documents and share links. Every call is scoped to a tenant
/// except the two a restart and an unauthenticated share link need.
pub trait ReportStore: Send + Sync {
    /// Records a new job (status `queued`).
    fn add_report_job(&self, job: &ReportJob) -> Result<()>;
    /// Moves a job to `running`, `done` (with its document) or `failed` (with the error),
    /// in one transaction with the document.
    fn finish_report_job(
        &self,
        id: &str,
        status: ReportJobStatus,
        error: Option<&str>,
        document: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// One job of the tenant.
    fn report_job(&self, tenant: &TenantId, id: &str) -> Result<Option<ReportJob>>;
    /// The tenant's jobs, newest first.
    fn list_report_jobs(&self, tenant: &TenantId, limit: usize) -> Result<Vec<ReportJob>>;
    /// The document of a finished job of the tenant.
    fn report_document(&self, tenant: &TenantId, id: &str) -> Result<Option<Vec<u8>>>;
    /// Deletes a job, its document and its share links; `false` when there was none.
    fn delete_report_job(&self, tenant: &TenantId, id: &str) -> Result<bool>;
    /// Jobs of every tenant left `queued` or `running` (by a restart), oldest first.
    fn unfinished_report_jobs(&self) -> Result<Vec<ReportJob>>;
    /// Records a share link.
    fn add_report_share(&self, share: &ReportShare) -> Result<()>;
    /// A share link by id, whatever its tenant (the signed token names it).
    fn report_share(&self, id: &str) -> Result<Option<ReportShare>>;
    /// The share links of one job of the tenant.
    fn list_report_shares(&self, tenant: &TenantId, job_id: &str) -> Result<Vec<ReportShare>>;
    /// Revokes a link of the tenant; `false` when there was no such live link.
    fn revoke_report_share(&self, tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// A cheap stamp of the tenant's data that reports read (alerts and their history,
    /// rules, risk, playbooks and runs, projects, SBOMs and VEX, the vulnerability
    /// database generation): it changes whenever any of it does.
    fn report_data_version(&self, tenant: &TenantId) -> Result<String>;
}

/// A report made on a schedule and delivered somewhere.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSchedule {
    /// ULID.
    pub id: String,
    /// Owner.
    pub tenant: TenantId,
    /// A label for people.
    pub name: String,
    /// Report kind.
    pub kind: String,
    /// Output format.
    pub format: String,
    /// Cron expression (5 or 6 fields, or an alias such as `@daily`).
    pub cron: String,
    /// IANA time zone the expression is read in (`Europe/Paris`, `UTC`).
    pub timezone: String,
    /// Each report covers this many seconds up to its run time.
    pub period_secs: u64,
    /// Where the document goes, as JSON (`{"webhook": {...}}` or `{}` to keep it only).
    pub delivery: serde_json::Value,
    /// Whether it runs.
    pub enabled: bool,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The next time it is due.
    pub next_run: DateTime<Utc>,
    /// When it last ran.
    pub last_run: Option<DateTime<Utc>>,
    /// The report job of its last run.
    pub last_job: Option<String>,
    /// Why the last run or delivery failed.
    pub last_error: Option<String>,
    /// The project (id or name) a `supply` report covers; `None`: every project.
    pub project: Option<String>,
    /// The framework a `compliance` report maps; `None`: all of them.
    pub framework: Option<String>,
}

/// Storage of report schedules.
pub trait ScheduleStore: Send + Sync {
    /// Records a schedule.
    fn add_report_schedule(&self, s: &ReportSchedule) -> Result<()>;
    /// One schedule of the tenant.
    fn report_schedule(&self, tenant: &TenantId, id: &str) -> Result<Option<ReportSchedule>>;
    /// The tenant's schedules by name.
    fn list_report_schedules(&self, tenant: &TenantId) -> Result<Vec<ReportSchedule>>;
    /// Deletes one; `false` when there was none.
    fn delete_report_schedule(&self, tenant: &TenantId, id: &str) -> Result<bool>;
    /// Enabled schedules of every tenant due at `now`, oldest due first.
    fn due_report_schedules(&self, now: DateTime<Utc>) -> Result<Vec<ReportSchedule>>;
    /// Records a run: its time, job and the next due time (before the report is made,
    /// so a crash skips a run rather than repeating it).
    fn mark_report_schedule_run(
        &self,
        id: &str,
        ran: DateTime<Utc>,
        job: &str,
        next: DateTime<Utc>,
    ) -> Result<()>;
    /// Records the outcome of the last run's delivery (`None`: it worked).
    fn set_report_schedule_error(&self, id: &str, error: Option<&str>) -> Result<()>;
}
