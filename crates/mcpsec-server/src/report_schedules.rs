//! Report schedules: a cron expression read in an IANA time zone makes a report job at
//! each due time, and the finished document is delivered (to a webhook, HMAC-signed
//! when a secret is configured; by e-mail; to object storage) besides being kept in the
//! history.
//!
//! The scheduler ticks every few seconds, takes the due schedules of every tenant from
//! the store, records the run and the next due time *before* queuing the report (a
//! crash skips a run rather than sending one twice), and queues the job.

use crate::report_deliver::Delivery;
use crate::report_jobs::spawn_with;
use crate::report_targets::DeliveryTargets;
use crate::{Action, ApiError, AppState, Principal};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::ErrorCode;
use mcpsec_report::Format;
use mcpsec_respond::schedule::next_run;
use mcpsec_store::{ReportJob, ReportJobStatus, ReportSchedule};
use serde::{Deserialize, Serialize};

/// How often the scheduler looks for due schedules.
const TICK: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest period a scheduled report may cover (a leap year).
const MAX_PERIOD_HOURS: u32 = 8784;

/// A schedule to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSchedule {
    /// A label, e.g. "Monday triage".
    name: String,
    /// `executive`, `triage`, `coverage`, `supply`, `risk`, `response` or `compliance`.
    kind: String,
    /// `pdf` (default), `html`, `xlsx`, `csv`, `md`, `json`, or `sarif` (supply only).
    format: Option<String>,
    /// The project (id or name) a `supply` report covers; default: every project.
    project: Option<String>,
    /// The framework a `compliance` report maps: `soc2`, `iso27001`, `nist80053`, `cis8`
    /// or `all` (default).
    framework: Option<String>,
    /// Cron expression: 5 fields (minute first), 6 (seconds first) or `@daily`-style.
    cron: String,
    /// IANA time zone the expression is read in (default `UTC`).
    timezone: Option<String>,
    /// Each report covers this many hours up to its run (1–8784, default 168).
    period_hours: Option<u32>,
    /// Where the document goes.
    #[serde(default)]
    deliver: DeliveryTargets,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg.into())
}

/// Makes a schedule.
#[utoipa::path(post, path = "/api/v1/reports/schedules", tag = "reports", request_body = NewSchedule,
    responses(
        (status = 201, description = "The schedule with its next run", body = Object),
        (status = 400, description = "Bad cron, time zone, kind, format or target", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(req): Json<NewSchedule>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ReportsWrite,
        &crate::events::http_attrs("POST", "/api/v1/reports/schedules", None),
    )?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad("name must hold 1 to 200 characters"));
    }
    let format: Format = req
        .format
        .as_deref()
        .unwrap_or("pdf")
        .parse()
        .map_err(|e: mcpsec_report::ReportError| bad(e.to_string()))?;
    let framework = st.admit_report(
        &who,
        &req.kind,
        format,
        req.project.as_deref(),
        req.framework.as_deref(),
        &crate::events::http_attrs("POST", "/api/v1/reports/schedules", None),
    )?;
    let framework = (req.kind == "compliance").then_some(framework);
    let timezone = req.timezone.unwrap_or_else(|| "UTC".to_owned());
    if req.cron.len() > 200 {
        return Err(bad("cron expression longer than 200 characters"));
    }
    let now = Utc::now();
    let next = next_run(&req.cron, &timezone, now).map_err(bad)?;
    let hours = req.period_hours.unwrap_or(168);
    if !(1..=MAX_PERIOD_HOURS).contains(&hours) {
        return Err(bad(format!(
            "period_hours must be between 1 and {MAX_PERIOD_HOURS}"
        )));
    }
    crate::report_targets::check(&req.deliver, &st.report_delivery)?;
    let schedule = ReportSchedule {
        id: ulid::Ulid::new().to_string(),
        tenant: who.tenant.clone(),
        name: name.to_owned(),
        kind: req.kind,
        format: format.as_str().to_owned(),
        cron: req.cron,
        timezone,
        period_secs: u64::from(hours) * 3600,
        delivery: serde_json::to_value(&req.deliver).map_err(ApiError::internal)?,
        enabled: true,
        created_by: who.key_id.clone(),
        created_at: now,
        next_run: next,
        last_run: None,
        last_job: None,
        last_error: None,
        project: req.project,
        framework,
    };
    let stored = schedule.clone();
    st.on_store(move |s| s.add_report_schedule(&stored)).await?;
    crate::report_jobs::audit(
        &st,
        &who,
        "reports.schedule_created",
        &schedule.id,
        serde_json::json!({"kind": schedule.kind, "cron": schedule.cron, "timezone": schedule.timezone,
            "deliver": req.deliver.kinds()}),
    );
    Ok((StatusCode::CREATED, Json(schedule)).into_response())
}

/// The tenant's schedules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ScheduleList {
    /// By name.
    #[schema(value_type = Vec<Object>)]
    schedules: Vec<ReportSchedule>,
}

