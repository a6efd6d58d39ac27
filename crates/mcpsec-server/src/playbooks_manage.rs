//! Changing deployed playbooks: a new version (`PUT`), deletion, and switching their
//! triggers on and off. Runs keep the playbook text they started with, so none of this
//! changes a run under way. Playbooks loaded from files are changed in their files.
//! Every change is audited.

use crate::events::http_attrs;
use crate::playbooks_api::{DeployedPlaybook, PlaybookBody, audit, blocking, responder};
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use mcpsec_respond::EngineError;

/// `404` for an unknown id, `409` for a playbook that comes from a file.
fn missing(r: &mcpsec_respond::Responder, who: &Principal, id: &str) -> EngineError {
    let from_file = r
        .list(&who.tenant)
        .is_ok_and(|l| l.iter().any(|p| p.id == id && p.source == "file"));
    if from_file {
        EngineError::Conflict(format!(
            "playbook {id} is loaded from a file; change the file instead"
        ))
    } else {
        EngineError::NotFound(format!("no playbook {id}"))
    }
}

/// Deploys a new version of an API playbook (the YAML's `id` must be the path's).
#[utoipa::path(put, path = "/api/v1/playbooks/{id}", tag = "playbooks", request_body = PlaybookBody,
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 200, description = "The version now live (unchanged text keeps its version)", body = DeployedPlaybook),
        (status = 400, description = "Invalid playbook or another id", body = crate::error::ErrorBody),
        (status = 404, description = "No such playbook", body = crate::error::ErrorBody),
        (status = 409, description = "A playbook loaded from a file", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<PlaybookBody>,
) -> Result<Json<DeployedPlaybook>, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksWrite,
        &http_attrs("PUT", "/api/v1/playbooks/{id}", Some(&id)),
    )?;
    let r = responder(&st)?;
    let pb = mcpsec_respond::parse_playbook(&body.yaml, r.engine().registry())
        .map_err(|e| ApiError::bad_request(format!("invalid playbook: {e}")))?;
    if pb.id != id {
        return Err(ApiError::bad_request(format!(
            "the playbook's id is {:?}, not {id:?}: deploy another id with POST /api/v1/playbooks",
            pb.id
        )));
    }
    let (w, yaml, name, enabled) = (who.clone(), body.yaml, pb.name, body.enabled);
    let pid = id.clone();
    let (version, enabled) = blocking(move || {
        let store = r.engine().store();
        let Some(cur) = store.get_playbook(&w.tenant, &pid)? else {
            return Err(missing(&r, &w, &pid));
        };
        let v = store.put_playbook(&w.tenant, &pid, &name, &yaml, &w.key_id, Utc::now())?;
        let on = enabled.unwrap_or(cur.enabled);
        if on != cur.enabled {
            store.set_playbook_enabled(&w.tenant, &pid, on, &w.key_id, Utc::now())?;
        }
        Ok((v, on))
    })
    .await?;
    audit(
        &st,
        &who,
        "playbooks.update",
        &id,
        serde_json::json!({"version": version, "enabled": enabled}),
    );
    Ok(Json(DeployedPlaybook { id, version }))
}

/// Deletes an API playbook: its triggers stop; its versions and runs stay readable.
#[utoipa::path(delete, path = "/api/v1/playbooks/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such playbook", body = crate::error::ErrorBody),
        (status = 409, description = "A playbook loaded from a file", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        &who,
        Action::PlaybooksWrite,
        &http_attrs("DELETE", "/api/v1/playbooks/{id}", Some(&id)),
    )?;
    let r = responder(&st)?;
    let (w, pid) = (who.clone(), id.clone());
    blocking(move || {
        if r.engine().store().delete_playbook(&w.tenant, &pid)? {
            Ok(())
        } else {
            Err(missing(&r, &w, &pid))
        }
    })
    .await?;
    audit(&st, &who, "playbooks.delete", &id, serde_json::json!({}));
    Ok(StatusCode::NO_CONTENT)
}

async fn switch(
    st: AppState,
    who: Principal,
    id: String,
    on: bool,
) -> Result<StatusCode, ApiError> {
    let verb = if on { "enable" } else { "disable" };
    st.authorize(
        &who,
        Action::PlaybooksWrite,
        &http_attrs(
            "POST",
            &format!("/api/v1/playbooks/{{id}}/{verb}"),
            Some(&id),
        ),
    )?;
    let r = responder(&st)?;
    let (w, pid) = (who.clone(), id.clone());
    blocking(move || {
        let store = r.engine().store();
        if store.set_playbook_enabled(&w.tenant, &pid, on, &w.key_id, Utc::now())? {
            Ok(())
        } else {
            Err(missing(&r, &w, &pid))
        }
    })
    .await?;
    audit(
        &st,
        &who,
        &format!("playbooks.{verb}"),
        &id,
        serde_json::json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Switches an API playbook's triggers on (alert, schedule, risk).
#[utoipa::path(post, path = "/api/v1/playbooks/{id}/enable", tag = "playbooks",
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 204, description = "Enabled"),
        (status = 404, description = "No such playbook", body = crate::error::ErrorBody),
        (status = 409, description = "A playbook loaded from a file", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn enable(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    switch(st, who, id, true).await
}

/// Switches an API playbook's triggers off; manual starts and runs under way go on.
#[utoipa::path(post, path = "/api/v1/playbooks/{id}/disable", tag = "playbooks",
    params(("id" = String, Path, description = "Playbook id")),
    responses((status = 204, description = "Disabled"),
        (status = 404, description = "No such playbook", body = crate::error::ErrorBody),
        (status = 409, description = "A playbook loaded from a file", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn disable(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    switch(st, who, id, false).await
}
