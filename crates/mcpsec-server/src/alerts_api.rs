//! `/api/v1/alerts`: the alert queue and its triage.

use crate::events::http_attrs;
use crate::timeparse::period;
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use chrono::Utc;
use mcpsec_core::ErrorCode;
use mcpsec_store::{
    Alert, AlertChange, AlertFilter, AlertStatus, AlertSummary, LEVEL_NAMES, MAX_ALERT_PAGE,
    parse_level,
};
use serde::{Deserialize, Serialize};

/// Most alerts one bulk update may name.
pub const MAX_BULK: usize = 1000;
/// Longest triage comment kept.
const MAX_COMMENT: usize = 4000;

/// Filters of the alert list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertParams {
    /// Levels, comma-separated (`high,critical`).
    level: Option<String>,
    /// This level or higher (`informational`, `low`, `medium`, `high`, `critical`).
    min_level: Option<String>,
    /// A rule id.
    rule: Option<String>,
    /// Statuses, comma-separated (`open`, `acknowledged`, `closed`, `false_positive`).
    status: Option<String>,
    /// A host.
    host: Option<String>,
    /// Alerts whose event is at or after (RFC 3339, epoch seconds, `now-1h`).
    from: Option<String>,
    /// Alerts whose event is before.
    to: Option<String>,
    /// Page size (1–1000, default 100).
    limit: Option<usize>,
    /// Alerts skipped.
    offset: Option<usize>,
}

/// A page of alerts, newest event first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AlertList {
    /// Alerts matching the filters in all pages.
    total: u64,
    /// Page size used.
    limit: usize,
    /// Alerts skipped.
    offset: usize,
    /// This page.
    #[schema(value_type = Vec<Object>)]
    alerts: Vec<Alert>,
}

/// A status change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct StatusChange {
    /// `open`, `acknowledged`, `closed` or `false_positive`.
    status: String,
    /// Why (kept in the alert's history).
    comment: Option<String>,
}

/// A status change of several alerts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct BulkChange {
    /// Alert ids (at most 1000).
    ids: Vec<String>,
    /// The new status.
    status: String,
    /// Why.
    comment: Option<String>,
}

/// The outcome of a bulk change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BulkResult {
    /// Alerts changed.
    updated: Vec<String>,
    /// Ids that name no alert of this tenant.
    missing: Vec<String>,
}

/// An alert's status history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct History {
    /// Changes, oldest first.
    #[schema(value_type = Vec<Object>)]
    changes: Vec<AlertChange>,
}

/// Period of a summary.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SummaryParams {
    /// Alerts whose event is at or after.
    from: Option<String>,
    /// Alerts whose event is before.
    to: Option<String>,
    /// Length of the top lists (1–100, default 10).
    top: Option<usize>,
}

fn list_of<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

fn level(s: &str) -> Result<String, ApiError> {
    if parse_level(s).is_none() {
        return Err(ApiError::bad_request(format!(
            "unknown level {s:?}: use {LEVEL_NAMES}"
        )));
    }
    Ok(s.to_ascii_lowercase())
}

fn status(s: &str) -> Result<AlertStatus, ApiError> {
    AlertStatus::parse(s).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown status {s:?}: use open, acknowledged, closed or false_positive"
        ))
    })
}

fn comment(c: Option<String>) -> Result<Option<String>, ApiError> {
    match c {
        Some(c) if c.len() > MAX_COMMENT => Err(ApiError::bad_request(format!(
            "comment is longer than {MAX_COMMENT} bytes"
        ))),
        c => Ok(c.filter(|c| !c.trim().is_empty())),
    }
}

/// Lists the caller's tenant's alerts.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertParams),
    responses(
        (status = 200, description = "Alerts", body = AlertList),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
        (status = 403, description = "Role may not read alerts", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AlertParams>,
) -> Result<Json<AlertList>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &http_attrs("GET", "/api/v1/alerts", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_ALERT_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_ALERT_PAGE}"
        )));
    }
    let (from, to) = period(p.from.as_deref(), p.to.as_deref())?;
    let filter = AlertFilter {
        levels: list_of(p.level.as_deref(), level)?,
        min_level: p.min_level.as_deref().map(level).transpose()?,
        rule_id: p.rule.filter(|r| !r.is_empty()),
        statuses: list_of(p.status.as_deref(), status)?,
        host: p.host.filter(|h| !h.is_empty()),
        from,
        to,
        limit,
        offset: p.offset.unwrap_or(0),
    };
    let tenant = who.tenant.clone();
    let page = st
        .on_store(move |s| s.list_alerts(&tenant, &filter))
        .await?;
    Ok(Json(AlertList {
        total: page.total,
        limit,
        offset: p.offset.unwrap_or(0),
        alerts: page.alerts,
    }))
}

