//! GraphQL over risk: the score of an alert, an asset and the tenant with the factors
//! behind every number, the trends and the inventory, and the `assessAlert` mutation.
//! Permissions and tenant scope are those of the REST API (`risk.read`, `risk.assess`).

use crate::graphql_alerts::allowed;
use crate::risk_api::{TrendQuery, assess_found, assessor, file_statuses, find_alert};
use crate::{Action, ApiError, AppState};
use async_graphql::{Context, Json as GqlJson, Object, SimpleObject};
use mcpsec_risk::AssessRequest;

/// Most assets one `assets` field returns.
const MAX_ASSETS: usize = 10_000;

pub(crate) fn gql(e: ApiError) -> async_graphql::Error {
    async_graphql::Error::new(e.message)
}

/// One contribution to a score.
#[derive(SimpleObject)]
pub(crate) struct RiskFactor {
    /// Which input (`severity`, `rule_confidence`, `attack_stage`...).
    name: String,
    /// The input's value as read.
    input: String,
    /// Points added to the threat sum.
    points: Option<f64>,
    /// Multiplier applied to the threat sum.
    multiplier: Option<f64>,
    /// Why, in words.
    reason: String,
}

fn factors(f: Vec<mcpsec_risk::model::Factor>) -> Vec<RiskFactor> {
    f.into_iter()
        .map(|f| RiskFactor {
            name: f.name,
            input: f.input,
            points: f.points,
            multiplier: f.multiplier,
            reason: f.reason,
        })
        .collect()
}

/// A deterministic score with its explanation.
#[derive(SimpleObject)]
pub(crate) struct RiskScore {
    /// 0–100.
    score: u8,
    /// `low`, `medium`, `high` or `critical`.
    band: String,
    /// Sum of the points factors before the cap of 100.
    threat_points: f64,
    /// Every factor, points first, then multipliers.
    factors: Vec<RiskFactor>,
    /// Version of the risk model.
    model: String,
}

impl From<mcpsec_risk::model::RiskScore> for RiskScore {
    fn from(r: mcpsec_risk::model::RiskScore) -> Self {
        RiskScore {
            score: r.score,
            band: r.band,
            threat_points: r.threat_points,
            factors: factors(r.factors),
            model: r.model,
        }
    }
}

/// A verdict: the model's validated answer or the deterministic one.
#[derive(SimpleObject)]
pub(crate) struct Verdict {
    /// `informational`, `low`, `medium`, `high` or `critical`.
    severity: String,
    /// 0–1.
    confidence: f64,
    /// Why.
    rationale: String,
    /// What to do next, most urgent first.
    recommended_actions: Vec<String>,
    /// ATT&CK technique ids.
    attack_techniques: Vec<String>,
}

impl From<mcpsec_risk::verdict::Verdict> for Verdict {
    fn from(v: mcpsec_risk::verdict::Verdict) -> Self {
        Verdict {
            severity: v.severity,
            confidence: v.confidence,
            rationale: v.rationale,
            recommended_actions: v.recommended_actions,
            attack_techniques: v.attack_techniques,
        }
    }
}

/// The result of an assessment.
#[derive(SimpleObject)]
pub(crate) struct Assessment {
    /// Id (ULID) of the stored assessment.
    id: String,
    /// The alert assessed.
    alert_id: String,
    /// When (RFC 3339).
    assessed_at: String,
    /// Which path produced `verdict`: `llm` or `deterministic`.
    source: String,
    /// Why that path (each model attempt, fallbacks, guards).
    reasons: Vec<String>,
    /// The deterministic score 0–100.
    score: u8,
    /// Its band.
    band: String,
    /// The deterministic score with its factors.
    risk: RiskScore,
    /// The verdict (the model's when `source` is `llm`).
    verdict: Verdict,
    /// The deterministic verdict, for comparison.
    deterministic_verdict: Verdict,
    /// The model call (provider, model, tokens, cost), when one was made.
    llm: Option<GqlJson<serde_json::Value>>,
    /// What was known around the alert (assets, related alerts and events).
    context: GqlJson<serde_json::Value>,
}

