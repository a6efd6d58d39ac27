//! `/api/v1/alerts/{id}/assess` and `/api/v1/risk/*`: risk assessment of alerts, risk per
//! asset and tenant, the asset inventory and the risk trends.

use crate::events::http_attrs;
use crate::{Action, ApiError, AppState, Principal};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use chrono::{Duration, Utc};
use mcpsec_core::ErrorCode;
use mcpsec_risk::asset::{InventoryFormat, MAX_INVENTORY_BYTES, parse_inventory, to_stored};
use mcpsec_risk::{AssessRequest, Assessment, Assessor, RiskError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest body of an assess request.
const MAX_ASSESS_BODY: usize = 16 * 1024;

impl From<RiskError> for ApiError {
    fn from(e: RiskError) -> Self {
        match e.code() {
            ErrorCode::Internal => ApiError::internal(e),
            code => ApiError::new(code, e.to_string()),
        }
    }
}

/// Options of an assessment (all optional; the body may be empty).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssessBody {
    /// Provider name from `[risk.providers]`; `none` for the deterministic model only;
    /// default: `[risk] default_provider`.
    provider: Option<String>,
    /// `alert_triage` (default), `attack_chain`, `vuln_impact` or `executive_summary`.
    scenario: Option<String>,
}

pub(crate) fn assessor(st: &AppState) -> Result<Arc<Assessor>, ApiError> {
    st.risk
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "risk assessment is not available"))
}

/// Sigma status of the file rules, by rule id (API rules' status is in the store).
pub(crate) fn file_statuses(st: &AppState) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(d) = &st.detector {
        for r in d.catalog().file_rules().set.rules() {
            if let Some(s) = &r.meta.status {
                out.insert(r.name().to_owned(), s.clone());
            }
        }
    }
    out
}

/// Assesses one alert: the deterministic score with its factors, and a model's validated
/// verdict when a provider is configured (`source` says which path produced `verdict`).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/assess", tag = "risk",
    params(("id" = String, Path, description = "Alert id")),
    request_body(content = AssessBody, description = "Optional: provider and scenario"),
    responses(
        (status = 200, description = "The assessment", body = Object),
        (status = 400, description = "Unknown provider or scenario, malformed body", body = crate::error::ErrorBody),
        (status = 403, description = "Role may not assess", body = crate::error::ErrorBody),
        (status = 404, description = "No such alert in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn assess(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Assessment>, ApiError> {
    st.authorize(
        &who,
        Action::RiskAssess,
        &http_attrs("POST", "/api/v1/alerts/{id}/assess", Some(&id)),
    )?;
    let bytes = axum::body::to_bytes(body, MAX_ASSESS_BODY)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("assess body is larger than {MAX_ASSESS_BODY} bytes"),
            )
        })?;
    let alert = find_alert(&st, &who, &id).await?;
    // The body is parsed after the tenant lookup, so another tenant's id is a 404 first.
    let opts: AssessBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        AssessBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid assess body: {e}")))?
    };
    Ok(Json(
        assess_found(&st, &who, alert, opts.provider, opts.scenario, "rest").await?,
    ))
}

/// One of the caller's alerts, or 404.
pub(crate) async fn find_alert(
    st: &AppState,
    who: &Principal,
    id: &str,
) -> Result<mcpsec_store::Alert, ApiError> {
    let (tenant, alert_id) = (who.tenant.clone(), id.to_owned());
    st.on_store(move |s| s.get_alert(&tenant, &alert_id))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such alert"))
}

/// Assesses one of the caller's alerts (already looked up in its tenant), keeps the
/// result and audits it; `transport` names the interface in the audit entry.
pub(crate) async fn assess_found(
    st: &AppState,
    who: &Principal,
    alert: mcpsec_store::Alert,
    provider: Option<String>,
    scenario: Option<String>,
    transport: &str,
) -> Result<Assessment, ApiError> {
    let id = alert.id.clone();
    let rule_status = file_statuses(st).remove(&alert.rule_id);
    let a = assessor(st)?
        .assess(AssessRequest {
            tenant: who.tenant.clone(),
            alert,
            rule_status,
            provider,
            scenario: scenario.unwrap_or_else(|| "alert_triage".into()),
            actor: who.key_id.clone(),
            store_result: true,
        })
        .await?;
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: "risk.assess".into(),
        target: id,
        outcome: "success".into(),
        details: serde_json::json!({
            "assessment": a.id, "source": a.source.as_str(), "score": a.score,
            "provider": a.llm.as_ref().map(|l| l.provider.clone()),
            "transport": transport,
        }),
    });
    Ok(a)
}

/// Filters of the asset list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetParams {
    /// Only this kind: `host`, `user`, `service`, `project`.
    kind: Option<String>,
    /// Only assets scoring at least this (0–100).
    min_score: Option<u8>,
    /// Most assets returned (1–10000, default 100).
    limit: Option<usize>,
}

