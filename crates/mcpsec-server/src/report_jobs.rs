//! Reports made in the background: `POST /api/v1/reports` queues a job, a worker renders
//! it (progress visible while it runs), the document is stored with its job, and
//! `GET /api/v1/reports` is the tenant's report history. Jobs left unfinished by a
//! restart run again when `serve` starts ([`AppState::resume_report_jobs`]).

use crate::{Action, ApiError, AppState, Principal};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use mcpsec_core::ErrorCode;
use mcpsec_report::Format;
use mcpsec_store::{ReportJob, ReportJobStatus};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Reports rendered at once; more wait in line.
const WORKERS: usize = 2;

/// Progress of running jobs, by id: `(done, total)` units of work.
pub(crate) struct JobBoard {
    progress: Mutex<HashMap<String, (u64, u64)>>,
    permits: tokio::sync::Semaphore,
}

impl JobBoard {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(JobBoard {
            progress: Mutex::default(),
            permits: tokio::sync::Semaphore::new(WORKERS),
        })
    }

    fn set(&self, id: &str, done: u64, total: u64) {
        if let Ok(mut p) = self.progress.lock() {
            p.insert(id.to_owned(), (done, total));
        }
    }

    fn clear(&self, id: &str) {
        if let Ok(mut p) = self.progress.lock() {
            p.remove(id);
        }
    }

    fn get(&self, id: &str) -> Option<(u64, u64)> {
        self.progress.lock().ok()?.get(id).copied()
    }
}

/// A report to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReport {
    /// `executive`, `triage`, `coverage`, `supply`, `risk`, `response` or `compliance`.
    kind: String,
    /// `pdf` (default), `html`, `xlsx`, `csv`, `md`, `json`, or `sarif` (supply only).
    format: Option<String>,
    /// Start of the period (RFC 3339, epoch seconds, `now-7d`).
    from: Option<String>,
    /// End of the period, exclusive.
    to: Option<String>,
    /// The project (id or name) a `supply` report covers; default: every project.
    project: Option<String>,
    /// The framework a `compliance` report maps: `soc2`, `iso27001`, `nist80053`, `cis8`
    /// or `all` (default).
    framework: Option<String>,
}

/// A report job as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    /// Job id.
    id: String,
    /// Report kind.
    kind: String,
    /// Output format.
    format: String,
    /// The project a supply report covers (none: every project).
    project: Option<String>,
    /// The framework a compliance report maps (none: all).
    framework: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    status: String,
    /// 0–100 while running, 100 when done.
    progress: Option<u8>,
    /// Why it failed.
    error: Option<String>,
    /// Start of the period.
    from: Option<chrono::DateTime<Utc>>,
    /// End of the period.
    to: Option<chrono::DateTime<Utc>>,
    /// Who asked.
    requested_by: String,
    /// When.
    created_at: chrono::DateTime<Utc>,
    /// When it finished.
    finished_at: Option<chrono::DateTime<Utc>>,
    /// Document size in bytes.
    size: Option<u64>,
    /// Hex SHA-256 of the document.
    sha256: Option<String>,
    /// Where to download it once done.
    download: Option<String>,
}

fn view(st: &AppState, j: ReportJob) -> JobView {
    let progress = match j.status {
        ReportJobStatus::Done => Some(100),
        ReportJobStatus::Running => st
            .report_jobs
            .get(&j.id)
            .map(|(d, t)| ((d.min(t) * 100) / t.max(1)).min(99) as u8),
        _ => None,
    };
    JobView {
        download: (j.status == ReportJobStatus::Done)
            .then(|| format!("/api/v1/reports/jobs/{}/file", j.id)),
        id: j.id,
        kind: j.kind,
        format: j.format,
        project: j.project,
        framework: j.framework,
        status: j.status.as_str().to_owned(),
        progress,
        error: j.error,
        from: j.from,
        to: j.to,
        requested_by: j.requested_by,
        created_at: j.created_at,
        finished_at: j.finished_at,
        size: j.size,
        sha256: j.sha256,
    }
}

fn attrs(method: &str, path: &str, id: Option<&str>) -> crate::authz::Attributes {
    crate::events::http_attrs(method, path, id)
}

pub(crate) fn audit(
    st: &AppState,
    who: &Principal,
    action: &str,
    id: &str,
    details: serde_json::Value,
) {
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: action.into(),
        target: id.into(),
        outcome: "success".into(),
        details,
    });
}

