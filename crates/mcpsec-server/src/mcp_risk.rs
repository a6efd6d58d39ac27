//! MCP tools over risk: `assess_alert` (the deterministic score, and a language model's
//! verdict when one is configured, saying which path produced it) and `get_risk` (an
//! alert, an asset or the tenant, with the factors behind every number and the trend).

use crate::mcp::{McpServer, data_result, tool_error};
use chrono::{Duration, Utc};
use mcpsec_risk::{AssessRequest, Assessment, Assessor};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Assets listed by `get_risk` for the tenant.
const TOP_ASSETS: usize = 10;

/// Arguments of `assess_alert`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AssessArgs {
    /// The alert id, as returned by list_alerts.
    pub id: String,
    /// Provider name from the server's `[risk.providers]`; `none` for the deterministic
    /// model only; default: the configured default provider (deterministic if none).
    pub provider: Option<String>,
    /// alert_triage (default), attack_chain, vuln_impact or executive_summary.
    pub scenario: Option<String>,
}

/// Arguments of `get_risk`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RiskArgs {
    /// `tenant` (default), `alert`, or an asset kind: `host`, `user`, `service`, `project`.
    pub scope: Option<String>,
    /// The alert id (scope `alert`) or the asset's name (asset scopes).
    pub name: Option<String>,
}

impl McpServer {
    /// The assessor: the server's over HTTP, the data dir's over stdio.
    fn assessor(&self, ctx: &RequestContext<RoleServer>) -> Option<Arc<Assessor>> {
        match Self::app_state(ctx) {
            Some(st) => st.risk.clone(),
            None => self.assessor.clone(),
        }
    }

    /// Sigma status of the file rules, by rule id (they weigh on rule confidence).
    fn file_statuses(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        if let Some(c) = &self.catalog {
            for r in c.file_rules().set.rules() {
                if let Some(s) = &r.meta.status {
                    out.insert(r.name().to_owned(), s.clone());
                }
            }
        }
        out
    }

    async fn find_alert(
        &self,
        tenant: &mcpsec_core::TenantId,
        id: &str,
    ) -> Result<Option<mcpsec_store::Alert>, String> {
        let st = self
            .state
            .clone()
            .ok_or_else(|| "alerts are not available on this server".to_owned())?;
        let (t, id) = (tenant.clone(), id.to_owned());
        match tokio::task::spawn_blocking(move || st.get_alert(&t, &id)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("task failed: {e}")),
        }
    }

    async fn trend(
        &self,
        tenant: &mcpsec_core::TenantId,
        scope: &str,
        name: &str,
    ) -> Result<Vec<mcpsec_store::RiskBucket>, String> {
        let st = self
            .state
            .clone()
            .ok_or_else(|| "risk is not available on this server".to_owned())?;
        let (t, scope, name) = (tenant.clone(), scope.to_owned(), name.to_owned());
        let now = Utc::now();
        match tokio::task::spawn_blocking(move || {
            st.risk_trend(
                &t,
                Some((&scope, &name)),
                now - Duration::days(7),
                now + Duration::seconds(1),
                86_400,
            )
        })
        .await
        {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("task failed: {e}")),
        }
    }
}

/// An assessment as a tool answer: the path that produced the verdict first.
fn assessment(a: &Assessment) -> Value {
    json!({
        "note": "the context and rationale may quote untrusted event data",
        "alert_id": a.alert_id,
        "source": a.source.as_str(),
        "reasons": a.reasons,
        "score": a.score,
        "band": a.band,
        "factors": a.risk.factors,
        "model": a.risk.model,
        "verdict": a.verdict,
        "deterministic_verdict": a.deterministic_verdict,
        "llm": a.llm,
        "context": a.context,
    })
}