/// Risk per asset and for the tenant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AssetRiskList {
    /// The tenant's score with its bands.
    #[schema(value_type = Object)]
    tenant: mcpsec_risk::model::TenantRisk,
    /// Assets in the list before the limit.
    total: usize,
    /// Assets, highest score first.
    #[schema(value_type = Vec<Object>)]
    assets: Vec<mcpsec_risk::model::AssetRisk>,
    /// Start of the window of alerts counted.
    from: chrono::DateTime<Utc>,
    /// Whether the window held more alerts than were read.
    truncated: bool,
}

/// Scores every asset named by the tenant's open and acknowledged alerts of the window
/// (`[risk] window_days`) or listed in its inventory, and the tenant as a whole.
#[utoipa::path(get, path = "/api/v1/risk/assets", tag = "risk", params(AssetParams),
    responses(
        (status = 200, description = "Scores", body = AssetRiskList),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn assets(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AssetParams>,
) -> Result<Json<AssetRiskList>, ApiError> {
    st.authorize(
        &who,
        Action::RiskRead,
        &http_attrs("GET", "/api/v1/risk/assets", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::bad_request("limit must be between 1 and 10000"));
    }
    let kind = p
        .kind
        .as_deref()
        .map(|k| {
            mcpsec_risk::asset::AssetKind::parse(k).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown kind {k:?}: use host, user, service or project"
                ))
            })
        })
        .transpose()?;
    let o = assessor(&st)?
        .overview(&who.tenant, file_statuses(&st))
        .await?;
    let list: Vec<_> = o
        .assets
        .into_iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| a.score >= p.min_score.unwrap_or(0))
        .collect();
    Ok(Json(AssetRiskList {
        tenant: o.tenant,
        total: list.len(),
        assets: list.into_iter().take(limit).collect(),
        from: o.from,
        truncated: o.truncated,
    }))
}

/// The outcome of an inventory load.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InventoryLoaded {
    /// Assets in the body.
    loaded: usize,
    /// Assets the tenant has now.
    total: usize,
    /// Whether the body replaced the inventory (`PUT`) or was merged into it (`POST`).
    replaced: bool,
}

async fn load_inventory(
    st: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    body: Body,
    replace: bool,
) -> Result<InventoryLoaded, ApiError> {
    st.authorize(
        who,
        Action::RiskWrite,
        &http_attrs(
            if replace { "PUT" } else { "POST" },
            "/api/v1/risk/assets",
            None,
        ),
    )?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = InventoryFormat::from_content_type(ct).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("content type {ct:?}: use application/json, application/toml or text/csv"),
        )
    })?;
    let bytes = axum::body::to_bytes(body, MAX_INVENTORY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("inventory is larger than {MAX_INVENTORY_BYTES} bytes"),
            )
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("inventory is not UTF-8"))?
        .to_owned();
    let assets = tokio::task::spawn_blocking(move || parse_inventory(&text, format))
        .await
        .map_err(ApiError::internal)??;
    let now = Utc::now();
    let stored = assets
        .iter()
        .map(|a| to_stored(a, &who.key_id, now))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = stored.len();
    let tenant = who.tenant.clone();
    let total = st
        .on_store(move |s| {
            let existing = if replace {
                0
            } else {
                s.list_assets(&tenant)?.len()
            };
            if existing + stored.len() > mcpsec_risk::asset::MAX_ASSETS {
                return Err(mcpsec_store::StoreError::Invalid(format!(
                    "at most {} assets per tenant",
                    mcpsec_risk::asset::MAX_ASSETS
                )));
            }
            s.put_assets(&tenant, &stored, replace)
        })
        .await?;
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: "risk.assets".into(),
        target: "inventory".into(),
        outcome: "success".into(),
        details: serde_json::json!({ "loaded": loaded, "total": total, "replaced": replace }),
    });
    Ok(InventoryLoaded {
        loaded,
        total,
        replaced: replace,
    })
}

