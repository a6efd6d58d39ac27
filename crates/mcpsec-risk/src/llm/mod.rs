//! One client for three kinds of language-model API: OpenAI-compatible chat completions,
//! Anthropic Messages and Ollama. Timeouts, retries with exponential backoff (a 429's
//! `Retry-After` wins), a concurrency limit per provider, streamed or whole answers, and
//! metrics per call. The API key is only ever put in a request header.

mod config;
mod stream;
mod wire;

pub use config::{ProviderConfig, ProviderKind, Secret};

use crate::error::{Result, RiskError};
use futures_util::StreamExt;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Largest answer body read (whole or streamed).
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A chat request: one system prompt and one user message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// Instructions.
    pub system: String,
    /// The user message (with the fenced data).
    pub user: String,
    /// Ask for a JSON object (OpenAI `response_format`, Ollama `format`).
    pub json: bool,
    /// Overrides the provider's `max_tokens`.
    pub max_tokens: Option<u32>,
}

/// An answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    /// The text of the answer.
    pub text: String,
    /// Input tokens as the provider counted them.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// The model that answered.
    pub model: String,
    /// Why the answer ended (`stop`, `end_turn`, `length`...).
    pub finish_reason: Option<String>,
}

/// A configured provider.
pub struct LlmClient {
    name: String,
    cfg: ProviderConfig,
    key: Option<Secret>,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("name", &self.name)
            .field("kind", &self.cfg.kind)
            .field("base_url", &self.cfg.base_url)
            .field("model", &self.cfg.model)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why one attempt failed, and whether another may succeed.
struct Attempt {
    message: String,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Attempt {
    fn fatal(message: impl Into<String>) -> Self {
        Attempt {
            message: message.into(),
            retry: false,
            retry_after: None,
        }
    }
}

impl LlmClient {
    /// Builds a client; reads the API key now so a missing key fails at start-up.
    pub fn new(name: &str, cfg: ProviderConfig) -> Result<Self> {
        cfg.validate(name)?;
        let key = cfg.load_key(name)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .user_agent(concat!("mcpsec/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RiskError::Provider {
                provider: name.to_owned(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(LlmClient {
            name: name.to_owned(),
            permits: Arc::new(Semaphore::new(cfg.max_concurrency)),
            cfg,
            key,
            http,
        })
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings.
    pub fn config(&self) -> &ProviderConfig {
        &self.cfg
    }

    fn err(&self, message: impl Into<String>) -> RiskError {
        RiskError::Provider {
            provider: self.name.clone(),
            message: message.into(),
        }
    }

    /// Sends a request, retrying what may succeed later, within the concurrency limit.
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| self.err("client is shutting down"))?;
        let labels = [
            ("provider", self.name.clone()),
            ("model", self.cfg.model.clone()),
        ];
        let started = Instant::now();
        let mut attempt = 0u32;
        let result = loop {
            match self.attempt(req).await {
                Ok(r) => break Ok(r),
                Err(a) if a.retry && attempt < self.cfg.max_retries => {
                    let backoff = self
                        .cfg
                        .backoff_ms
                        .saturating_mul(1u64 << attempt.min(20))
                        .min(self.cfg.max_backoff_ms);
                    let wait = a
                        .retry_after
                        .map(|d| d.min(Duration::from_millis(self.cfg.max_backoff_ms)))
                        .unwrap_or(Duration::from_millis(backoff));
                    tracing::warn!(provider = %self.name, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %a.message, "model call failed; retrying");
                    metrics::counter!("mcpsec_llm_retries_total", &labels).increment(1);
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(a) => break Err(self.err(a.message)),
            }
        };
        metrics::histogram!("mcpsec_llm_request_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn attempt(&self, req: &ChatRequest) -> std::result::Result<ChatResponse, Attempt> {
        let stream = self.cfg.stream;
        let mut rb = self
            .http
            .post(wire::url(&self.cfg))
            .json(&wire::body(&self.cfg, req, stream));
        match self.cfg.kind {
            config::ProviderKind::Openai => {
                if let Some(k) = &self.key {
                    rb = match &self.cfg.api_key_header {
                        Some(h) => rb.header(h.as_str(), k.expose()),
                        None => rb.bearer_auth(k.expose()),
                    };
                }
            }
            config::ProviderKind::Anthropic => {
                if let Some(k) = &self.key {
                    rb = rb.header("x-api-key", k.expose());
                }
                rb = rb.header("anthropic-version", self.cfg.anthropic_version.as_str());
            }
            config::ProviderKind::Ollama => {
                if let Some(k) = &self.key {
                    rb = rb.bearer_auth(k.expose());
                }
            }
        }
        if stream {
            rb = rb.header(
                reqwest::header::ACCEPT,
                match self.cfg.kind {
                    config::ProviderKind::Ollama => "application/x-ndjson",
                    _ => "text/event-stream",
                },
            );
        }
        let resp = rb.send().await.map_err(|e| Attempt {
            message: describe(&e),
            retry: true,
            retry_after: None,
        })?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = read_capped(resp, 4096).await.unwrap_or_default();
            let detail: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            let retry = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT
                || status.is_server_error()
                || status.as_u16() == 529;
            return Err(Attempt {
                message: format!("HTTP {status}: {detail}"),
                retry,
                retry_after,
            });
        }
        if !stream {
            let body = read_capped(resp, MAX_ANSWER_BYTES)
                .await
                .map_err(|m| Attempt {
                    retry: m.1,
                    ..Attempt::fatal(m.0)
                })?;
            return wire::parse_full(self.cfg.kind, &body).map_err(Attempt::fatal);
        }
        self.read_stream(resp).await
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
    ) -> std::result::Result<ChatResponse, Attempt> {
        let kind = self.cfg.kind;
        let mut lines = stream::Lines::default();
        let mut sse = stream::Sse::default();
        let mut acc = wire::StreamAcc::default();
        let mut seen = 0usize;
        let mut body = resp.bytes_stream();
        let mut feed = |line: &str, acc: &mut wire::StreamAcc| -> std::result::Result<(), String> {
            if kind == config::ProviderKind::Ollama {
                acc.ndjson(line)
            } else if let Some(ev) = sse.line(line) {
                acc.sse(kind, ev.event.as_deref(), &ev.data)
            } else {
                Ok(())
            }
        };
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Attempt {
                message: format!("stream broke: {}", describe(&e)),
                retry: true,
                retry_after: None,
            })?;
            seen += chunk.len();
            if seen > MAX_ANSWER_BYTES {
                return Err(Attempt::fatal(format!(
                    "streamed answer is larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            for line in lines.push(&chunk) {
                feed(&line, &mut acc).map_err(Attempt::fatal)?;
            }
            if acc.done {
                break;
            }
        }
        if let Some(line) = lines.finish() {
            feed(&line, &mut acc).map_err(Attempt::fatal)?;
        }
        if kind != config::ProviderKind::Ollama
            && let Some(ev) = sse.dispatch()
        {
            acc.sse(kind, ev.event.as_deref(), &ev.data)
                .map_err(Attempt::fatal)?;
        }
        if !acc.done {
            return Err(Attempt {
                message: "stream ended before the answer was complete".into(),
                retry: true,
                retry_after: None,
            });
        }
        Ok(acc.resp)
    }
}

/// A transport error in words, without the URL's query (which could hold a key).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "answer body failed"
    } else {
        "request failed"
    };
    let mut src = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}

/// Reads a body up to `cap` bytes; the error says whether a retry may help.
async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> std::result::Result<Vec<u8>, (String, bool)> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > cap {
                    return Err((format!("answer is larger than {cap} bytes"), false));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err((format!("reading the answer failed: {}", describe(&e)), true)),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
