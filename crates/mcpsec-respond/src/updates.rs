//! Live run updates: every change the engine stores (a run's status, a step's attempt or
//! outcome, an approval request or decision) is also published, so the server can stream
//! it to followers of the tenant. Publishing never waits: a follower that falls behind
//! misses updates and is told so.

use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;

/// Updates kept for followers that read slowly.
pub const CAPACITY: usize = 1024;

/// One change to a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunUpdate {
    /// `run`, `step` or `approval`.
    pub kind: &'static str,
    /// The run's tenant; followers only ever get their own tenant's updates.
    #[serde(skip)]
    pub tenant: TenantId,
    /// The run.
    pub run_id: String,
    /// The step (step and approval updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// The `foreach` element (`-1`: the step as a whole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<i64>,
    /// The new status.
    pub status: String,
    /// Attempts made so far (steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the change was made.
    pub at: DateTime<Utc>,
}

impl RunUpdate {
    /// A change of a run's status.
    pub fn run(tenant: &TenantId, run_id: &str, status: &str, error: Option<&str>) -> Self {
        RunUpdate {
            kind: "run",
            tenant: tenant.clone(),
            run_id: run_id.into(),
            step_id: None,
            item: None,
            status: status.into(),
            attempt: None,
            error: error.map(str::to_owned),
            at: Utc::now(),
        }
    }

    /// A stored step record.
    pub fn step(tenant: &TenantId, rec: &mcpsec_store::StepRunRecord) -> Self {
        RunUpdate {
            kind: "step",
            tenant: tenant.clone(),
            run_id: rec.run_id.clone(),
            step_id: Some(rec.step_id.clone()),
            item: Some(rec.item),
            status: rec.status.clone(),
            attempt: Some(rec.attempt),
            error: rec.error.clone(),
            at: Utc::now(),
        }
    }

    /// A stored approval request.
    pub fn approval(rec: &mcpsec_store::ApprovalRecord) -> Self {
        RunUpdate {
            kind: "approval",
            tenant: rec.tenant.clone(),
            run_id: rec.run_id.clone(),
            step_id: Some(rec.step_id.clone()),
            item: None,
            status: rec.status.clone(),
            attempt: None,
            error: None,
            at: Utc::now(),
        }
    }
}