async fn find(st: &AppState, who: &Principal, id: String) -> Result<Alert, ApiError> {
    let tenant = who.tenant.clone();
    st.on_store(move |s| s.get_alert(&tenant, &id))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such alert"))
}

/// One alert with its events.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    responses(
        (status = 200, description = "The alert", body = Object),
        (status = 404, description = "No such alert in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &http_attrs("GET", "/api/v1/alerts/{id}", Some(&id)),
    )?;
    Ok(Json(find(&st, &who, id).await?))
}

async fn change(
    st: &AppState,
    who: &Principal,
    ids: Vec<String>,
    to: AlertStatus,
    comment: Option<String>,
) -> Result<Vec<String>, ApiError> {
    let tenant = who.tenant.clone();
    let actor = who.key_id.clone();
    let (ids2, comment2) = (ids.clone(), comment.clone());
    let updated = st
        .on_store(move |s| {
            s.set_alert_status(&tenant, &ids2, to, &actor, comment2.as_deref(), Utc::now())
        })
        .await?;
    if !updated.is_empty() {
        st.audit(mcpsec_store::AuditEvent {
            tenant: who.tenant.to_string(),
            actor: who.key_id.clone(),
            action: "alerts.status".into(),
            target: updated.first().cloned().unwrap_or_default(),
            outcome: "success".into(),
            details: serde_json::json!({ "ids": updated, "status": to.as_str(), "comment": comment }),
        });
    }
    Ok(updated)
}

/// Changes an alert's status (who and when are recorded).
#[utoipa::path(patch, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "The alert after the change", body = Object),
        (status = 400, description = "Unknown status", body = crate::error::ErrorBody),
        (status = 404, description = "No such alert in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn patch(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<StatusChange>,
) -> Result<Json<Alert>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsWrite,
        &http_attrs("PATCH", "/api/v1/alerts/{id}", Some(&id)),
    )?;
    let to = status(&body.status)?;
    let updated = change(&st, &who, vec![id.clone()], to, comment(body.comment)?).await?;
    if updated.is_empty() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such alert"));
    }
    Ok(Json(find(&st, &who, id).await?))
}

/// Changes the status of several alerts at once.
#[utoipa::path(post, path = "/api/v1/alerts/status", tag = "alerts",
    request_body = BulkChange,
    responses(
        (status = 200, description = "What changed", body = BulkResult),
        (status = 400, description = "Unknown status or too many ids", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn bulk(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<BulkChange>,
) -> Result<Json<BulkResult>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsWrite,
        &http_attrs("POST", "/api/v1/alerts/status", None),
    )?;
    if body.ids.is_empty() || body.ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "ids must name between 1 and {MAX_BULK} alerts"
        )));
    }
    let to = status(&body.status)?;
    let updated = change(&st, &who, body.ids.clone(), to, comment(body.comment)?).await?;
    let missing = body
        .ids
        .into_iter()
        .filter(|id| !updated.contains(id))
        .collect();
    Ok(Json(BulkResult { updated, missing }))
}

/// An alert's status changes.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/history", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    responses(
        (status = 200, description = "Changes, oldest first", body = History),
        (status = 404, description = "No such alert in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn history(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<History>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &http_attrs("GET", "/api/v1/alerts/{id}/history", Some(&id)),
    )?;
    find(&st, &who, id.clone()).await?;
    let tenant = who.tenant.clone();
    let changes = st.on_store(move |s| s.alert_history(&tenant, &id)).await?;
    Ok(Json(History { changes }))
}

/// Alert counts by level and status, top rules and hosts.
#[utoipa::path(get, path = "/api/v1/alerts/summary", tag = "alerts", params(SummaryParams),
    responses((status = 200, description = "Counts", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn summary(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<SummaryParams>,
) -> Result<Json<AlertSummary>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &http_attrs("GET", "/api/v1/alerts/summary", None),
    )?;
    let (from, to) = period(p.from.as_deref(), p.to.as_deref())?;
    let top = p.top.unwrap_or(10);
    if top == 0 || top > 100 {
        return Err(ApiError::bad_request("top must be between 1 and 100"));
    }
    let tenant = who.tenant.clone();
    Ok(Json(
        st.on_store(move |s| s.alert_summary(&tenant, from, to, top))
            .await?,
    ))
}
