//! `/api/v1/rules`: deployed detection rules, their versions, validation and backtests.
//!
//! Two kinds of rules run for a tenant: rules loaded from files by the server (`source:
//! "file"`, read-only here but switchable per tenant) and rules the tenant deployed
//! through this API (`source: "api"`, versioned). Every change is compiled and swapped
//! into the running detector at once, and audited.

use crate::events::http_attrs;
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use mcpsec_core::ErrorCode;
use mcpsec_detect::{BacktestRequest, BacktestResult, RuleCheck, RuleStatsSnapshot};
use mcpsec_store::{RuleVersion, RuleWrite, StoredRule};
use serde::{Deserialize, Serialize};

/// Largest rule text accepted.
pub const MAX_RULE_BYTES: usize = 1 << 20;

/// A rule as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RuleInfo {
    /// The rule's id (else its title).
    id: String,
    /// Title.
    title: String,
    /// Level.
    level: Option<String>,
    /// Status.
    status: Option<String>,
    /// Tags.
    tags: Vec<String>,
    /// `file` or `api`.
    source: &'static str,
    /// Whether it runs for this tenant.
    enabled: bool,
    /// Version (API rules; 0 for file rules).
    version: u32,
    /// The file it came from (file rules).
    file: Option<String>,
    /// When the latest version was deployed (API rules).
    updated_at: Option<chrono::DateTime<Utc>>,
    /// Who deployed it (API rules).
    updated_by: Option<String>,
    /// Figures since the server started.
    #[schema(value_type = Object)]
    stats: RuleStatsSnapshot,
}

/// Listing filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RuleParams {
    /// `file` or `api`.
    source: Option<String>,
    /// Text the title or id contains (case-insensitive).
    q: Option<String>,
    /// Page size (1–1000, default 100).
    limit: Option<usize>,
    /// Rules skipped.
    offset: Option<usize>,
}

/// A page of rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RuleList {
    /// Rules matching the filters.
    total: usize,
    /// This page, by id.
    rules: Vec<RuleInfo>,
}

/// A rule text to deploy.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RuleBody {
    /// The Sigma YAML (one or more documents; the first one's `id` names the rule).
    yaml: String,
    /// Whether it runs (default true).
    enabled: Option<bool>,
    /// On update: the version the change was made against (optimistic concurrency).
    version: Option<u32>,
}

/// A rule text to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ValidateBody {
    /// The Sigma YAML.
    yaml: String,
}

/// A backtest.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct BacktestBody {
    /// The Sigma YAML (need not be deployed).
    yaml: String,
    /// Events at or after (RFC 3339, epoch seconds, `now-7d`).
    from: Option<String>,
    /// Events before.
    to: Option<String>,
    /// Narrows the events read (search query language).
    q: Option<String>,
    /// Events read at most (default 100000, at most 1000000).
    max_events: Option<usize>,
    /// Matching events returned in full (default 100, at most 1000).
    max_matches: Option<usize>,
}

/// A deployed API rule with what the compiler said.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Deployed {
    /// The stored rule.
    #[schema(value_type = Object)]
    rule: StoredRule,
    /// Its documents.
    #[schema(value_type = Object)]
    check: RuleCheck,
}

/// Versions of a rule.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Versions {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    versions: Vec<RuleVersion>,
}

fn check_size(yaml: &str) -> Result<(), ApiError> {
    if yaml.len() > MAX_RULE_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("rule text is larger than {MAX_RULE_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn audit(st: &AppState, who: &Principal, action: &str, id: &str, details: serde_json::Value) {
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: action.into(),
        target: id.chars().take(200).collect(),
        outcome: "success".into(),
        details,
    });
}

/// Recompiles the tenant's rules into the running detector.
async fn redeploy(st: &AppState, who: &Principal) -> Result<(), ApiError> {
    if let Some(d) = st.detector.clone() {
        let tenant = who.tenant.clone();
        tokio::task::spawn_blocking(move || d.catalog().reload_tenant(&tenant))
            .await
            .map_err(ApiError::internal)?
            .map_err(detect_error)?;
    }
    Ok(())
}

fn detect_error(e: mcpsec_detect::DetectError) -> ApiError {
    match e {
        mcpsec_detect::DetectError::Store(s) => s.into(),
        e => ApiError::new(e.code(), e.to_string()),
    }
}