/// Queues a report; answers `202` with the job, whose `status` and `progress` tell when
/// the document can be downloaded.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = NewReport,
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 400, description = "Unknown kind or format, bad time", body = crate::error::ErrorBody),
        (status = 403, description = "The key may not make reports", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(req): Json<NewReport>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ReportsWrite,
        &attrs("POST", "/api/v1/reports", None),
    )?;
    let format: Format = req
        .format
        .as_deref()
        .unwrap_or("pdf")
        .parse()
        .map_err(|e: mcpsec_report::ReportError| ApiError::bad_request(e.to_string()))?;
    let framework = st.admit_report(
        &who,
        &req.kind,
        format,
        req.project.as_deref(),
        req.framework.as_deref(),
        &attrs("POST", "/api/v1/reports", None),
    )?;
    let (from, to) = crate::reports::times(req.from.as_deref(), req.to.as_deref())?;
    let now = Utc::now();
    let framework = (req.kind == "compliance").then_some(framework);
    let job = ReportJob {
        id: ulid::Ulid::new().to_string(),
        tenant: who.tenant.clone(),
        kind: req.kind,
        format: format.as_str().to_owned(),
        from,
        to,
        status: ReportJobStatus::Queued,
        error: None,
        requested_by: who.key_id.clone(),
        created_at: now,
        finished_at: None,
        size: None,
        sha256: None,
        project: req.project,
        framework,
    };
    let stored = job.clone();
    st.on_store(move |s| s.add_report_job(&stored)).await?;
    audit(
        &st,
        &who,
        "reports.created",
        &job.id,
        serde_json::json!({"kind": job.kind, "format": job.format, "project": job.project, "framework": job.framework}),
    );
    spawn(st.clone(), job.clone());
    let body = Json(view(&st, job));
    Ok((StatusCode::ACCEPTED, body).into_response())
}

/// Runs a job in the background: renders, then stores the document (or the error).
pub(crate) fn spawn(st: AppState, job: ReportJob) {
    spawn_with(st, job, None);
}

/// [`spawn`], then delivers the finished document when `after` says where.
pub(crate) fn spawn_with(
    st: AppState,
    job: ReportJob,
    after: Option<crate::report_deliver::Delivery>,
) {
    tokio::spawn(async move {
        let finished_job = job.clone();
        let board = st.report_jobs.clone();
        let Ok(_permit) = board.permits.acquire().await else {
            return;
        };
        let id = job.id.clone();
        let store = st.state.clone();
        let running = id.clone();
        let _ = tokio::task::spawn_blocking(move || {
            store.finish_report_job(&running, ReportJobStatus::Running, None, None, Utc::now())
        })
        .await;
        board.set(&id, 0, 1);
        let worker = st.clone();
        let rendered = tokio::task::spawn_blocking(move || render(&worker, &job)).await;
        let store = st.state.clone();
        let finished = id.clone();
        let mut document = None;
        let outcome = tokio::task::spawn_blocking(move || match rendered {
            Ok(Ok(bytes)) => store
                .finish_report_job(
                    &finished,
                    ReportJobStatus::Done,
                    None,
                    Some(&bytes),
                    Utc::now(),
                )
                .map(|()| Some(bytes)),
            Ok(Err(e)) => store
                .finish_report_job(
                    &finished,
                    ReportJobStatus::Failed,
                    Some(&e),
                    None,
                    Utc::now(),
                )
                .map(|()| None),
            Err(e) => store
                .finish_report_job(
                    &finished,
                    ReportJobStatus::Failed,
                    Some(&format!("the report worker stopped: {e}")),
                    None,
                    Utc::now(),
                )
                .map(|()| None),
        })
        .await;
        match outcome {
            Ok(Ok(d)) => document = d,
            Ok(Err(e)) => tracing::error!(job = %id, error = %e, "cannot store a finished report"),
            Err(e) => tracing::error!(job = %id, error = %e, "report store task failed"),
        }
        board.clear(&id);
        metrics::counter!("mcpsec_reports_generated_total").increment(1);
        if let Some(to) = after {
            let error = match document {
                Some(bytes) => {
                    crate::report_deliver::deliver(&st.report_delivery, &to, &finished_job, &bytes)
                        .await
                }
                None => Some("the report failed; nothing was delivered".to_owned()),
            };
            let store = st.state.clone();
            let schedule = to.schedule.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store.set_report_schedule_error(&schedule, error.as_deref())
            })
            .await;
        }
    });
}

/// Renders a job's document (blocking). Errors are for the job's `error` field.
fn render(st: &AppState, job: &ReportJob) -> Result<Vec<u8>, String> {
    let format: Format = job.format.parse().map_err(|e| format!("{e}"))?;
    let rules = crate::reports::rules_for_report(st.detector.as_deref(), &job.kind, &job.tenant)
        .map_err(|e| format!("cannot load the deployed rules: {e}"))?;
    let board = st.report_jobs.clone();
    let id = job.id.clone();
    let progress = move |done: u64, total: u64| board.set(&id, done, total);
    let src = crate::ReportSources {
        index: Some(st.index.as_ref()),
        state: st.state.as_ref(),
        rules: rules.as_deref(),
        progress: Some(&progress),
        project: job.project.as_deref(),
        supply: st.supply_sources(),
        risk_window_days: st.risk_window_days(),
        compliance: st.compliance_sources(job.framework.as_deref().unwrap_or("all")),
    };
    let data = crate::report_cache::report_data(
        &st.report_cache,
        &src,
        &job.kind,
        &job.tenant,
        (job.from, job.to),
        Utc::now(),
    )
    .map_err(|e| format!("cannot gather the report data: {e}"))?;
    mcpsec_report::render(&data, format, &st.templates()).map_err(|e| e.to_string())
}