/// The tenant's report schedules.
#[utoipa::path(get, path = "/api/v1/reports/schedules", tag = "reports",
    responses((status = 200, description = "Schedules", body = ScheduleList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ScheduleList>, ApiError> {
    st.authorize(
        &who,
        Action::ReportsRead,
        &crate::events::http_attrs("GET", "/api/v1/reports/schedules", None),
    )?;
    let tenant = who.tenant.clone();
    let schedules = st
        .on_store(move |s| s.list_report_schedules(&tenant))
        .await?;
    Ok(Json(ScheduleList { schedules }))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no report schedule {id:?}"))
}

/// Deletes a schedule (its past reports stay in the history).
#[utoipa::path(delete, path = "/api/v1/reports/schedules/{id}", tag = "reports",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such schedule for this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let removal = crate::report_jobs::Removal {
        route: "/api/v1/reports/schedules/{id}",
        audit_as: "reports.schedule_deleted",
        missing: format!("no report schedule {id:?}"),
    };
    crate::report_jobs::remove_owned(&st, &who, removal, id, |s, t, id| {
        s.delete_report_schedule(t, id)
    })
    .await
}

/// Runs a schedule now (its next due time does not move).
#[utoipa::path(post, path = "/api/v1/reports/schedules/{id}/run", tag = "reports",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 202, description = "The report job made", body = Object),
        (status = 404, description = "No such schedule for this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn run_now(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ReportsWrite,
        &crate::events::http_attrs("POST", "/api/v1/reports/schedules/{id}/run", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let key = id.clone();
    let schedule = st
        .on_store(move |s| s.report_schedule(&tenant, &key))
        .await?
        .ok_or_else(|| not_found(&id))?;
    let next = schedule.next_run;
    let job = queue(&st, &schedule, Utc::now(), next, &who.key_id).await?;
    crate::report_jobs::audit(
        &st,
        &who,
        "reports.schedule_run",
        &id,
        serde_json::json!({"job": job.id}),
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"job": job.id, "status": "queued"})),
    )
        .into_response())
}

/// Records the run, stores a job over the schedule's period and queues it.
async fn queue(
    st: &AppState,
    s: &ReportSchedule,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
    actor: &str,
) -> Result<ReportJob, ApiError> {
    let job = ReportJob {
        id: ulid::Ulid::new().to_string(),
        tenant: s.tenant.clone(),
        kind: s.kind.clone(),
        format: s.format.clone(),
        from: Some(now - Duration::seconds(i64::try_from(s.period_secs).unwrap_or(i64::MAX / 2))),
        to: Some(now),
        status: ReportJobStatus::Queued,
        error: None,
        requested_by: actor.to_owned(),
        created_at: now,
        finished_at: None,
        size: None,
        sha256: None,
        project: s.project.clone(),
        framework: s.framework.clone(),
    };
    let (stored, id) = (job.clone(), s.id.clone());
    st.on_store(move |db| {
        db.mark_report_schedule_run(&id, now, &stored.id, next)?;
        db.add_report_job(&stored)
    })
    .await?;
    let targets: DeliveryTargets = serde_json::from_value(s.delivery.clone()).unwrap_or_default();
    let after = (!targets.is_empty()).then(|| Delivery {
        schedule: s.id.clone(),
        targets,
    });
    spawn_with(st.clone(), job.clone(), after);
    Ok(job)
}

impl AppState {
    /// Starts the scheduler of report schedules (call once, inside the runtime).
    pub fn start_report_scheduler(&self) {
        let st = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                let now = Utc::now();
                let due = match st.on_store(move |s| s.due_report_schedules(now)).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::error!(error = ?e, "cannot read due report schedules");
                        continue;
                    }
                };
                for s in due {
                    let next = match next_run(&s.cron, &s.timezone, now) {
                        Ok(t) => t,
                        // Validated at creation; a time zone gone from a newer tz database
                        // pauses the schedule a day rather than spinning.
                        Err(e) => {
                            tracing::warn!(schedule = %s.id, error = %e, "schedule cannot compute its next run");
                            now + Duration::days(1)
                        }
                    };
                    let actor = format!("schedule:{}", s.id);
                    if let Err(e) = queue(&st, &s, now, next, &actor).await {
                        tracing::error!(schedule = %s.id, error = ?e, "cannot queue a scheduled report");
                    } else {
                        metrics::counter!("mcpsec_report_schedule_runs_total").increment(1);
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    #[test]
    fn next_runs_follow_the_time_zone_across_daylight_saving() {
        // 07:00 in Paris is 06:00 UTC in winter and 05:00 UTC in summer.
        let winter =
            next_run("0 7 * * *", "Europe/Paris", at("2026-03-28T12:00:00Z")).expect("next");
        assert_eq!(
            winter,
            at("2026-03-29T05:00:00Z"),
            "the night the clocks go forward"
        );
        let before =
            next_run("0 7 * * *", "Europe/Paris", at("2026-03-27T12:00:00Z")).expect("next");
        assert_eq!(before, at("2026-03-28T06:00:00Z"));
        let monday = next_run(
            "0 9 * * MON",
            "America/New_York",
            at("2026-11-26T12:00:00Z"),
        )
        .expect("next");
        assert_eq!(monday, at("2026-11-30T14:00:00Z"));
        assert_eq!(
            next_run("@daily", "UTC", at("2026-11-26T12:00:00Z")).expect("next"),
            at("2026-11-27T00:00:00Z")
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        let e = next_run("0 7 * *", "UTC", Utc::now()).expect_err("four fields");
        assert!(e.contains("invalid cron expression"), "{e}");
        let e = next_run("0 7 * * *", "Mars/Olympus", Utc::now()).expect_err("zone");
        assert!(e.contains("unknown time zone \"Mars/Olympus\""), "{e}");
        assert!(
            next_run("0 0 31 2 *", "UTC", Utc::now()).is_err(),
            "never fires"
        );
    }
}
