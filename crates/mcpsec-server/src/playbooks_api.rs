//! `/api/v1/playbooks`, `/runs`, `/approvals`: response playbooks, their runs with every
//! step's input, output, timing and actor, and the approval requests waiting on people.
//! Everything is scoped to the caller's tenant; changes, starts and decisions are
//! audited.

use crate::events::http_attrs;
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use mcpsec_core::ErrorCode;
use mcpsec_respond::{Decider, EngineError, PlaybookInfo, Responder};
use mcpsec_store::{ApprovalRecord, PlaybookVersion, RunFilter, RunRecord, StepRunRecord};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Playbooks of the caller's tenant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PlaybookList {
    /// API playbooks first, then files serving the tenant.
    #[schema(value_type = Vec<Object>)]
    playbooks: Vec<PlaybookInfo>,
}

/// One playbook with its versions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PlaybookDetail {
    /// The playbook.
    #[schema(value_type = Object)]
    playbook: PlaybookInfo,
    /// Versions (API playbooks), oldest first.
    #[schema(value_type = Vec<Object>)]
    versions: Vec<PlaybookVersion>,
}

/// A playbook to deploy.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct PlaybookBody {
    /// The playbook YAML.
    pub(crate) yaml: String,
    /// Whether its triggers are live (default true).
    pub(crate) enabled: Option<bool>,
}

/// What a deployment did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeployedPlaybook {
    /// The playbook's id.
    pub(crate) id: String,
    /// The version now live.
    pub(crate) version: u32,
}

/// A manual start.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct RunBody {
    /// The alert the run is about (one of the tenant's).
    alert_id: Option<String>,
    /// Extra values (`input` in templates).
    #[schema(value_type = Object)]
    input: Option<serde_json::Value>,
}

/// A started run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Started {
    /// The run's id.
    run_id: String,
}

/// Run listing filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunParams {
    /// One playbook.
    playbook: Option<String>,
    /// One alert.
    alert: Option<String>,
    /// `running`, `waiting`, `succeeded`, `failed`.
    status: Option<String>,
    /// Page size (1–500, default 100).
    limit: Option<usize>,
    /// Runs skipped (newest first).
    offset: Option<usize>,
}

/// A page of runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RunList {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    runs: Vec<RunRecord>,
}

/// One run with its steps and approvals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RunDetail {
    /// The run.
    #[schema(value_type = Object)]
    run: RunRecord,
    /// Every step record (input, output, timing, actor).
    #[schema(value_type = Vec<Object>)]
    steps: Vec<StepRunRecord>,
    /// Approval requests of the run.
    #[schema(value_type = Vec<Object>)]
    approvals: Vec<ApprovalRecord>,
}

/// Pending approval requests.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ApprovalList {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    approvals: Vec<ApprovalRecord>,
}

/// A decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct DecisionBody {
    /// Why.
    comment: Option<String>,
}

pub(crate) fn responder(st: &AppState) -> Result<Arc<Responder>, ApiError> {
    st.responder.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "response orchestration is not running",
        )
    })
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
        EngineError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
        EngineError::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
        EngineError::Invalid(m) => ApiError::bad_request(m),
        EngineError::Store(s) => s.into(),
        e @ EngineError::Interrupted(_) => ApiError::internal(e),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(engine_error)
}

pub(crate) fn audit(
    st: &AppState,
    who: &Principal,
    action: &str,
    target: &str,
    details: serde_json::Value,
) {
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: action.into(),
        target: target.chars().take(200).collect(),
        outcome: "success".into(),
        details,
    });
}

/// Lists the caller's playbooks.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks",
    responses((status = 200, description = "Playbooks", body = PlaybookList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<PlaybookList>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRead,
        &http_attrs("GET", "/api/v1/playbooks", None),
    )?;
    let r = responder(&st)?;
    let tenant = who.tenant.clone();
    let playbooks = blocking(move || r.list(&tenant)).await?;
    Ok(Json(PlaybookList { playbooks }))
}

