//! Provider settings and the API key they read (never printed).

use crate::error::{Result, RiskError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible `POST {base_url}/chat/completions` (OpenAI, Azure OpenAI's v1
    /// API, vLLM, llama.cpp server, LM Studio...).
    Openai,
    /// Anthropic Messages `POST {base_url}/v1/messages`.
    Anthropic,
    /// Ollama `POST {base_url}/api/chat`.
    Ollama,
}

impl ProviderKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Ollama => "ollama",
        }
    }
}

/// One configured provider (`[risk.providers.NAME]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `openai`, `anthropic` or `ollama`.
    pub kind: ProviderKind,
    /// Base URL: `https://api.openai.com/v1`, `https://api.anthropic.com`,
    /// `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// File holding the API key (first line; e.g. a mounted secret).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Header carrying the key for `openai` providers: unset sends
    /// `Authorization: Bearer KEY`; Azure OpenAI wants `api-key`.
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// Whole-request timeout in seconds (streaming included).
    #[serde(default = "d_timeout")]
    pub timeout_secs: u64,
    /// Connection timeout in seconds.
    #[serde(default = "d_connect")]
    pub connect_timeout_secs: u64,
    /// Retries after a failed attempt (connection error, timeout, 429, 5xx).
    #[serde(default = "d_retries")]
    pub max_retries: u32,
    /// First backoff in milliseconds; doubles on each retry. A 429's `Retry-After` wins.
    #[serde(default = "d_backoff")]
    pub backoff_ms: u64,
    /// Longest wait between attempts in milliseconds (also caps `Retry-After`).
    #[serde(default = "d_backoff_max")]
    pub max_backoff_ms: u64,
    /// Requests in flight at once to this provider.
    #[serde(default = "d_concurrency")]
    pub max_concurrency: usize,
    /// Ask for a streamed answer (SSE for openai/anthropic, NDJSON for ollama).
    #[serde(default)]
    pub stream: bool,
    /// Most tokens of an answer.
    #[serde(default = "d_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: f64,
    /// Price of a million input tokens (for cost records and budgets).
    #[serde(default)]
    pub input_price_per_mtok: f64,
    /// Price of a million output tokens.
    #[serde(default)]
    pub output_price_per_mtok: f64,
    /// `anthropic-version` header.
    #[serde(default = "d_anthropic_version")]
    pub anthropic_version: String,
}

fn d_timeout() -> u64 {
    60
}
fn d_connect() -> u64 {
    10
}
fn d_retries() -> u32 {
    2
}
fn d_backoff() -> u64 {
    500
}
fn d_backoff_max() -> u64 {
    30_000
}
fn d_concurrency() -> usize {
    4
}
fn d_max_tokens() -> u32 {
    1024
}
fn d_anthropic_version() -> String {
    "2023-06-01".into()
}

impl ProviderConfig {
    /// A provider with default settings.
    pub fn new(kind: ProviderKind, base_url: &str, model: &str) -> Self {
        ProviderConfig {
            kind,
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            api_key_file: None,
            api_key_header: None,
            timeout_secs: d_timeout(),
            connect_timeout_secs: d_connect(),
            max_retries: d_retries(),
            backoff_ms: d_backoff(),
            max_backoff_ms: d_backoff_max(),
            max_concurrency: d_concurrency(),
            stream: false,
            max_tokens: d_max_tokens(),
            temperature: 0.0,
            input_price_per_mtok: 0.0,
            output_price_per_mtok: 0.0,
            anthropic_version: d_anthropic_version(),
        }
    }