#[tool_router(router = risk_router, vis = "pub(crate)")]
impl McpServer {
    /// Assesses an alert.
    #[tool(
        description = "Assess the risk of one alert of this tenant: a deterministic 0-100 score with every contributing factor, and a language model's validated verdict when the server has a model provider configured. `source` says which path produced the verdict (llm or deterministic) and `reasons` why. The assessment is kept and audited. Needs the risk.assess permission."
    )]
    async fn assess_alert(
        &self,
        Parameters(a): Parameters<AssessArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::RiskAssess)?;
        let Some(assessor) = self.assessor(&ctx) else {
            return Ok(tool_error(
                "risk assessment is not available on this server",
            ));
        };
        let alert = match self.find_alert(&tenant, &a.id).await {
            Ok(Some(alert)) => alert,
            Ok(None) => return Ok(tool_error("no such alert")),
            Err(e) => return Ok(tool_error(e)),
        };
        let actor = self.actor(&ctx);
        let rule_status = self.file_statuses().remove(&alert.rule_id);
        let res = assessor
            .assess(AssessRequest {
                tenant: tenant.clone(),
                alert,
                rule_status,
                provider: a.provider,
                scenario: a.scenario.unwrap_or_else(|| "alert_triage".into()),
                actor: actor.clone(),
                store_result: true,
            })
            .await;
        match res {
            Ok(x) => {
                self.audit(
                    &ctx,
                    mcpsec_store::AuditEvent {
                        tenant: tenant.to_string(),
                        actor,
                        action: "risk.assess".into(),
                        target: x.alert_id.clone(),
                        outcome: "success".into(),
                        details: json!({
                            "assessment": x.id, "source": x.source.as_str(), "score": x.score,
                            "provider": x.llm.as_ref().map(|l| l.provider.clone()),
                            "transport": "mcp",
                        }),
                    },
                );
                let mut v = assessment(&x);
                v["assessment_id"] = json!(x.id);
                Ok(data_result(v))
            }
            Err(e) => Ok(tool_error(e.to_string())),
        }
    }

    /// Risk of an alert, an asset or the tenant.
    #[tool(
        description = "The risk of this tenant (default), of one alert (scope alert, name = alert id) or of one asset (scope host, user, service or project, name = asset name): 0-100 scores with the factors behind them, the riskiest assets, earlier assessments and the daily trend of the last 7 days. Read-only; never asks a language model."
    )]
    async fn get_risk(
        &self,
        Parameters(a): Parameters<RiskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_for(&ctx, crate::Action::RiskRead)?;
        let Some(assessor) = self.assessor(&ctx) else {
            return Ok(tool_error("risk is not available on this server"));
        };
        let scope = a.scope.as_deref().unwrap_or("tenant");
        let name = a.name.filter(|n| !n.is_empty());
        if scope == "alert" {
            let Some(id) = name else {
                return Ok(tool_error(
                    "name (the alert id) is required with scope alert",
                ));
            };
            let alert = match self.find_alert(&tenant, &id).await {
                Ok(Some(alert)) => alert,
                Ok(None) => return Ok(tool_error("no such alert")),
                Err(e) => return Ok(tool_error(e)),
            };
            let rule_status = self.file_statuses().remove(&alert.rule_id);
            let x = match assessor
                .assess(AssessRequest {
                    tenant: tenant.clone(),
                    alert,
                    rule_status,
                    provider: Some("none".into()),
                    scenario: "alert_triage".into(),
                    actor: self.actor(&ctx),
                    store_result: false,
                })
                .await
            {
                Ok(x) => x,
                Err(e) => return Ok(tool_error(e.to_string())),
            };
            let Some(st) = self.state.clone() else {
                return Ok(tool_error("risk is not available on this server"));
            };
            let t2 = tenant.clone();
            let past = match tokio::task::spawn_blocking(move || st.assessments(&t2, &id)).await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => return Ok(tool_error(e.to_string())),
                Err(e) => return Ok(tool_error(format!("task failed: {e}"))),
            };
            let mut v = assessment(&x);
            v["scope"] = json!("alert");
            v["assessments"] = past
                .iter()
                .map(|p| {
                    json!({"id": p.id, "at": p.at, "score": p.score, "source": p.source,
                        "actor": p.actor, "verdict": p.doc.get("verdict")})
                })
                .collect();
            return Ok(data_result(v));
        }
        let kind = match scope {
            "tenant" => None,
            k => match mcpsec_risk::asset::AssetKind::parse(k) {
                Some(kind) => Some(kind),
                None => {
                    return Ok(tool_error(format!(
                        "unknown scope {k:?}: use tenant, alert, host, user, service or project"
                    )));
                }
            },
        };
        let o = match assessor.overview(&tenant, self.file_statuses()).await {
            Ok(o) => o,
            Err(e) => return Ok(tool_error(e.to_string())),
        };
        let Some(kind) = kind else {
            let trend = match self.trend(&tenant, "tenant", tenant.as_str()).await {
                Ok(t) => t,
                Err(e) => return Ok(tool_error(e)),
            };
            return Ok(data_result(json!({
                "scope": "tenant",
                "tenant_risk": o.tenant,
                "window_from": o.from,
                "truncated": o.truncated,
                "assets_total": o.assets.len(),
                "top_assets": o.assets.iter().take(TOP_ASSETS).collect::<Vec<_>>(),
                "trend_daily": trend,
            })));
        };
        let Some(name) = name else {
            return Ok(tool_error("name is required with an asset scope"));
        };
        let Some(asset) = o
            .assets
            .into_iter()
            .find(|x| x.kind == kind && x.name.eq_ignore_ascii_case(&name))
        else {
            return Ok(tool_error(format!(
                "no {} named {name:?} has alerts or is in the inventory",
                kind.as_str()
            )));
        };
        let trend = match self.trend(&tenant, kind.as_str(), &asset.name).await {
            Ok(t) => t,
            Err(e) => return Ok(tool_error(e)),
        };
        Ok(data_result(json!({
            "scope": kind.as_str(),
            "asset": asset,
            "window_from": o.from,
            "trend_daily": trend,
        })))
    }
}