/// Replaces the tenant's asset inventory (JSON, TOML or CSV by content type).
#[utoipa::path(put, path = "/api/v1/risk/assets", tag = "risk",
    request_body(content = String, description = "Inventory: application/json, application/toml or text/csv (see docs/risk.md)"),
    responses(
        (status = 200, description = "Loaded", body = InventoryLoaded),
        (status = 400, description = "Invalid inventory (the message names the asset or line)", body = crate::error::ErrorBody),
        (status = 413, description = "Larger than 16 MiB", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn replace_inventory(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<InventoryLoaded>, ApiError> {
    Ok(Json(load_inventory(&st, &who, &headers, body, true).await?))
}

/// Adds assets to the tenant's inventory, replacing those with the same kind and name.
#[utoipa::path(post, path = "/api/v1/risk/assets", tag = "risk",
    request_body(content = String, description = "Inventory: application/json, application/toml or text/csv"),
    responses(
        (status = 200, description = "Loaded", body = InventoryLoaded),
        (status = 400, description = "Invalid inventory", body = crate::error::ErrorBody),
        (status = 413, description = "Larger than 16 MiB", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn merge_inventory(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<InventoryLoaded>, ApiError> {
    Ok(Json(
        load_inventory(&st, &who, &headers, body, false).await?,
    ))
}

/// The tenant's inventory as stored.
#[utoipa::path(get, path = "/api/v1/risk/inventory", tag = "risk",
    responses((status = 200, description = "Assets by kind and name", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn inventory(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<serde_json::Value>, ApiError> {
    st.authorize(
        &who,
        Action::RiskRead,
        &http_attrs("GET", "/api/v1/risk/inventory", None),
    )?;
    let tenant = who.tenant.clone();
    let list = st.on_store(move |s| s.list_assets(&tenant)).await?;
    let docs: Vec<_> = list.into_iter().map(|a| a.doc).collect();
    Ok(Json(
        serde_json::json!({ "total": docs.len(), "assets": docs }),
    ))
}

/// Trend query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrendParams {
    /// `tenant` (default) or an asset kind.
    scope: Option<String>,
    /// The asset's name (required with an asset kind).
    name: Option<String>,
    /// `hour` (default) or `day`.
    bucket: Option<String>,
    /// Start (RFC 3339, epoch seconds, `now-7d`); default 7 days ago.
    from: Option<String>,
    /// End, exclusive; default now.
    to: Option<String>,
}

/// Rolled-up risk over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Trend {
    /// `hour` or `day`.
    bucket: String,
    /// Buckets, oldest first: `start`, `scope`, `name`, `max`, `avg`, `points`.
    #[schema(value_type = Vec<Object>)]
    buckets: Vec<mcpsec_store::RiskBucket>,
}

/// Risk over time per tenant or asset, from the periodic snapshots (`[risk]
/// snapshot_interval_secs`), rolled up per hour or day.
#[utoipa::path(get, path = "/api/v1/risk/trends", tag = "risk", params(TrendParams),
    responses(
        (status = 200, description = "Buckets", body = Trend),
        (status = 400, description = "Invalid scope, bucket or period", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn trends(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<TrendParams>,
) -> Result<Json<Trend>, ApiError> {
    st.authorize(
        &who,
        Action::RiskRead,
        &http_attrs("GET", "/api/v1/risk/trends", None),
    )?;
    let q = TrendQuery::parse(
        &who.tenant,
        p.scope.as_deref(),
        p.name.as_deref(),
        p.bucket.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
    )?;
    let bucket = q.bucket;
    let buckets = q.run(&st, &who.tenant).await?;
    Ok(Json(Trend {
        bucket: bucket.into(),
        buckets,
    }))
}

/// A checked trend query: scope, name, bucket size and period.
pub(crate) struct TrendQuery {
    /// `hour` or `day`.
    pub(crate) bucket: &'static str,
    secs: u32,
    scope: String,
    name: String,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
}

impl TrendQuery {
    /// Checks the parameters of a trend (the same for REST and GraphQL): scope `tenant`
    /// (default) or an asset kind with a name, bucket `hour` (default) or `day`, a period
    /// of at most 400 days (default the last 7 days).
    pub(crate) fn parse(
        tenant: &mcpsec_core::TenantId,
        scope: Option<&str>,
        name: Option<&str>,
        bucket: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self, ApiError> {
        let (bucket, secs) = match bucket.unwrap_or("hour") {
            "hour" => ("hour", 3600),
            "day" => ("day", 86_400),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown bucket {other:?}: use hour or day"
                )));
            }
        };
        let (scope, name) = match scope.unwrap_or("tenant") {
            "tenant" => ("tenant".to_owned(), tenant.to_string()),
            k => {
                let kind = mcpsec_risk::asset::AssetKind::parse(k).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown scope {k:?}: use tenant, host, user, service or project"
                    ))
                })?;
                let name = name
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| ApiError::bad_request("name is required with an asset scope"))?;
                (kind.as_str().to_owned(), name.to_owned())
            }
        };
        let (from, to) = crate::timeparse::period(from, to)?;
        let to = to.unwrap_or_else(Utc::now);
        let from = from.unwrap_or(to - Duration::days(7));
        if to - from > Duration::days(400) {
            return Err(ApiError::bad_request("a trend spans at most 400 days"));
        }
        Ok(TrendQuery {
            bucket,
            secs,
            scope,
            name,
            from,
            to,
        })
    }

    /// The buckets, oldest first, from the tenant's series.
    pub(crate) async fn run(
        self,
        st: &AppState,
        tenant: &mcpsec_core::TenantId,
    ) -> Result<Vec<mcpsec_store::RiskBucket>, ApiError> {
        let tenant = tenant.clone();
        st.on_store(move |s| {
            s.risk_trend(
                &tenant,
                Some((&self.scope, &self.name)),
                self.from,
                self.to,
                self.secs,
            )
        })
        .await
    }
}

/// Recent model calls of the tenant.
#[utoipa::path(get, path = "/api/v1/risk/llm-calls", tag = "risk",
    responses((status = 200, description = "Calls, newest first, and today's usage", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn llm_calls(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    st.authorize(
        &who,
        Action::RiskRead,
        &http_attrs("GET", "/api/v1/risk/llm-calls", None),
    )?;
    let tenant = who.tenant.clone();
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now);
    let (calls, today) = st
        .on_store(move |s| Ok((s.llm_calls(&tenant, 100)?, s.llm_usage(&tenant, midnight)?)))
        .await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "today": today, "calls": calls })),
    ))
}
