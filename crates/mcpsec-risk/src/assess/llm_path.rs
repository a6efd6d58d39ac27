//! The model path: redaction, fenced prompt, cache, at most two attempts (each within
//! the budget, see [`super::budget`]) with strict validation, the severity guard, and a record of every call.

use super::context::AlertContext;
use super::{AssessRequest, Assessor};
use crate::llm::{ChatRequest, ChatResponse, LlmClient};
use crate::verdict::{self, SEVERITIES, Verdict};
use chrono::{Duration, Utc};
use mcpsec_store::LlmCallRecord;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The model call behind an assessment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LlmInfo {
    /// Provider name.
    pub provider: String,
    /// Model asked.
    pub model: String,
    /// Template (scenario) name.
    pub template: String,
    /// Its version.
    pub template_version: u32,
    /// Where it came from (`embedded` or a path).
    pub template_origin: String,
    /// Served from the cache.
    pub cached: bool,
    /// Calls made (0 when cached).
    pub attempts: u32,
    /// Input tokens over all attempts.
    pub prompt_tokens: u64,
    /// Output tokens over all attempts.
    pub completion_tokens: u64,
    /// Wall time over all attempts.
    pub latency_ms: u64,
    /// Cost over all attempts.
    pub cost_usd: f64,
    /// Strings replaced by redaction before sending.
    pub redactions: usize,
}

pub(super) struct Outcome {
    pub(super) verdict: Option<Verdict>,
    pub(super) reasons: Vec<String>,
    pub(super) info: Option<LlmInfo>,
}

impl Outcome {
    fn fallback(reason: String, info: Option<LlmInfo>) -> Self {
        Outcome {
            verdict: None,
            reasons: vec![reason],
            info,
        }
    }
}