/// Deploys a playbook (a new version when the id exists).
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "playbooks", request_body = PlaybookBody,
    responses((status = 201, description = "Deployed", body = DeployedPlaybook),
        (status = 400, description = "Invalid playbook", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<PlaybookBody>,
) -> Result<(StatusCode, Json<DeployedPlaybook>), ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksWrite,
        &http_attrs("POST", "/api/v1/playbooks", None),
    )?;
    let r = responder(&st)?;
    let pb = mcpsec_respond::parse_playbook(&body.yaml, r.engine().registry())
        .map_err(|e| ApiError::bad_request(format!("invalid playbook: {e}")))?;
    let (tenant, actor, id, name, yaml) = (
        who.tenant.clone(),
        who.key_id.clone(),
        pb.id.clone(),
        pb.name.clone(),
        body.yaml,
    );
    let enabled = body.enabled.unwrap_or(true);
    let r2 = r.clone();
    let (i2, t2) = (id.clone(), tenant.clone());
    let version = blocking(move || {
        let store = r2.engine().store();
        let v = store.put_playbook(&t2, &i2, &name, &yaml, &actor, Utc::now())?;
        store.set_playbook_enabled(&t2, &i2, enabled, &actor, Utc::now())?;
        Ok(v)
    })
    .await?;
    audit(
        &st,
        &who,
        "playbooks.write",
        &id,
        serde_json::json!({"version": version, "enabled": enabled}),
    );
    Ok((StatusCode::CREATED, Json(DeployedPlaybook { id, version })))
}

/// One playbook with its versions.
#[utoipa::path(get, path = "/api/v1/playbooks/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 200, description = "The playbook", body = PlaybookDetail),
        (status = 404, description = "No such playbook", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<PlaybookDetail>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRead,
        &http_attrs("GET", "/api/v1/playbooks/{id}", Some(&id)),
    )?;
    let r = responder(&st)?;
    let tenant = who.tenant.clone();
    let (pb, versions) = blocking(move || {
        let pb = r
            .get(&tenant, &id)?
            .ok_or_else(|| EngineError::NotFound(format!("no playbook {id}")))?;
        let versions = r.engine().store().playbook_versions(&tenant, &id)?;
        Ok((pb, versions))
    })
    .await?;
    Ok(Json(PlaybookDetail {
        playbook: pb,
        versions,
    }))
}

/// Starts a playbook by hand, usually about one alert.
#[utoipa::path(post, path = "/api/v1/playbooks/{id}/run", tag = "playbooks", request_body = RunBody,
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 202, description = "Started", body = Started),
        (status = 404, description = "No such playbook or alert", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn run(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<Json<RunBody>>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRun,
        &http_attrs("POST", "/api/v1/playbooks/{id}/run", Some(&id)),
    )?;
    let body = body.map(|b| b.0).unwrap_or_default();
    let r = responder(&st)?;
    let (tenant, actor, pid) = (who.tenant.clone(), who.key_id.clone(), id.clone());
    let input = body.input.unwrap_or_else(|| serde_json::json!({}));
    let run =
        blocking(move || r.start_manual(&tenant, &pid, body.alert_id.as_deref(), input, actor))
            .await?;
    audit(
        &st,
        &who,
        "playbooks.run",
        &id,
        serde_json::json!({"run": run.id, "alert": run.alert_id}),
    );
    Ok((StatusCode::ACCEPTED, Json(Started { run_id: run.id })))
}

/// Lists the caller's runs.
#[utoipa::path(get, path = "/api/v1/runs", tag = "playbooks", params(RunParams),
    responses((status = 200, description = "Runs", body = RunList)),
    security(("bearer" = [])))]
pub(crate) async fn runs(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RunParams>,
) -> Result<Json<RunList>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRead,
        &http_attrs("GET", "/api/v1/runs", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let r = responder(&st)?;
    let tenant = who.tenant.clone();
    let filter = RunFilter {
        playbook_id: p.playbook,
        alert_id: p.alert,
        status: p.status,
        limit,
        offset: p.offset.unwrap_or(0),
    };
    let runs = blocking(move || Ok(r.engine().store().list_runs(&tenant, &filter)?)).await?;
    Ok(Json(RunList { runs }))
}

