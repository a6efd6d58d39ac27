//! Signed share links: a finished report can be handed to someone without an API key
//! through `/share/reports/{token}` until the link expires or is revoked.
//!
//! The token is `<share id>.<signature>`, the signature an HMAC-SHA256 (base64url) over
//! the share's id, job, tenant and expiry with a key kept in the state store (made on
//! first use from the OS random source). The stored share row is checked on every use,
//! so revoking or deleting the report kills the link at once, and a forged or altered
//! token is indistinguishable from an unknown one (`404`).

use crate::report_jobs::{Removal, audit, document, not_found, remove_owned};
use crate::{Action, ApiError, AppState, Principal};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use mcpsec_core::ErrorCode;
use mcpsec_store::{ReportJobStatus, ReportShare};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::Read as _;

/// Checkpoint name of the signing key.
const KEY_NAME: &str = "report_share_key";
/// Longest a link may live.
const MAX_HOURS: u32 = 24 * 30;

/// The signing key: loaded from the store, or made and stored on first use.
pub(crate) fn signing_key(st: &AppState) -> Result<Vec<u8>, ApiError> {
    let mut guard = st
        .share_key
        .lock()
        .map_err(|_| ApiError::internal("share key lock poisoned"))?;
    if let Some(k) = guard.as_ref() {
        return Ok(k.clone());
    }
    let key = match st.state.checkpoint(KEY_NAME).map_err(ApiError::internal)? {
        Some(hex_key) => hex::decode(hex_key.trim()).map_err(ApiError::internal)?,
        None => {
            let mut buf = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut buf))
                .map_err(ApiError::internal)?;
            st.state
                .set_checkpoint(KEY_NAME, &hex::encode(buf))
                .map_err(ApiError::internal)?;
            buf.to_vec()
        }
    };
    *guard = Some(key.clone());
    Ok(key)
}

/// The MAC over what a link grants: which report of which tenant, until when.
fn mac(key: &[u8], s: &ReportShare) -> Result<Hmac<Sha256>, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(ApiError::internal)?;
    mac.update(
        format!(
            "{}\n{}\n{}\n{}",
            s.id,
            s.job_id,
            s.tenant.as_str(),
            s.expires_at.timestamp()
        )
        .as_bytes(),
    );
    Ok(mac)
}

fn token(key: &[u8], s: &ReportShare) -> Result<String, ApiError> {
    let sig = mac(key, s)?.finalize().into_bytes();
    Ok(format!("{}.{}", s.id, URL_SAFE_NO_PAD.encode(sig)))
}

/// A new link's lifetime.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewShare {
    /// Hours until the link stops working (1–720, default 24).
    expires_in_hours: Option<u32>,
}

/// A share link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ShareView {
    /// Link id (to revoke it).
    id: String,
    /// The shared report job.
    job_id: String,
    /// Path of the link on this server (shown once, at creation; `null` in listings).
    url: Option<String>,
    /// Who made it.
    created_by: String,
    /// When.
    created_at: DateTime<Utc>,
    /// When it stops working.
    expires_at: DateTime<Utc>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
}

fn view(s: ReportShare, url: Option<String>) -> ShareView {
    ShareView {
        id: s.id,
        job_id: s.job_id,
        url,
        created_by: s.created_by,
        created_at: s.created_at,
        expires_at: s.expires_at,
        revoked_at: s.revoked_at,
    }
}