impl From<mcpsec_risk::Assessment> for Assessment {
    fn from(a: mcpsec_risk::Assessment) -> Self {
        Assessment {
            id: a.id,
            alert_id: a.alert_id,
            assessed_at: mcpsec_core::to_rfc3339(&a.assessed_at),
            source: a.source.as_str().to_owned(),
            reasons: a.reasons,
            score: a.score,
            band: a.band,
            risk: a.risk.into(),
            verdict: a.verdict.into(),
            deterministic_verdict: a.deterministic_verdict.into(),
            llm: a
                .llm
                .map(|l| GqlJson(serde_json::to_value(l).unwrap_or_default())),
            context: GqlJson(serde_json::to_value(a.context).unwrap_or_default()),
        }
    }
}

/// An earlier assessment of an alert.
#[derive(SimpleObject)]
pub(crate) struct PastAssessment {
    /// Id (ULID).
    id: String,
    /// When (RFC 3339).
    at: String,
    /// Score 0–100.
    score: u8,
    /// `llm` or `deterministic`.
    source: String,
    /// Who asked.
    actor: String,
    /// The verdict given then.
    verdict: Option<GqlJson<serde_json::Value>>,
}

/// The risk of one alert now, by the deterministic model, and its stored assessments.
#[derive(SimpleObject)]
pub(crate) struct AlertRisk {
    /// The alert.
    alert_id: String,
    /// 0–100.
    score: u8,
    /// Its band.
    band: String,
    /// The score with its factors.
    risk: RiskScore,
    /// The deterministic verdict.
    verdict: Verdict,
    /// What was known around the alert.
    context: GqlJson<serde_json::Value>,
    /// Assessments made before (REST, GraphQL, MCP, CLI), oldest first.
    assessments: Vec<PastAssessment>,
}

/// An alert counted in an asset's score.
#[derive(SimpleObject)]
pub(crate) struct AlertRef {
    /// Alert id.
    id: String,
    /// Rule title.
    rule_title: String,
    /// Its score.
    score: u8,
}

/// The risk of one asset.
#[derive(SimpleObject)]
pub(crate) struct AssetRisk {
    /// `host`, `user`, `service` or `project`.
    kind: String,
    /// Name (the inventory's spelling when listed there).
    name: String,
    /// 0–100.
    score: u8,
    /// Band of the score.
    band: String,
    /// Whether the inventory lists it.
    in_inventory: bool,
    /// Its criticality (inventory).
    criticality: Option<String>,
    /// Its exposure (inventory).
    exposure: Option<String>,
    /// Alerts counted.
    alerts: u32,
    /// The highest-scored alerts (at most 5).
    top_alerts: Vec<AlertRef>,
    /// How the score came about.
    factors: Vec<RiskFactor>,
}

impl From<mcpsec_risk::model::AssetRisk> for AssetRisk {
    fn from(a: mcpsec_risk::model::AssetRisk) -> Self {
        AssetRisk {
            kind: a.kind.as_str().to_owned(),
            name: a.name,
            score: a.score,
            band: a.band,
            in_inventory: a.in_inventory,
            criticality: a.criticality,
            exposure: a.exposure,
            alerts: a.alerts,
            top_alerts: a
                .top_alerts
                .into_iter()
                .map(|r| AlertRef {
                    id: r.id,
                    rule_title: r.rule_title,
                    score: r.score,
                })
                .collect(),
            factors: factors(a.factors),
        }
    }
}

/// The risk of the whole tenant.
#[derive(SimpleObject)]
pub(crate) struct TenantRisk {
    /// 0–100: the asset scores combined.
    score: u8,
    /// Band of the score.
    band: String,
    /// Assets with a score above 0.
    assets_at_risk: u64,
    /// Alerts counted.
    alerts: u64,
    /// Assets per band, e.g. `{"high": 2}`.
    by_band: GqlJson<std::collections::BTreeMap<String, u64>>,
}

/// A tenant's risk now: the tenant and its assets over the window of open alerts.
pub(crate) struct RiskOverview(mcpsec_risk::assess::RiskOverview);

#[Object]
impl RiskOverview {
    /// The tenant as a whole.
    async fn tenant(&self) -> TenantRisk {
        let t = &self.0.tenant;
        TenantRisk {
            score: t.score,
            band: t.band.clone(),
            assets_at_risk: t.assets_at_risk as u64,
            alerts: t.alerts as u64,
            by_band: GqlJson(t.by_band.clone()),
        }
    }