impl Assessor {
    pub(super) async fn ask(
        &self,
        client: &LlmClient,
        req: &AssessRequest,
        ctx: &AlertContext,
        det: &Verdict,
    ) -> Outcome {
        let tenant = req.tenant.clone();
        let pcfg = client.config().clone();
        let labels = [
            ("provider", client.name().to_owned()),
            ("model", pcfg.model.clone()),
        ];
        // Data, redacted, fenced in the rendered prompt.
        let mut data = if req.scenario == "executive_summary" {
            match self.tenant_data(&tenant).await {
                Ok(d) => d,
                Err(e) => {
                    return Outcome::fallback(format!("cannot gather tenant risk: {e}"), None);
                }
            }
        } else {
            ctx.data(self.cfg.max_events, self.cfg.max_prompt_bytes)
        };
        let redactions = self.redactor.value(&mut data);
        let rendered = match self.prompts.render(
            tenant.as_str(),
            &req.scenario,
            &data,
            ctx.risk.score,
            &ctx.risk.band,
        ) {
            Ok(r) => r,
            Err(e) => return Outcome::fallback(format!("prompt: {e}"), None),
        };
        let mut info = LlmInfo {
            provider: client.name().to_owned(),
            model: pcfg.model.clone(),
            template: rendered.template.clone(),
            template_version: rendered.version,
            template_origin: rendered.origin.clone(),
            redactions,
            ..LlmInfo::default()
        };
        let mut chat = ChatRequest {
            system: rendered.system,
            user: rendered.user,
            json: true,
            max_tokens: None,
        };
        let key = cache_key(client, &chat);
        let mut reasons = Vec::new();
        // Cache.
        if self.cfg.cache_ttl_secs > 0 {
            let (t, k) = (tenant.clone(), key.clone());
            let not_before = Utc::now()
                - Duration::seconds(self.cfg.cache_ttl_secs.min(i64::MAX as u64 / 1000) as i64);
            if let Ok(Some(text)) = self
                .blocking(move |s| Ok(s.llm_cache_get(&t, &k, not_before)?))
                .await
                && let Ok(v) = verdict::parse_verdict(&text)
            {
                metrics::counter!("mcpsec_llm_cache_hits_total").increment(1);
                info.cached = true;
                self.record(req, &info, &labels, "ok", true, 0, 0, 0, 0.0)
                    .await;
                reasons.push(format!("{} answered (cached)", client.name()));
                let v = guard(v, det, &mut reasons);
                return Outcome {
                    verdict: Some(v),
                    reasons,
                    info: Some(info),
                };
            }
        }
        for attempt in 1..=2u32 {
            // Budget: this attempt's worst case is reserved until its usage is recorded.
            let (tokens, cost) =
                super::budget::estimate(chat.system.len() + chat.user.len(), &pcfg);
            let _held = match self.reserve(&tenant, tokens, cost).await {
                Ok(held) => held,
                Err(why) => {
                    metrics::counter!("mcpsec_llm_requests_total", "provider" => labels[0].1.clone(), "model" => labels[1].1.clone(), "outcome" => "budget").increment(1);
                    reasons.push(why);
                    return Outcome {
                        verdict: None,
                        reasons,
                        info: (attempt > 1).then_some(info),
                    };
                }
            };
            let started = Instant::now();
            let result = client.chat(&chat).await;
            let ms = started.elapsed().as_millis().min(u64::MAX as u128) as u64;
            info.attempts = attempt;
            info.latency_ms += ms;
            let resp: ChatResponse = match result {
                Ok(r) => r,
                Err(e) => {
                    let msg = e.to_string();
                    self.record(
                        req,
                        &info,
                        &labels,
                        &format!("error: {msg}"),
                        false,
                        0,
                        0,
                        ms,
                        0.0,
                    )
                    .await;
                    reasons.push(format!("attempt {attempt}: {msg}"));
                    return Outcome {
                        verdict: None,
                        reasons,
                        info: Some(info),
                    };
                }
            };
            let cost = pcfg.cost(resp.prompt_tokens, resp.completion_tokens);
            info.prompt_tokens += resp.prompt_tokens;
            info.completion_tokens += resp.completion_tokens;
            info.cost_usd += cost;
            if !resp.model.is_empty() {
                info.model = resp.model.clone();
            }
            match verdict::parse_verdict(&resp.text) {
                Ok(v) => {
                    self.record(
                        req,
                        &info,
                        &labels,
                        "ok",
                        false,
                        resp.prompt_tokens,
                        resp.completion_tokens,
                        ms,
                        cost,
                    )
                    .await;
                    if self.cfg.cache_ttl_secs > 0 {
                        let (t, k, text) = (tenant.clone(), key.clone(), resp.text.clone());
                        if let Err(e) = self
                            .blocking(move |s| Ok(s.llm_cache_put(&t, &k, &text, Utc::now())?))
                            .await
                        {
                            tracing::warn!(error = %e, "cannot cache a model answer");
                        }
                    }
                    reasons.push(format!(
                        "{} answered a valid verdict (attempt {attempt})",
                        client.name()
                    ));
                    let v = guard(v, det, &mut reasons);
                    return Outcome {
                        verdict: Some(v),
                        reasons,
                        info: Some(info),
                    };
                }
                Err(why) => {
                    self.record(
                        req,
                        &info,
                        &labels,
                        &format!("invalid_answer: {why}"),
                        false,
                        resp.prompt_tokens,
                        resp.completion_tokens,
                        ms,
                        cost,
                    )
                    .await;
                    reasons.push(format!("attempt {attempt}: invalid answer: {why}"));
                    chat.user = format!(
                        "{}\n\nYour previous answer was rejected ({why}). Answer again with only the JSON object described in the instructions.",
                        chat.user
                    );
                }
            }
        }
        Outcome {
            verdict: None,
            reasons,
            info: Some(info),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        req: &AssessRequest,
        info: &LlmInfo,
        labels: &[(&str, String); 2],
        outcome: &str,
        cached: bool,
        prompt_tokens: u64,
        completion_tokens: u64,
        latency_ms: u64,
        cost_usd: f64,
    ) {
        let short = outcome.split(':').next().unwrap_or(outcome).to_owned();
        let (p, m) = (labels[0].1.clone(), labels[1].1.clone());
        metrics::counter!("mcpsec_llm_requests_total", "provider" => p.clone(), "model" => m.clone(), "outcome" => short)
            .increment(1);
        if !cached {
            metrics::counter!("mcpsec_llm_tokens_total", "provider" => p.clone(), "model" => m.clone(), "kind" => "prompt")
                .increment(prompt_tokens);
            metrics::counter!("mcpsec_llm_tokens_total", "provider" => p.clone(), "model" => m.clone(), "kind" => "completion")
                .increment(completion_tokens);
            metrics::gauge!("mcpsec_llm_cost_usd_total", "provider" => p, "model" => m)
                .increment(cost_usd);
        }
        let rec = LlmCallRecord {
            id: ulid::Ulid::new().to_string(),
            tenant: req.tenant.clone(),
            at: Utc::now(),
            provider: info.provider.clone(),
            model: info.model.clone(),
            scenario: req.scenario.clone(),
            alert_id: Some(req.alert.id.clone()),
            prompt_tokens,
            completion_tokens,
            latency_ms,
            cost_usd,
            outcome: outcome.chars().take(500).collect(),
            cached,
        };
        if let Err(e) = self.blocking(move |s| Ok(s.record_llm_call(&rec)?)).await {
            tracing::error!(error = %e, "cannot record a model call");
        }
    }
}

/// A model may raise the severity or lower it by one band; a larger drop is clamped.
fn guard(mut v: Verdict, det: &Verdict, reasons: &mut Vec<String>) -> Verdict {
    let (got, base) = (verdict::rank(&v.severity), verdict::rank(&det.severity));
    if got + 1 < base {
        let floor = SEVERITIES[base - 1];
        reasons.push(format!(
            "model severity {} is more than one band below the deterministic {}: raised to {floor}",
            v.severity, det.severity
        ));
        v.severity = floor.to_owned();
    }
    v
}

/// Identical requests share a key: provider, model, settings and both prompt parts.
fn cache_key(client: &LlmClient, chat: &ChatRequest) -> String {
    let c = client.config();
    let mut h = Sha256::new();
    for part in [
        client.name(),
        c.kind.as_str(),
        &c.base_url,
        &c.model,
        &c.temperature.to_string(),
        &c.max_tokens.to_string(),
        &chat.system,
        &chat.user,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}
