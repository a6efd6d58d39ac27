//! Assessing an alert: the deterministic score always, a language model's verdict when
//! one is configured and answers validly, and a record of which path produced the result.

mod alerting;
mod assets;
mod backfill;
pub mod budget;
mod context;
mod llm_path;

pub use alerting::{CONSUMER, RISE_RULE, THRESHOLD_RULE, risk_alerts, snapshot_all};
pub use assets::{MAX_ALERTS, RiskOverview, overview, snapshot};
pub use backfill::{Backfill, backfill};
pub use context::{AlertContext, ContextSummary};
pub use llm_path::LlmInfo;

use crate::config::RiskConfig;
use crate::error::{Result, RiskError};
use crate::llm::LlmClient;
use crate::model::RiskScore;
use crate::prompt::Prompts;
use crate::prompt::redact::Redactor;
use crate::verdict::{self, Verdict};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{Alert, SearchIndex, StateStore, StoredAssessment};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which path produced a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A language model's validated answer.
    Llm,
    /// The deterministic model.
    Deterministic,
}

impl Source {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Llm => "llm",
            Source::Deterministic => "deterministic",
        }
    }
}

/// What to assess.
#[derive(Debug, Clone)]
pub struct AssessRequest {
    /// Whose alert.
    pub tenant: TenantId,
    /// The alert.
    pub alert: Alert,
    /// Its rule's status when the caller knows it (e.g. from a rule file).
    pub rule_status: Option<String>,
    /// Provider to ask; `None`: the default provider; `Some("none")`: no model.
    pub provider: Option<String>,
    /// Prompt scenario (`alert_triage` by default).
    pub scenario: String,
    /// Who asked (key id, `cli`).
    pub actor: String,
    /// Keep the assessment in the store.
    pub store_result: bool,
}

/// The result of an assessment.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// ULID of this assessment.
    pub id: String,
    /// The alert assessed.
    pub alert_id: String,
    /// Its tenant.
    pub tenant: String,
    /// When.
    pub assessed_at: DateTime<Utc>,
    /// Which path produced `verdict`.
    pub source: Source,
    /// Why that path (each model attempt, fallbacks, guards).
    pub reasons: Vec<String>,
    /// The deterministic score 0–100.
    pub score: u8,
    /// Its band.
    pub band: String,
    /// The deterministic score with its factors.
    pub risk: RiskScore,
    /// The verdict (the model's when `source` is `llm`).
    pub verdict: Verdict,
    /// The deterministic verdict, for comparison.
    pub deterministic_verdict: Verdict,
    /// The model call, when one was made or served from the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmInfo>,
    /// What was known around the alert.
    pub context: ContextSummary,
}

/// Assesses alerts for every tenant.
pub struct Assessor {
    cfg: RiskConfig,
    clients: BTreeMap<String, Arc<LlmClient>>,
    redactor: Redactor,
    prompts: Prompts,
    store: Arc<dyn StateStore>,
    index: Option<Arc<dyn SearchIndex>>,
    /// Budget reserved by model calls in flight, per tenant.
    reserved: budget::Ledger,
}

impl std::fmt::Debug for Assessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assessor")
            .field("providers", &self.clients.keys().collect::<Vec<_>>())
            .field("default_provider", &self.cfg.default_provider)
            .finish()
    }
}

impl Assessor {
    /// Builds the provider clients (reading their keys) and the redaction patterns.
    pub fn new(cfg: RiskConfig, store: Arc<dyn StateStore>) -> Result<Self> {
        cfg.validate()?;
        let mut clients = BTreeMap::new();
        for (name, p) in &cfg.providers {
            clients.insert(name.clone(), Arc::new(LlmClient::new(name, p.clone())?));
        }
        Ok(Assessor {
            redactor: Redactor::new(cfg.redact_defaults, &cfg.redact)?,
            prompts: match &cfg.prompts_dir {
                Some(d) => Prompts::with_dir(d),
                None => Prompts::embedded(),
            },
            clients,
            cfg,
            store,
            index: None,
            reserved: budget::Ledger::default(),
        })
    }