    /// Assets, highest score first, optionally of one kind and from a score up.
    async fn assets(
        &self,
        kind: Option<String>,
        #[graphql(default = 0)] min_score: u8,
        #[graphql(default = 100)] limit: usize,
    ) -> async_graphql::Result<Vec<AssetRisk>> {
        if limit == 0 || limit > MAX_ASSETS {
            return Err(format!("limit must be between 1 and {MAX_ASSETS}").into());
        }
        let kind = kind.as_deref().map(asset_kind).transpose()?;
        Ok(self
            .0
            .assets
            .iter()
            .filter(|a| kind.is_none_or(|k| a.kind == k) && a.score >= min_score)
            .take(limit)
            .cloned()
            .map(AssetRisk::from)
            .collect())
    }

    /// Start of the window of alerts counted (RFC 3339).
    async fn from(&self) -> String {
        mcpsec_core::to_rfc3339(&self.0.from)
    }

    /// Whether the window held more alerts than were read.
    async fn truncated(&self) -> bool {
        self.0.truncated
    }
}

/// A bucket of a risk time series.
#[derive(SimpleObject)]
pub(crate) struct RiskBucket {
    /// Start of the bucket (RFC 3339).
    start: String,
    /// `tenant` or the asset kind.
    scope: String,
    /// The tenant's or the asset's name.
    name: String,
    /// Highest score in the bucket.
    max: f64,
    /// Mean score in the bucket.
    avg: f64,
    /// Points in the bucket.
    points: u64,
}

/// Rolled-up risk over time.
#[derive(SimpleObject)]
pub(crate) struct RiskTrend {
    /// `hour` or `day`.
    bucket: String,
    /// Buckets, oldest first.
    buckets: Vec<RiskBucket>,
}

/// One asset of the inventory.
#[derive(SimpleObject)]
pub(crate) struct InventoryAsset {
    /// Kind.
    kind: String,
    /// Name.
    name: String,
    /// The asset as loaded (criticality, exposure, vulnerabilities...).
    doc: GqlJson<serde_json::Value>,
    /// Last written (RFC 3339).
    updated_at: String,
    /// Who wrote it.
    updated_by: String,
}

fn asset_kind(k: &str) -> async_graphql::Result<mcpsec_risk::asset::AssetKind> {
    mcpsec_risk::asset::AssetKind::parse(k)
        .ok_or_else(|| format!("unknown kind {k:?}: use host, user, service or project").into())
}

async fn overview(ctx: &Context<'_>) -> async_graphql::Result<mcpsec_risk::assess::RiskOverview> {
    let who = allowed(ctx, Action::RiskRead)?.clone();
    let st = ctx.data::<AppState>()?;
    assessor(st)
        .map_err(gql)?
        .overview(&who.tenant, file_statuses(st))
        .await
        .map_err(|e| gql(e.into()))
}

/// Risk queries (merged into the query root).
#[derive(Default)]
pub struct RiskQuery;