fn stats_of(
    st: &AppState,
    who: &Principal,
) -> std::collections::HashMap<String, RuleStatsSnapshot> {
    st.detector
        .as_ref()
        .map(|d| d.stats().for_tenant(who.tenant.as_str()))
        .unwrap_or_default()
}

/// Lists the rules running (or switched off) for the caller's tenant.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", params(RuleParams),
    responses((status = 200, description = "Rules", body = RuleList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RuleParams>,
) -> Result<Json<RuleList>, ApiError> {
    st.authorize(
        &who,
        Action::RulesRead,
        &http_attrs("GET", "/api/v1/rules", None),
    )?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let tenant = who.tenant.clone();
    let (stored, switches) = st
        .on_store(move |s| Ok((s.list_rules(&tenant)?, s.rule_switches(&tenant)?)))
        .await?;
    let mut stats = stats_of(&st, &who);
    let mut all: Vec<RuleInfo> = Vec::new();
    if let Some(d) = &st.detector {
        let files = d.catalog().file_rules();
        for r in files.set.rules() {
            let id = r.name().to_owned();
            all.push(RuleInfo {
                enabled: switches.get(&id).copied().unwrap_or(true),
                stats: stats.remove(&id).unwrap_or_default(),
                title: r.meta.title.clone(),
                level: r.meta.level.clone(),
                status: r.meta.status.clone(),
                tags: r.meta.tags.clone(),
                source: "file",
                version: 0,
                file: r.meta.source.file.as_ref().map(|f| f.display().to_string()),
                updated_at: None,
                updated_by: None,
                id,
            });
        }
    }
    for r in stored {
        let check = st
            .detector
            .as_ref()
            .map(|d| mcpsec_detect::check_rule_text(&r.yaml, d.catalog().mapping()));
        let tags = check
            .and_then(|c| c.documents.first().map(|d| d.tags.clone()))
            .unwrap_or_default();
        all.push(RuleInfo {
            stats: stats.remove(&r.id).unwrap_or_default(),
            title: r.title,
            level: r.level,
            status: r.status,
            tags,
            source: "api",
            enabled: r.enabled,
            version: r.version,
            file: None,
            updated_at: Some(r.updated_at),
            updated_by: Some(r.updated_by),
            id: r.id,
        });
    }
    let q = p.q.as_deref().map(str::to_lowercase);
    all.retain(|r| {
        p.source.as_deref().is_none_or(|s| s == r.source)
            && q.as_deref().is_none_or(|q| {
                r.title.to_lowercase().contains(q) || r.id.to_lowercase().contains(q)
            })
    });
    all.sort_by(|a, b| a.id.cmp(&b.id).then(a.source.cmp(b.source)));
    let total = all.len();
    let rules = all
        .into_iter()
        .skip(p.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(Json(RuleList { total, rules }))
}

fn mapping(st: &AppState) -> mcpsec_sigma::FieldMapping {
    st.detector
        .as_ref()
        .map(|d| d.catalog().mapping().clone())
        .unwrap_or_else(mcpsec_sigma::FieldMapping::builtin)
}

fn checked(st: &AppState, yaml: &str) -> Result<(RuleCheck, String), ApiError> {
    check_size(yaml)?;
    let check = mcpsec_detect::check_rule_text(yaml, &mapping(st));
    if !check.ok() {
        let first = check
            .errors
            .first()
            .map(|e| match e.line {
                Some(l) => format!("line {l}: {}", e.message),
                None => e.message.clone(),
            })
            .unwrap_or_default();
        return Err(ApiError::bad_request(format!(
            "rule does not compile: {first}"
        )));
    }
    let id = check
        .primary_id()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("a deployed rule needs an `id:` (a UUID)"))?;
    if id.is_empty() || id.len() > 200 {
        return Err(ApiError::bad_request("rule id must be 1–200 characters"));
    }
    Ok((check, id))
}

async fn write(
    st: &AppState,
    who: &Principal,
    change: &'static str,
    check: &RuleCheck,
    id: String,
    body: RuleBody,
    expected: Option<u32>,
) -> Result<StoredRule, ApiError> {
    let first = check
        .documents
        .first()
        .cloned()
        .ok_or_else(|| ApiError::bad_request("the text holds no Sigma document"))?;
    let tenant = who.tenant.clone();
    let actor = who.key_id.clone();
    let yaml = body.yaml;
    let enabled = body.enabled.unwrap_or(true);
    let id2 = id.clone();
    let stored = st
        .on_store(move |s| {
            s.write_rule(
                &tenant,
                change,
                &RuleWrite {
                    id: &id2,
                    title: &first.title,
                    level: first.level.as_deref(),
                    status: first.status.as_deref(),
                    yaml: &yaml,
                    enabled,
                    expected_version: expected,
                    actor: &actor,
                    at: Utc::now(),
                },
            )
        })
        .await?;
    redeploy(st, who).await?;
    audit(
        st,
        who,
        &format!("rules.{change}"),
        &id,
        serde_json::json!({ "version": stored.version, "enabled": stored.enabled }),
    );
    Ok(stored)
}

/// Deploys a new rule for the caller's tenant.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", request_body = RuleBody,
    responses(
        (status = 201, description = "Deployed", body = Deployed),
        (status = 400, description = "The rule does not compile", body = crate::error::ErrorBody),
        (status = 409, description = "A rule with this id exists", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<RuleBody>,
) -> Result<(StatusCode, Json<Deployed>), ApiError> {
    st.authorize(
        &who,
        Action::RulesWrite,
        &http_attrs("POST", "/api/v1/rules", None),
    )?;
    let (check, id) = checked(&st, &body.yaml)?;
    let rule = write(&st, &who, "created", &check, id, body, None).await?;
    Ok((StatusCode::CREATED, Json(Deployed { rule, check })))
}

/// Replaces a rule's text (a new version).
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules", request_body = RuleBody,
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 200, description = "Deployed", body = Deployed),
        (status = 400, description = "The rule does not compile or its id differs", body = crate::error::ErrorBody),
        (status = 404, description = "No such API rule", body = crate::error::ErrorBody),
        (status = 409, description = "`version` is not the latest", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn update(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<RuleBody>,
) -> Result<Json<Deployed>, ApiError> {
    st.authorize(
        &who,
        Action::RulesWrite,
        &http_attrs("PUT", "/api/v1/rules/{id}", Some(&id)),
    )?;
    let (check, text_id) = checked(&st, &body.yaml)?;
    if text_id != id {
        return Err(ApiError::bad_request(format!(
            "the text's id {text_id:?} differs from the rule {id:?}"
        )));
    }
    let expected = match body.version {
        Some(v) => v,
        None => {
            let tenant = who.tenant.clone();
            let id2 = id.clone();
            st.on_store(move |s| s.get_rule(&tenant, &id2))
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such API rule"))?
                .version
        }
    };
    let rule = write(&st, &who, "updated", &check, id, body, Some(expected)).await?;
    Ok(Json(Deployed { rule, check }))
}

/// One API rule.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 200, description = "The rule", body = Object),
        (status = 404, description = "No such API rule", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    st.authorize(
        &who,
        Action::RulesRead,
        &http_attrs("GET", "/api/v1/rules/{id}", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let id2 = id.clone();
    let rule = st
        .on_store(move |s| s.get_rule(&tenant, &id2))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such API rule"))?;
    let stats = st
        .detector
        .as_ref()
        .map(|d| d.stats().get(who.tenant.as_str(), &id))
        .unwrap_or_default();
    Ok(Json(serde_json::json!({ "rule": rule, "stats": stats })))
}

/// Deletes an API rule (its versions stay readable).
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted and undeployed"),
        (status = 404, description = "No such API rule", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        &who,
        Action::RulesWrite,
        &http_attrs("DELETE", "/api/v1/rules/{id}", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let actor = who.key_id.clone();
    let id2 = id.clone();
    let gone = st
        .on_store(move |s| s.delete_rule(&tenant, &id2, &actor, Utc::now()))
        .await?;
    if !gone {
        return Err(ApiError::new(ErrorCode::NotFound, "no such API rule"));
    }
    redeploy(&st, &who).await?;
    audit(&st, &who, "rules.deleted", &id, serde_json::json!({}));
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of an API rule.
#[utoipa::path(get, path = "/api/v1/rules/{id}/versions", tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 200, description = "Versions, oldest first", body = Versions),
        (status = 404, description = "No such rule", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn versions(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Versions>, ApiError> {
    st.authorize(
        &who,
        Action::RulesRead,
        &http_attrs("GET", "/api/v1/rules/{id}/versions", Some(&id)),
    )?;
    let tenant = who.tenant.clone();
    let versions = st.on_store(move |s| s.rule_versions(&tenant, &id)).await?;
    if versions.is_empty() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such API rule"));
    }
    Ok(Json(Versions { versions }))
}

async fn switch(
    st: AppState,
    who: Principal,
    id: String,
    on: bool,
) -> Result<StatusCode, ApiError> {
    let action = if on { "enabled" } else { "disabled" };
    let tenant = who.tenant.clone();
    let actor = who.key_id.clone();
    let id2 = id.clone();
    let is_file = st.detector.as_ref().is_some_and(|d| {
        d.catalog()
            .file_rules()
            .set
            .rules()
            .iter()
            .any(|r| r.name() == id)
    });
    st.on_store(move |s| {
        if let Some(r) = s.get_rule(&tenant, &id2)? {
            let w = RuleWrite {
                id: &id2,
                title: &r.title,
                level: r.level.as_deref(),
                status: r.status.as_deref(),
                yaml: &r.yaml,
                enabled: on,
                expected_version: Some(r.version),
                actor: &actor,
                at: Utc::now(),
            };
            s.write_rule(&tenant, action, &w)?;
            Ok(true)
        } else if is_file {
            s.set_rule_switch(&tenant, &id2, on, &actor, Utc::now())?;
            Ok(true)
        } else {
            Ok(false)
        }
    })
    .await?
    .then_some(())
    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such rule"))?;
    redeploy(&st, &who).await?;
    audit(
        &st,
        &who,
        &format!("rules.{action}"),
        &id,
        serde_json::json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Turns a rule on for the caller's tenant (API and file rules).
#[utoipa::path(post, path = "/api/v1/rules/{id}/enable", tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Running"), (status = 404, description = "No such rule", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn enable(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        &who,
        Action::RulesWrite,
        &http_attrs("POST", "/api/v1/rules/{id}/enable", Some(&id)),
    )?;
    switch(st, who, id, true).await
}

/// Turns a rule off for the caller's tenant (API and file rules).
#[utoipa::path(post, path = "/api/v1/rules/{id}/disable", tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Stopped"), (status = 404, description = "No such rule", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn disable(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        &who,
        Action::RulesWrite,
        &http_attrs("POST", "/api/v1/rules/{id}/disable", Some(&id)),
    )?;
    switch(st, who, id, false).await
}

/// Parses and compiles a rule text without deploying it.
#[utoipa::path(post, path = "/api/v1/rules/validate", tag = "rules", request_body = ValidateBody,
    responses((status = 200, description = "Documents and errors (with lines)", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn validate(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<ValidateBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    st.authorize(
        &who,
        Action::RulesRead,
        &http_attrs("POST", "/api/v1/rules/validate", None),
    )?;
    check_size(&body.yaml)?;
    let m = mapping(&st);
    let check = tokio::task::spawn_blocking(move || mcpsec_detect::check_rule_text(&body.yaml, &m))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(
        serde_json::json!({ "ok": check.ok(), "documents": check.documents, "errors": check.errors }),
    ))
}

/// Runs a rule text over the tenant's stored events in a time range.
#[utoipa::path(post, path = "/api/v1/rules/backtest", tag = "rules", request_body = BacktestBody,
    responses(
        (status = 200, description = "Matches", body = Object),
        (status = 400, description = "The rule does not compile or a parameter is invalid", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn backtest(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<BacktestBody>,
) -> Result<Json<BacktestResult>, ApiError> {
    st.authorize(
        &who,
        Action::RulesRead,
        &http_attrs("POST", "/api/v1/rules/backtest", None),
    )?;
    check_size(&body.yaml)?;
    let (from, to) = crate::timeparse::period(body.from.as_deref(), body.to.as_deref())?;
    let req = BacktestRequest {
        from,
        to,
        yaml: body.yaml,
        query: body.q.unwrap_or_default(),
        max_events: body.max_events.unwrap_or(100_000),
        max_matches: body.max_matches.unwrap_or(100).min(1000),
    };
    let (index, m, tenant) = (st.index.clone(), mapping(&st), who.tenant.clone());
    let result = tokio::task::spawn_blocking(move || {
        mcpsec_detect::backtest(index.as_ref(), &tenant, &m, &req)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(detect_error)?;
    Ok(Json(result))
}
