//! The `[risk]` section of the configuration.

use crate::error::{Result, RiskError};
use crate::llm::ProviderConfig;
use crate::prompt::redact::RedactPattern;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Risk assessment settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Provider used when a request names none; unset: deterministic only unless a
    /// request names a provider.
    pub default_provider: Option<String>,
    /// Language-model providers by name (`[risk.providers.NAME]`).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Tokens (input + output) one tenant may use per UTC day; unset: no limit.
    pub daily_token_budget: Option<u64>,
    /// Cost one tenant may incur per UTC day (from the providers' prices); unset: no limit.
    pub daily_cost_budget_usd: Option<f64>,
    /// How long an identical request is answered from the cache, in seconds; 0: no cache.
    pub cache_ttl_secs: u64,
    /// Apply the built-in redaction patterns (keys, tokens, passwords, e-mail addresses).
    pub redact_defaults: bool,
    /// Extra redaction patterns (`[[risk.redact]]` with `name`, `pattern`, optional
    /// `replacement`).
    pub redact: Vec<RedactPattern>,
    /// Directory of prompt template overrides (`<dir>/<tenant>/<name>.j2` wins over
    /// `<dir>/<name>.j2`, which wins over the embedded template).
    pub prompts_dir: Option<PathBuf>,
    /// Days of alerts counted by `GET /api/v1/risk/assets` and the trend snapshots.
    pub window_days: u32,
    /// Most events of an alert sent to a model.
    pub max_events: usize,
    /// Largest data block sent to a model, in bytes (events are dropped to fit).
    pub max_prompt_bytes: usize,
    /// Seconds between risk snapshots for the trends (per tenant and asset); 0: none.
    pub snapshot_interval_secs: u64,
    /// Raise a risk alert when a tenant's score reaches this (0–100); unset: never.
    pub alert_threshold: Option<u8>,
    /// Raise a risk alert when a tenant's score rises by at least this many points
    /// between two snapshots; unset: never.
    pub alert_rise: Option<u8>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            default_provider: None,
            providers: BTreeMap::new(),
            daily_token_budget: None,
            daily_cost_budget_usd: None,
            cache_ttl_secs: 86_400,
            redact_defaults: true,
            redact: Vec::new(),
            prompts_dir: None,
            window_days: 7,
            max_events: 20,
            max_prompt_bytes: 64 * 1024,
            snapshot_interval_secs: 3600,
            alert_threshold: None,
            alert_rise: None,
        }
    }
}

impl RiskConfig {
    /// Checks values that types alone do not (keys are read later, by the clients).
    pub fn validate(&self) -> Result<()> {
        for (name, p) in &self.providers {
            if name.is_empty()
                || name == "none"
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(RiskError::Invalid(format!(
                    "risk.providers: {name:?} is not a usable name (letters, digits, '_', '-'; not \"none\")"
                )));
            }
            p.validate(name)?;
        }
        if let Some(d) = &self.default_provider
            && !self.providers.contains_key(d)
        {
            return Err(RiskError::Invalid(format!(
                "risk.default_provider {d:?} is not among risk.providers"
            )));
        }
        if self
            .daily_cost_budget_usd
            .is_some_and(|c| c.is_nan() || c < 0.0)
        {
            return Err(RiskError::Invalid(
                "risk.daily_cost_budget_usd cannot be negative".into(),
            ));
        }
        if self.window_days == 0 || self.window_days > 366 {
            return Err(RiskError::Invalid(
                "risk.window_days must be between 1 and 366".into(),
            ));
        }
        if self.max_events == 0 || self.max_events > 1000 {
            return Err(RiskError::Invalid(
                "risk.max_events must be between 1 and 1000".into(),
            ));
        }
        if self.max_prompt_bytes < 1024 || self.max_prompt_bytes > 4 << 20 {
            return Err(RiskError::Invalid(
                "risk.max_prompt_bytes must be between 1024 and 4194304".into(),
            ));
        }
        if self.alert_threshold.is_some_and(|t| t > 100) || self.alert_rise.is_some_and(|t| t > 100)
        {
            return Err(RiskError::Invalid(
                "risk.alert_threshold and risk.alert_rise are at most 100".into(),
            ));
        }
        crate::prompt::redact::Redactor::new(self.redact_defaults, &self.redact)?;
        Ok(())
    }
}