#[Object]
impl RiskQuery {
    /// The caller's risk now: the tenant and its assets.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<RiskOverview> {
        Ok(RiskOverview(overview(ctx).await?))
    }

    /// The risk of one asset of the caller's (`null` when no alert names it and the
    /// inventory does not list it).
    async fn asset_risk(
        &self,
        ctx: &Context<'_>,
        kind: String,
        name: String,
    ) -> async_graphql::Result<Option<AssetRisk>> {
        let kind = asset_kind(&kind)?;
        let o = overview(ctx).await?;
        Ok(o.assets
            .into_iter()
            .find(|a| a.kind == kind && a.name.eq_ignore_ascii_case(&name))
            .map(AssetRisk::from))
    }

    /// The risk of one of the caller's alerts now (deterministic model: no language model
    /// is asked and nothing is stored), with its stored assessments. `null` when there is
    /// no such alert in the caller's tenant.
    async fn alert_risk(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<AlertRisk>> {
        let who = allowed(ctx, Action::RiskRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let alert = match find_alert(st, &who, &id).await {
            Ok(a) => a,
            Err(e) if e.code == mcpsec_core::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(gql(e)),
        };
        let rule_status = file_statuses(st).remove(&alert.rule_id);
        let a = assessor(st)
            .map_err(gql)?
            .assess(AssessRequest {
                tenant: who.tenant.clone(),
                alert,
                rule_status,
                provider: Some("none".into()),
                scenario: "alert_triage".into(),
                actor: who.key_id.clone(),
                store_result: false,
            })
            .await
            .map_err(|e| gql(e.into()))?;
        let tenant = who.tenant.clone();
        let past = st
            .on_store(move |s| s.assessments(&tenant, &id))
            .await
            .map_err(gql)?;
        Ok(Some(AlertRisk {
            alert_id: a.alert_id,
            score: a.score,
            band: a.band,
            risk: a.risk.into(),
            verdict: a.verdict.into(),
            context: GqlJson(serde_json::to_value(a.context).unwrap_or_default()),
            assessments: past
                .into_iter()
                .map(|p| PastAssessment {
                    verdict: p.doc.get("verdict").cloned().map(GqlJson),
                    id: p.id,
                    at: mcpsec_core::to_rfc3339(&p.at),
                    score: p.score,
                    source: p.source,
                    actor: p.actor,
                })
                .collect(),
        }))
    }

    /// Risk over time of the tenant (default) or one asset (`scope`: an asset kind, with
    /// `name`), rolled up per `hour` (default) or `day`; default period: the last 7 days.
    async fn risk_trends(
        &self,
        ctx: &Context<'_>,
        scope: Option<String>,
        name: Option<String>,
        bucket: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> async_graphql::Result<RiskTrend> {
        let who = allowed(ctx, Action::RiskRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let q = TrendQuery::parse(
            &who.tenant,
            scope.as_deref(),
            name.as_deref(),
            bucket.as_deref(),
            from.as_deref(),
            to.as_deref(),
        )
        .map_err(gql)?;
        let bucket = q.bucket.to_owned();
        let buckets = q.run(st, &who.tenant).await.map_err(gql)?;
        Ok(RiskTrend {
            bucket,
            buckets: buckets
                .into_iter()
                .map(|b| RiskBucket {
                    start: b.start,
                    scope: b.scope,
                    name: b.name,
                    max: b.max,
                    avg: b.avg,
                    points: b.points,
                })
                .collect(),
        })
    }

    /// The caller's asset inventory, by kind then name.
    async fn risk_inventory(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InventoryAsset>> {
        let who = allowed(ctx, Action::RiskRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let list = st
            .on_store(move |s| s.list_assets(&who.tenant))
            .await
            .map_err(gql)?;
        Ok(list
            .into_iter()
            .map(|a| InventoryAsset {
                kind: a.kind,
                name: a.name,
                doc: GqlJson(a.doc),
                updated_at: mcpsec_core::to_rfc3339(&a.updated_at),
                updated_by: a.updated_by,
            })
            .collect())
    }
}

/// Risk mutations.
#[derive(Default)]
pub struct RiskMutation;

#[Object]
impl RiskMutation {
    /// Assesses one of the caller's alerts like `POST /api/v1/alerts/{id}/assess`: the
    /// deterministic score always, a language model's verdict when `provider` (or the
    /// default provider) is configured; `source` says which path produced the verdict.
    /// Kept and audited. `null` when there is no such alert in the caller's tenant.
    async fn assess_alert(
        &self,
        ctx: &Context<'_>,
        id: String,
        provider: Option<String>,
        scenario: Option<String>,
    ) -> async_graphql::Result<Option<Assessment>> {
        let who = allowed(ctx, Action::RiskAssess)?.clone();
        let st = ctx.data::<AppState>()?;
        let alert = match find_alert(st, &who, &id).await {
            Ok(a) => a,
            Err(e) if e.code == mcpsec_core::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(gql(e)),
        };
        let a = assess_found(st, &who, alert, provider, scenario, "graphql")
            .await
            .map_err(gql)?;
        Ok(Some(a.into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn risk_fields_are_in_the_schema() {
        let sdl = crate::graphql::schema().sdl();
        for q in [
            "risk: RiskOverview!",
            "assetRisk(",
            "alertRisk(",
            "riskTrends(",
            "riskInventory:",
            "assessAlert(",
            "factors: [RiskFactor!]!",
        ] {
            assert!(sdl.contains(q), "{q} missing");
        }
    }
}