    /// Gathers related events from this search index too.
    pub fn with_index(mut self, index: Arc<dyn SearchIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// The settings.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }

    /// The prompt templates.
    pub fn prompts(&self) -> &Prompts {
        &self.prompts
    }

    /// The redaction patterns.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Configured provider names.
    pub fn providers(&self) -> Vec<String> {
        self.clients.keys().cloned().collect()
    }

    /// Runs a blocking store call off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn StateStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| RiskError::Invalid(format!("store task failed: {e}")))?
    }

    /// Assesses one alert.
    pub async fn assess(&self, req: AssessRequest) -> Result<Assessment> {
        if !crate::prompt::names().contains(&req.scenario.as_str()) {
            return Err(RiskError::Invalid(format!(
                "unknown scenario {:?}: use {}",
                req.scenario,
                crate::prompt::names().join(", ")
            )));
        }
        let client = match req
            .provider
            .as_deref()
            .or(self.cfg.default_provider.as_deref())
        {
            None | Some("none") => None,
            Some(name) => Some(self.clients.get(name).cloned().ok_or_else(|| {
                RiskError::Invalid(format!(
                    "no provider named {name:?}; configured: {}",
                    if self.clients.is_empty() {
                        "none".to_owned()
                    } else {
                        self.providers().join(", ")
                    }
                ))
            })?),
        };
        let now = Utc::now();
        let (tenant, alert, status) = (
            req.tenant.clone(),
            req.alert.clone(),
            req.rule_status.clone(),
        );
        let index = self.index.clone();
        let ctx = self
            .blocking(move |s| {
                AlertContext::gather(s, index.as_deref(), &tenant, alert, status, now)
            })
            .await?;
        let confidence = crate::model::rule_confidence(ctx.rule_status.as_deref());
        let det = verdict::deterministic(
            &ctx.risk,
            &ctx.alert.tactics,
            &ctx.alert.techniques,
            confidence,
        );
        let mut reasons = Vec::new();
        let mut llm = None;
        let mut chosen = None;
        match client {
            None => reasons.push(match req.provider.as_deref() {
                Some("none") => "no model requested: deterministic model".to_owned(),
                _ => "no model provider configured: deterministic model".to_owned(),
            }),
            Some(c) => {
                let out = self.ask(&c, &req, &ctx, &det).await;
                reasons.extend(out.reasons);
                llm = out.info;
                chosen = out.verdict;
                if chosen.is_none() {
                    reasons.push("fell back to the deterministic model".into());
                }
            }
        }
        let source = if chosen.is_some() {
            Source::Llm
        } else {
            Source::Deterministic
        };
        let a = Assessment {
            id: ulid::Ulid::new().to_string(),
            alert_id: ctx.alert.id.clone(),
            tenant: req.tenant.to_string(),
            assessed_at: now,
            source,
            reasons,
            score: ctx.risk.score,
            band: ctx.risk.band.clone(),
            risk: ctx.risk.clone(),
            verdict: chosen.unwrap_or_else(|| det.clone()),
            deterministic_verdict: det,
            llm,
            context: ctx.summary(),
        };
        metrics::counter!("mcpsec_risk_assessments_total", "source" => source.as_str())
            .increment(1);
        if req.store_result {
            let stored = StoredAssessment {
                id: a.id.clone(),
                tenant: req.tenant.clone(),
                alert_id: a.alert_id.clone(),
                at: now,
                score: a.score,
                source: source.as_str().to_owned(),
                actor: req.actor.clone(),
                doc: serde_json::to_value(&a).map_err(|e| RiskError::Invalid(e.to_string()))?,
            };
            self.blocking(move |s| Ok(s.put_assessment(&stored)?))
                .await?;
        }
        Ok(a)
    }
}
