//! The response report: what the playbooks did in the period — runs by playbook and
//! outcome, the runs that failed and why, and the approvals with how long each waited.

use crate::sections::{Table, human_duration as human};
use crate::templates::thousands;
use serde::Serialize;

/// One playbook's runs in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlaybookActivity {
    /// Playbook id.
    pub playbook: String,
    /// Runs started.
    pub runs: u64,
    /// Runs that succeeded.
    pub succeeded: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Runs still running or waiting for an approval.
    pub in_progress: u64,
    /// Median duration of the finished runs, in seconds.
    pub median_seconds: Option<f64>,
}

/// A run that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRun {
    /// Run id.
    pub run_id: String,
    /// Playbook id.
    pub playbook: String,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// What started it (`alert`, `manual`, `schedule`, …).
    pub trigger: String,
    /// The error the engine recorded.
    pub error: String,
}

/// An approval request of a run of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRow {
    /// Run id.
    pub run_id: String,
    /// Playbook id.
    pub playbook: String,
    /// The step waiting for it.
    pub step: String,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// Seconds from the request to its decision (or to the report for pending ones).
    pub waited_seconds: f64,
    /// Whether it was escalated.
    pub escalated: bool,
}

/// What the response report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Response {
    /// Runs started in the period.
    pub runs: u64,
    /// Of those, succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Still running or waiting.
    pub in_progress: u64,
    /// Per playbook, most runs first.
    pub by_playbook: Vec<PlaybookActivity>,
    /// Failed runs, newest first (at most 50).
    pub failures: Vec<FailedRun>,
    /// Approval requests, newest first (at most 100).
    pub approvals: Vec<ApprovalRow>,
    /// Median wait of the decided approvals, in seconds.
    pub approval_median_seconds: Option<f64>,
    /// Whether the period held more runs than the report reads.
    pub truncated: bool,
}

/// `(name, value)` headline figures.
pub(crate) fn key_figures(r: &Response, out: &mut Vec<(String, String)>) {
    out.push(("Playbook runs".to_owned(), thousands(r.runs)));
    out.push(("Succeeded".to_owned(), thousands(r.succeeded)));
    out.push(("Failed".to_owned(), thousands(r.failed)));
    out.push(("In progress".to_owned(), thousands(r.in_progress)));
    out.push((
        "Median approval wait".to_owned(),
        r.approval_median_seconds
            .map(human)
            .unwrap_or_else(|| "–".to_owned()),
    ));
}

/// The tables of a response report.
pub(crate) fn tables(r: &Response, out: &mut Vec<Table>) {
    let mut by = Table::new(
        "Runs by playbook",
        &[
            ("Playbook", false),
            ("Runs", true),
            ("Succeeded", true),
            ("Failed", true),
            ("In progress", true),
            ("Median duration", false),
        ],
        "No playbook ran in this period.",
    );
    by.rows = r
        .by_playbook
        .iter()
        .map(|p| {
            vec![
                p.playbook.clone(),
                thousands(p.runs),
                thousands(p.succeeded),
                thousands(p.failed),
                thousands(p.in_progress),
                p.median_seconds.map(human).unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    let mut failures = Table::new(
        "Failed runs",
        &[
            ("Started", false),
            ("Playbook", false),
            ("Trigger", false),
            ("Run", false),
            ("Error", false),
        ],
        "No run failed in this period.",
    );
    failures.rows = r
        .failures
        .iter()
        .map(|f| {
            vec![
                f.started.clone(),
                f.playbook.clone(),
                f.trigger.clone(),
                f.run_id.clone(),
                f.error.clone(),
            ]
        })
        .collect();
    let mut approvals = Table::new(
        "Approvals",
        &[
            ("Playbook", false),
            ("Step", false),
            ("Status", false),
            ("Waited", false),
            ("Escalated", false),
            ("Run", false),
        ],
        "No step asked for approval in this period.",
    );
    approvals.rows = r
        .approvals
        .iter()
        .map(|a| {
            vec![
                a.playbook.clone(),
                a.step.clone(),
                a.status.clone(),
                human(a.waited_seconds),
                if a.escalated { "yes" } else { "no" }.to_owned(),
                a.run_id.clone(),
            ]
        })
        .collect();
    out.extend([by, failures, approvals]);
}