/// History parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Newest first, at most this many (1–1000, default 100).
    limit: Option<usize>,
}

/// The tenant's reports, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct JobList {
    /// The jobs.
    reports: Vec<JobView>,
}

/// The tenant's report history, newest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ListParams),
    responses((status = 200, description = "Report jobs", body = JobList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<ListParams>,
) -> Result<Json<JobList>, ApiError> {
    st.authorize(
        &who,
        Action::ReportsRead,
        &attrs("GET", "/api/v1/reports", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let tenant = who.tenant.clone();
    let jobs = st
        .on_store(move |s| s.list_report_jobs(&tenant, limit))
        .await?;
    Ok(Json(JobList {
        reports: jobs.into_iter().map(|j| view(&st, j)).collect(),
    }))
}

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no report job {id:?}"))
}

/// One report job.
#[utoipa::path(get, path = "/api/v1/reports/jobs/{id}", tag = "reports",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job for this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    st.authorize(
        &who,
        Action::ReportsRead,
        &attrs("GET", "/api/v1/reports/jobs/{id}", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let key = id.clone();
    let job = st.on_store(move |s| s.report_job(&tenant, &key)).await?;
    job.map(|j| Json(view(&st, j)))
        .ok_or_else(|| not_found(&id))
}

/// A document as a download.
pub(crate) fn document(job: &ReportJob, bytes: Vec<u8>) -> Response {
    let format: Format = job.format.parse().unwrap_or(Format::Json);
    let name = format!(
        "mcpsec-{}-{}.{}",
        job.kind,
        job.created_at.format("%Y%m%d-%H%M"),
        format.as_str()
    );
    crate::reports::document_response(bytes, format, Some(&name))
}

/// The finished document of a job.
#[utoipa::path(get, path = "/api/v1/reports/jobs/{id}/file", tag = "reports",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The document (Content-Disposition: attachment)"),
        (status = 404, description = "No such job for this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "Not finished (or failed)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn download(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ReportsRead,
        &attrs("GET", "/api/v1/reports/jobs/{id}/file", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let key = id.clone();
    let (job, bytes) = st
        .on_store(move |s| {
            Ok((
                s.report_job(&tenant, &key)?,
                s.report_document(&tenant, &key)?,
            ))
        })
        .await?;
    let job = job.ok_or_else(|| not_found(&id))?;
    match bytes {
        Some(b) => Ok(document(&job, b)),
        None => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "report {id} is {}: nothing to download yet",
                job.status.as_str()
            ),
        )),
    }
}

/// Deletes a job, its document and its share links.
#[utoipa::path(delete, path = "/api/v1/reports/jobs/{id}", tag = "reports",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such job for this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let removal = Removal {
        route: "/api/v1/reports/jobs/{id}",
        audit_as: "reports.deleted",
        missing: format!("no report job {id:?}"),
    };
    remove_owned(&st, &who, removal, id, |s, t, id| {
        s.delete_report_job(t, id)
    })
    .await
}

/// What [`remove_owned`] removes: its route, audit action and the 404 message.
pub(crate) struct Removal {
    pub(crate) route: &'static str,
    pub(crate) audit_as: &'static str,
    pub(crate) missing: String,
}

/// Deletes (or revokes) one record of the caller's tenant with `remove`, which answers
/// whether there was one: checks `reports.write`, answers `404` when nothing was
/// removed, audits the change and answers `204`.
pub(crate) async fn remove_owned(
    st: &AppState,
    who: &Principal,
    removal: Removal,
    id: String,
    remove: impl FnOnce(
        &dyn mcpsec_store::StateStore,
        &mcpsec_core::TenantId,
        &str,
    ) -> mcpsec_store::Result<bool>
    + Send
    + 'static,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        who,
        Action::ReportsWrite,
        &attrs("DELETE", removal.route, Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let key = id.clone();
    if !st.on_store(move |s| remove(s, &tenant, &key)).await? {
        return Err(ApiError::new(ErrorCode::NotFound, removal.missing));
    }
    audit(st, who, removal.audit_as, &id, serde_json::json!({}));
    Ok(StatusCode::NO_CONTENT)
}

impl AppState {
    /// Runs again the report jobs a restart left queued or running (call once at start).
    pub fn resume_report_jobs(&self) {
        match self.state.unfinished_report_jobs() {
            Ok(jobs) => {
                if !jobs.is_empty() {
                    tracing::info!(jobs = jobs.len(), "resuming report jobs left by a restart");
                }
                for j in jobs {
                    spawn(self.clone(), j);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list unfinished report jobs"),
        }
    }
}
