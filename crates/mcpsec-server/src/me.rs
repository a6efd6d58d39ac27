//! `GET /api/v1/me`: who the key is and which actions its role (and scopes, and the
//! Rego policy) grant, so a client can offer only what will be allowed.

use crate::{Action, AppState, Principal};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

/// The caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    /// Key id or OIDC subject.
    id: String,
    /// The tenant every call acts for.
    tenant: String,
    /// Role name.
    role: String,
    /// Scopes the key is limited to (empty: none beyond the role).
    scopes: Vec<String>,
    /// Actions granted, e.g. `alerts.write`, checked as a request without a resource
    /// (a policy that looks at the resource may still refuse a particular one).
    actions: Vec<&'static str>,
}

/// Who the key is and what it may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "ops",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Missing or invalid API key", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn me(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Json<Me> {
    let attrs = crate::events::http_attrs("GET", "/api/v1/me", None);
    let actions = Action::ALL
        .iter()
        .filter(|a| st.authz.check(&who, **a, &attrs).is_ok())
        .map(|a| a.as_str())
        .collect();
    Json(Me {
        id: who.key_id.clone(),
        tenant: who.tenant.to_string(),
        role: who.role.clone(),
        scopes: who.scopes.clone(),
        actions,
    })
}