/// One run with its steps and approvals.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = RunDetail),
        (status = 404, description = "No such run", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn run_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRead,
        &http_attrs("GET", "/api/v1/runs/{id}", Some(&id)),
    )?;
    let r = responder(&st)?;
    let tenant = who.tenant.clone();
    let detail = blocking(move || {
        let store = r.engine().store();
        let run = store
            .get_run(Some(&tenant), &id)?
            .ok_or_else(|| EngineError::NotFound(format!("no run {id}")))?;
        Ok(RunDetail {
            steps: store.step_runs(&id)?,
            approvals: store.approvals(&id)?,
            run,
        })
    })
    .await?;
    Ok(Json(detail))
}

/// Approval requests waiting in the caller's tenant.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "playbooks",
    responses((status = 200, description = "Pending approvals", body = ApprovalList)),
    security(("bearer" = [])))]
pub(crate) async fn approvals(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ApprovalList>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksRead,
        &http_attrs("GET", "/api/v1/approvals", None),
    )?;
    let r = responder(&st)?;
    let tenant = who.tenant.clone();
    let approvals = blocking(move || Ok(r.engine().store().pending_approvals(&tenant)?)).await?;
    Ok(Json(ApprovalList { approvals }))
}

async fn decide(
    st: AppState,
    who: Principal,
    run_id: String,
    step: String,
    approve: bool,
    body: Option<Json<DecisionBody>>,
) -> Result<Json<ApprovalRecord>, ApiError> {
    let verb = if approve { "approve" } else { "reject" };
    let path = format!("/api/v1/runs/{{id}}/steps/{{step}}/{verb}");
    st.authorize(
        &who,
        Action::ApprovalsDecide,
        &http_attrs("POST", &path, Some(&run_id)),
    )?;
    let comment = body.and_then(|b| b.0.comment);
    let r = responder(&st)?;
    let decider = Decider {
        actor: who.key_id.clone(),
        role: who.role.clone(),
        any_role: who.role == "admin",
    };
    let tenant = who.tenant.clone();
    let (r2, rid, sid, c2) = (r.clone(), run_id.clone(), step.clone(), comment.clone());
    let rec = blocking(move || {
        r2.engine()
            .decide(Some(&tenant), &rid, &sid, &decider, approve, c2)
    })
    .await?;
    r.spawn_drive(run_id.clone());
    audit(
        &st,
        &who,
        &format!("approvals.{verb}"),
        &format!("{run_id}/{step}"),
        serde_json::json!({"comment": comment, "status": rec.status}),
    );
    Ok(Json(rec))
}

/// Approves a step waiting for approval.
#[utoipa::path(post, path = "/api/v1/runs/{id}/steps/{step}/approve", tag = "playbooks",
    request_body = DecisionBody,
    params(("id" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step id")),
    responses((status = 200, description = "The approval request as it stands"),
        (status = 403, description = "Not an approver", body = crate::error::ErrorBody),
        (status = 409, description = "Already decided or expired", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn approve(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, step)): Path<(String, String)>,
    body: Option<Json<DecisionBody>>,
) -> Result<Json<ApprovalRecord>, ApiError> {
    decide(st, who, id, step, true, body).await
}

/// Rejects a step waiting for approval (it fails; its compensation runs).
#[utoipa::path(post, path = "/api/v1/runs/{id}/steps/{step}/reject", tag = "playbooks",
    request_body = DecisionBody,
    params(("id" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step id")),
    responses((status = 200, description = "The approval request as it stands"),
        (status = 403, description = "Not an approver", body = crate::error::ErrorBody),
        (status = 409, description = "Already decided or expired", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn reject(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, step)): Path<(String, String)>,
    body: Option<Json<DecisionBody>>,
) -> Result<Json<ApprovalRecord>, ApiError> {
    decide(st, who, id, step, false, body).await
}