    /// Checks the values; `name` is used in messages.
    pub fn validate(&self, name: &str) -> Result<()> {
        let bad = |m: String| Err(RiskError::Invalid(format!("risk.providers.{name}: {m}")));
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(format!(
                "base_url {:?} must start with http:// or https://",
                self.base_url
            ));
        }
        if self.model.trim().is_empty() {
            return bad("model is empty".into());
        }
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return bad("timeouts must be above 0".into());
        }
        if self.max_concurrency == 0 || self.max_concurrency > 1024 {
            return bad("max_concurrency must be between 1 and 1024".into());
        }
        if self.max_retries > 10 {
            return bad("max_retries is at most 10".into());
        }
        if self.max_tokens == 0 {
            return bad("max_tokens must be above 0".into());
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return bad("temperature must be between 0 and 2".into());
        }
        if self.input_price_per_mtok < 0.0 || self.output_price_per_mtok < 0.0 {
            return bad("prices cannot be negative".into());
        }
        if self.api_key_env.is_some() && self.api_key_file.is_some() {
            return bad("set api_key_env or api_key_file, not both".into());
        }
        if let Some(h) = &self.api_key_header
            && (h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return bad(format!("api_key_header {h:?} is not a header name"));
        }
        Ok(())
    }

    /// Reads the API key from the configured variable or file; `None` when neither is
    /// set (Ollama, local servers).
    pub fn load_key(&self, name: &str) -> Result<Option<Secret>> {
        if let Some(var) = &self.api_key_env {
            let v = std::env::var(var).map_err(|_| {
                RiskError::Invalid(format!(
                    "risk.providers.{name}: environment variable {var} (api_key_env) is not set"
                ))
            })?;
            return Secret::new(v.trim()).map(Some).ok_or_else(|| {
                RiskError::Invalid(format!("risk.providers.{name}: {var} is empty"))
            });
        }
        if let Some(path) = &self.api_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                RiskError::io(
                    format!(
                        "risk.providers.{name}: cannot read api_key_file {}",
                        path.display()
                    ),
                    e,
                )
            })?;
            let first = text.lines().next().unwrap_or("").trim();
            return Secret::new(first).map(Some).ok_or_else(|| {
                RiskError::Invalid(format!(
                    "risk.providers.{name}: api_key_file {} is empty",
                    path.display()
                ))
            });
        }
        Ok(None)
    }

    /// Cost of a call from the configured prices.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_price_per_mtok
            + completion_tokens as f64 * self.output_price_per_mtok)
            / 1_000_000.0
    }
}

/// An API key. `Debug` and `Display` print `***`; the value is only read to build a
/// request header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a non-empty key without control characters.
    pub fn new(s: &str) -> Option<Self> {
        (!s.is_empty() && !s.chars().any(char::is_control)).then(|| Secret(s.to_owned()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_a_file_and_never_print() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("key");
        std::fs::write(&p, "sk-very-secret-value\nignored\n").expect("write");
        let mut c = ProviderConfig::new(ProviderKind::Openai, "http://127.0.0.1:1/v1", "m");
        c.api_key_file = Some(p.clone());
        let k = c.load_key("p").expect("load").expect("some");
        assert_eq!(k.expose(), "sk-very-secret-value");
        assert!(!format!("{k:?} {k}").contains("secret"));
        std::fs::write(&p, "\n").expect("write");
        assert!(c.load_key("p").is_err());
        c.api_key_file = Some(dir.path().join("missing"));
        assert!(c.load_key("p").is_err());
        c.api_key_file = None;
        c.api_key_env = Some("MCPSEC_TEST_SURELY_UNSET_VARIABLE".into());
        let e = c.load_key("p").expect_err("unset").to_string();
        assert!(e.contains("MCPSEC_TEST_SURELY_UNSET_VARIABLE"), "{e}");
    }

    #[test]
    fn bad_settings_are_named() {
        let ok = ProviderConfig::new(ProviderKind::Ollama, "http://127.0.0.1:11434", "llama3");
        ok.validate("local").expect("valid");
        let mut c = ok.clone();
        c.base_url = "ftp://x".into();
        assert!(
            c.validate("x")
                .expect_err("url")
                .to_string()
                .contains("risk.providers.x")
        );
        let mut c = ok.clone();
        c.max_concurrency = 0;
        assert!(c.validate("x").is_err());
        let mut c = ok.clone();
        c.api_key_header = Some("bad header".into());
        assert!(c.validate("x").is_err());
        let mut c = ok;
        c.temperature = 9.0;
        assert!(c.validate("x").is_err());
    }
}
