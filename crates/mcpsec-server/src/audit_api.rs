//! `GET /api/v1/audit`: the caller's tenant's audit entries (roles admin and auditor).

use crate::{ApiError, AppState, Principal};
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

/// Paging of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Entries after this sequence number.
    after: Option<u64>,
    /// Page size (1-1000, default 100).
    limit: Option<usize>,
}

/// A page of audit entries.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPage {
    /// Entries, oldest first.
    #[schema(value_type = Vec<Object>)]
    entries: Vec<mcpsec_store::AuditEntry>,
}

/// Lists audit entries of the caller's tenant.
#[utoipa::path(get, path = "/api/v1/audit", tag = "ops", params(AuditParams),
    responses(
        (status = 200, description = "Entries", body = AuditPage),
        (status = 403, description = "Role is not admin or auditor", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    st.authorize(
        &who,
        crate::Action::AuditRead,
        &crate::events::http_attrs("GET", "/api/v1/audit", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let state = st.state.clone();
    let entries = tokio::task::spawn_blocking(move || {
        state.audit_entries(Some(&who.tenant), p.after.unwrap_or(0), limit)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(AuditPage { entries }))
}