/// Makes a share link for a finished report.
#[utoipa::path(post, path = "/api/v1/reports/jobs/{id}/share", tag = "reports",
    params(("id" = String, Path, description = "Job id")), request_body = NewShare,
    responses(
        (status = 201, description = "The link (its url is shown only now)", body = ShareView),
        (status = 404, description = "No such job for this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "The report is not finished", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<Json<NewShare>>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ReportsWrite,
        &crate::events::http_attrs("POST", "/api/v1/reports/jobs/{id}/share", Some(&id)),
    )?;
    let hours = body
        .map(|Json(b)| b)
        .unwrap_or_default()
        .expires_in_hours
        .unwrap_or(24);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "expires_in_hours must be between 1 and {MAX_HOURS}"
        )));
    }
    let tenant = who.tenant.clone();
    let key = id.clone();
    let job = st
        .on_store(move |s| s.report_job(&tenant, &key))
        .await?
        .ok_or_else(|| not_found(&id))?;
    if job.status != ReportJobStatus::Done {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "report {id} is {}: only a finished report can be shared",
                job.status.as_str()
            ),
        ));
    }
    let now = Utc::now();
    let share = ReportShare {
        id: ulid::Ulid::new().to_string(),
        tenant: who.tenant.clone(),
        job_id: id.clone(),
        created_by: who.key_id.clone(),
        created_at: now,
        expires_at: now + Duration::hours(i64::from(hours)),
        revoked_at: None,
    };
    let signing = signing_key(&st)?;
    let url = format!("/share/reports/{}", token(&signing, &share)?);
    let stored = share.clone();
    st.on_store(move |s| s.add_report_share(&stored)).await?;
    audit(
        &st,
        &who,
        "reports.shared",
        &id,
        serde_json::json!({"share": share.id, "expires_at": share.expires_at}),
    );
    Ok((StatusCode::CREATED, Json(view(share, Some(url)))).into_response())
}

/// The share links of a report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ShareList {
    /// Links, oldest first.
    shares: Vec<ShareView>,
}

/// The share links of a report (urls are not shown again).
#[utoipa::path(get, path = "/api/v1/reports/jobs/{id}/shares", tag = "reports",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "Links", body = ShareList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ShareList>, ApiError> {
    st.authorize(
        &who,
        Action::ReportsRead,
        &crate::events::http_attrs("GET", "/api/v1/reports/jobs/{id}/shares", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let shares = st
        .on_store(move |s| s.list_report_shares(&tenant, &id))
        .await?;
    Ok(Json(ShareList {
        shares: shares.into_iter().map(|s| view(s, None)).collect(),
    }))
}

/// Revokes a share link.
#[utoipa::path(delete, path = "/api/v1/reports/shares/{id}", tag = "reports",
    params(("id" = String, Path, description = "Share link id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live link for this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let removal = Removal {
        route: "/api/v1/reports/shares/{id}",
        audit_as: "reports.unshared",
        missing: format!("no live share link {id:?}"),
    };
    remove_owned(&st, &who, removal, id, |s, t, id| {
        s.revoke_report_share(t, id, Utc::now())
    })
    .await
}

/// Downloads a shared report without an API key (the signed token is the credential).
pub(crate) async fn open(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::new(ErrorCode::NotFound, "no such share link");
    let (id, sig) = token.split_once('.').ok_or_else(unknown)?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| unknown())?;
    if id.len() != 26 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(unknown());
    }
    let key = id.to_owned();
    let share = st
        .on_store(move |s| s.report_share(&key))
        .await?
        .ok_or_else(unknown)?;
    let signing = signing_key(&st)?;
    // verify_slice compares in constant time.
    if mac(&signing, &share)?.verify_slice(&sig).is_err() {
        return Err(unknown());
    }
    let gone = |why: &str| ApiError::new(ErrorCode::Gone, format!("this share link {why}"));
    if share.revoked_at.is_some() {
        return Err(gone("was revoked"));
    }
    if share.expires_at <= Utc::now() {
        return Err(gone("has expired"));
    }
    let tenant = share.tenant.clone();
    let job_id = share.job_id.clone();
    let (job, bytes) = st
        .on_store(move |s| {
            Ok((
                s.report_job(&tenant, &job_id)?,
                s.report_document(&tenant, &job_id)?,
            ))
        })
        .await?;
    let (Some(job), Some(bytes)) = (job, bytes) else {
        return Err(unknown());
    };
    st.audit(mcpsec_store::AuditEvent {
        tenant: share.tenant.to_string(),
        actor: format!("share:{}", share.id),
        action: "reports.share_used".into(),
        target: job.id.clone(),
        outcome: "success".into(),
        details: serde_json::json!({}),
    });
    Ok(document(&job, bytes))
}
