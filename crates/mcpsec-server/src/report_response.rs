//! The data of the `response` report: the playbook runs started in the period (newest
//! first, at most [`MAX_RUNS`]), per playbook and outcome, the failed ones with their
//! error, and the approval requests of those runs with how long each waited.

use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_report::{ApprovalRow, FailedRun, PlaybookActivity, Response};
use mcpsec_store::{Durations, RunFilter, RunRecord, StateStore, StoreError};
use std::collections::BTreeMap;

/// Runs of the period read at most.
const MAX_RUNS: usize = 10_000;
/// Runs whose approvals are read (the newest).
const MAX_APPROVAL_RUNS: usize = 2_000;
/// Failed runs listed.
const MAX_FAILURES: usize = 50;
/// Approval requests listed.
const MAX_APPROVALS: usize = 100;
/// Page size of the run listing (the store's maximum).
const PAGE: usize = 500;

/// How a run ended, as the report counts it.
enum Outcome {
    Succeeded,
    InProgress,
    Failed,
}

fn outcome(status: &str) -> Outcome {
    match status {
        "succeeded" => Outcome::Succeeded,
        "running" | "waiting" => Outcome::InProgress,
        _ => Outcome::Failed,
    }
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

/// The runs of `tenant` started in `[from, to)`, newest first; `true` when there were
/// more than [`MAX_RUNS`].
fn runs_in(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<RunRecord>, bool), StoreError> {
    let mut runs = Vec::new();
    let mut offset = 0;
    loop {
        let page = state.list_runs(
            tenant,
            &RunFilter {
                limit: PAGE,
                offset,
                ..RunFilter::default()
            },
        )?;
        let n = page.len();
        for r in page {
            if r.created_at >= to {
                continue;
            }
            if r.created_at < from {
                return Ok((runs, false));
            }
            if runs.len() == MAX_RUNS {
                return Ok((runs, true));
            }
            runs.push(r);
        }
        if n < PAGE {
            return Ok((runs, false));
        }
        offset += n;
    }
}

/// The response report's data over `[from, to)` (default: the 7 days up to `now`).
pub(crate) fn response(
    state: &dyn StateStore,
    tenant: &TenantId,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> Result<Response, StoreError> {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::days(7));
    let (runs, truncated) = runs_in(state, tenant, from, to)?;
    let mut out = Response {
        truncated,
        ..Response::default()
    };
    let mut by: BTreeMap<&str, (PlaybookActivity, Vec<f64>)> = BTreeMap::new();
    for r in &runs {
        let (p, durations) = by.entry(r.playbook_id.as_str()).or_default();
        p.runs += 1;
        out.runs += 1;
        match outcome(&r.status) {
            Outcome::Succeeded => {
                p.succeeded += 1;
                out.succeeded += 1;
            }
            Outcome::InProgress => {
                p.in_progress += 1;
                out.in_progress += 1;
            }
            Outcome::Failed => {
                p.failed += 1;
                out.failed += 1;
                if out.failures.len() < MAX_FAILURES {
                    out.failures.push(FailedRun {
                        run_id: r.id.clone(),
                        playbook: r.playbook_id.clone(),
                        started: mcpsec_core::to_rfc3339(&r.created_at),
                        trigger: r.trigger.clone(),
                        error: r.error.clone().unwrap_or_else(|| r.status.clone()),
                    });
                }
            }
        }
        if let Some(end) = r.finished_at {
            durations.push(seconds(r.created_at, end));
        }
    }
    let mut by: Vec<PlaybookActivity> = by
        .into_iter()
        .map(|(id, (mut p, d))| {
            p.playbook = id.to_owned();
            p.median_seconds = Durations::of(d).median_seconds;
            p
        })
        .collect();
    by.sort_by(|a, b| {
        b.runs
            .cmp(&a.runs)
            .then_with(|| a.playbook.cmp(&b.playbook))
    });
    out.by_playbook = by;
    let mut waits = Vec::new();
    for r in runs.iter().take(MAX_APPROVAL_RUNS) {
        for a in state.approvals(&r.id)? {
            let decided = a.decided_at;
            if let Some(d) = decided {
                waits.push(seconds(a.created_at, d));
            }
            if out.approvals.len() < MAX_APPROVALS {
                out.approvals.push(ApprovalRow {
                    run_id: a.run_id.clone(),
                    playbook: a.playbook_id.clone(),
                    step: a.step_id.clone(),
                    status: a.status.clone(),
                    waited_seconds: seconds(a.created_at, decided.unwrap_or(now)),
                    escalated: a.escalated,
                });
            }
        }
    }
    out.approval_median_seconds = Durations::of(waits).median_seconds;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_store::{ApprovalRecord, PlaybookStore, SqliteState};

    fn run(
        tenant: &TenantId,
        id: &str,
        playbook: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> RunRecord {
        RunRecord {
            id: id.into(),
            tenant: tenant.clone(),
            playbook_id: playbook.into(),
            playbook_version: 1,
            playbook_yaml: String::new(),
            alert_id: None,
            trigger: "manual".into(),
            actor: "test".into(),
            status: status.into(),
            context: serde_json::json!({}),
            error: (status == "failed").then(|| "jira answered 503".into()),
            created_at: at,
            updated_at: at,
            finished_at: (status != "waiting").then(|| at + Duration::seconds(90)),
        }
    }

    #[test]
    fn runs_of_the_period_are_counted_per_playbook_with_their_approvals() {
        let s = SqliteState::in_memory().expect("store");
        let t = TenantId::new("a").expect("tenant");
        let other = TenantId::new("b").expect("tenant");
        let now = Utc::now();
        let h = |n: i64| now - Duration::hours(n);
        for r in [
            run(&t, "r1", "contain", "succeeded", h(5)),
            run(&t, "r2", "contain", "failed", h(4)),
            run(&t, "r3", "notify", "waiting", h(3)),
            run(&t, "old", "contain", "failed", h(24 * 9)),
            run(&other, "b1", "contain", "failed", h(2)),
        ] {
            s.create_run(&r).expect("run");
        }
        s.put_approval(&ApprovalRecord {
            run_id: "r3".into(),
            step_id: "isolate".into(),
            tenant: t.clone(),
            playbook_id: "notify".into(),
            alert_id: None,
            role: Some("responder".into()),
            approvers: vec![],
            min: 1,
            deadline: now + Duration::hours(1),
            status: "pending".into(),
            escalated: false,
            created_at: h(3),
            decided_at: None,
        })
        .expect("approval");
        let r = response(&s, &t, (None, None), now).expect("report");
        assert_eq!((r.runs, r.succeeded, r.failed, r.in_progress), (3, 1, 1, 1));
        assert_eq!(r.by_playbook[0].playbook, "contain");
        assert_eq!(r.by_playbook[0].runs, 2);
        assert_eq!(r.by_playbook[0].median_seconds, Some(90.0));
        assert_eq!(
            r.failures.len(),
            1,
            "the 9-day-old failure is outside the period"
        );
        assert_eq!(r.failures[0].error, "jira answered 503");
        assert_eq!(r.approvals.len(), 1);
        assert!((r.approvals[0].waited_seconds - 3.0 * 3600.0).abs() < 5.0);
        assert_eq!(r.approval_median_seconds, None, "nothing decided yet");
        let b = response(&s, &other, (None, None), now).expect("report");
        assert_eq!((b.runs, b.failed), (1, 1), "each tenant its own runs");
        let none = response(&s, &t, (Some(h(1)), Some(now)), now).expect("report");
        assert_eq!(none.runs, 0);
    }
}
