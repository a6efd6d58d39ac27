//! What each provider's requests and answers look like on the wire.

use super::config::{ProviderConfig, ProviderKind};
use super::{ChatRequest, ChatResponse};
use serde_json::{Value, json};

/// The URL path for a provider, appended to its base URL.
pub(crate) fn url(cfg: &ProviderConfig) -> String {
    let base = cfg.base_url.trim_end_matches('/');
    match cfg.kind {
        ProviderKind::Openai => format!("{base}/chat/completions"),
        ProviderKind::Anthropic => format!("{base}/v1/messages"),
        ProviderKind::Ollama => format!("{base}/api/chat"),
    }
}

/// The JSON body of a request.
pub(crate) fn body(cfg: &ProviderConfig, req: &ChatRequest, stream: bool) -> Value {
    let max_tokens = req.max_tokens.unwrap_or(cfg.max_tokens);
    match cfg.kind {
        ProviderKind::Openai => {
            let mut b = json!({
                "model": cfg.model,
                "messages": [
                    {"role": "system", "content": req.system},
                    {"role": "user", "content": req.user},
                ],
                "max_tokens": max_tokens,
                "temperature": cfg.temperature,
                "stream": stream,
            });
            if req.json {
                b["response_format"] = json!({"type": "json_object"});
            }
            if stream {
                b["stream_options"] = json!({"include_usage": true});
            }
            b
        }
        ProviderKind::Anthropic => json!({
            "model": cfg.model,
            "system": req.system,
            "messages": [{"role": "user", "content": req.user}],
            "max_tokens": max_tokens,
            "temperature": cfg.temperature,
            "stream": stream,
        }),
        ProviderKind::Ollama => {
            let mut b = json!({
                "model": cfg.model,
                "messages": [
                    {"role": "system", "content": req.system},
                    {"role": "user", "content": req.user},
                ],
                "stream": stream,
                "options": {"temperature": cfg.temperature, "num_predict": max_tokens},
            });
            if req.json {
                b["format"] = json!("json");
            }
            b
        }
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn text_of(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("answer has no {what}"))
}

/// Parses a complete (non-streamed) answer.
pub(crate) fn parse_full(kind: ProviderKind, body: &[u8]) -> Result<ChatResponse, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON answer: {e}"))?;
    if let Some(err) = v.get("error") {
        return Err(format!("provider error: {}", short(err)));
    }
    let model = v["model"].as_str().unwrap_or_default().to_owned();
    match kind {
        ProviderKind::Openai => {
            let choice = &v["choices"][0];
            Ok(ChatResponse {
                text: text_of(&choice["message"]["content"], "choices[0].message.content")?,
                prompt_tokens: u(&v["usage"]["prompt_tokens"]),
                completion_tokens: u(&v["usage"]["completion_tokens"]),
                model,
                finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
            })
        }
        ProviderKind::Anthropic => {
            let blocks = v["content"]
                .as_array()
                .ok_or_else(|| "answer has no content array".to_owned())?;
            let text: String = blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect();
            Ok(ChatResponse {
                text,
                prompt_tokens: u(&v["usage"]["input_tokens"]),
                completion_tokens: u(&v["usage"]["output_tokens"]),
                model,
                finish_reason: v["stop_reason"].as_str().map(str::to_owned),
            })
        }
        ProviderKind::Ollama => Ok(ChatResponse {
            text: text_of(&v["message"]["content"], "message.content")?,
            prompt_tokens: u(&v["prompt_eval_count"]),
            completion_tokens: u(&v["eval_count"]),
            model,
            finish_reason: v["done_reason"].as_str().map(str::to_owned),
        }),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| other.to_string()),
    };
    s.chars().take(300).collect()
}

/// What a streamed answer has said so far.
#[derive(Debug, Default)]
pub(crate) struct StreamAcc {
    pub(crate) resp: ChatResponse,
    pub(crate) done: bool,
}

impl StreamAcc {
    /// One SSE event (OpenAI, Anthropic).
    pub(crate) fn sse(
        &mut self,
        kind: ProviderKind,
        event: Option<&str>,
        data: &str,
    ) -> Result<(), String> {
        if kind == ProviderKind::Openai && data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| format!("malformed stream event: {e}"))?;
        if let Some(err) = v.get("error") {
            return Err(format!("provider error: {}", short(err)));
        }
        match kind {
            ProviderKind::Openai => {
                if let Some(m) = v["model"].as_str() {
                    self.resp.model = m.to_owned();
                }
                if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                    self.resp.text.push_str(c);
                }
                if let Some(r) = v["choices"][0]["finish_reason"].as_str() {
                    self.resp.finish_reason = Some(r.to_owned());
                }
                if v["usage"].is_object() {
                    self.resp.prompt_tokens = u(&v["usage"]["prompt_tokens"]);
                    self.resp.completion_tokens = u(&v["usage"]["completion_tokens"]);
                }
            }
            ProviderKind::Anthropic => {
                let ty = event.or_else(|| v["type"].as_str()).unwrap_or_default();
                match ty {
                    "message_start" => {
                        let m = &v["message"];
                        self.resp.model = m["model"].as_str().unwrap_or_default().to_owned();
                        self.resp.prompt_tokens = u(&m["usage"]["input_tokens"]);
                        self.resp.completion_tokens = u(&m["usage"]["output_tokens"]);
                    }
                    "content_block_delta" => {
                        if let Some(t) = v["delta"]["text"].as_str() {
                            self.resp.text.push_str(t);
                        }
                    }
                    "message_delta" => {
                        if let Some(n) = v["usage"]["output_tokens"].as_u64() {
                            self.resp.completion_tokens = n;
                        }
                        if let Some(r) = v["delta"]["stop_reason"].as_str() {
                            self.resp.finish_reason = Some(r.to_owned());
                        }
                    }
                    "message_stop" => self.done = true,
                    _ => {}
                }
            }
            ProviderKind::Ollama => return Err("ollama does not stream SSE".into()),
        }
        Ok(())
    }

    /// One NDJSON line (Ollama).
    pub(crate) fn ndjson(&mut self, line: &str) -> Result<(), String> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("malformed stream line: {e}"))?;
        if let Some(err) = v.get("error") {
            return Err(format!("provider error: {}", short(err)));
        }
        if let Some(m) = v["model"].as_str() {
            self.resp.model = m.to_owned();
        }
        if let Some(c) = v["message"]["content"].as_str() {
            self.resp.text.push_str(c);
        }
        if v["done"].as_bool() == Some(true) {
            self.done = true;
            self.resp.prompt_tokens = u(&v["prompt_eval_count"]);
            self.resp.completion_tokens = u(&v["eval_count"]);
            self.resp.finish_reason = v["done_reason"].as_str().map(str::to_owned);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_shaped_answers_parse() {
        let o = parse_full(
            ProviderKind::Openai,
            br#"{"id":"c","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
        )
        .expect("openai");
        assert_eq!(
            (o.text.as_str(), o.prompt_tokens, o.completion_tokens),
            ("hi", 9, 2)
        );
        let a = parse_full(
            ProviderKind::Anthropic,
            br#"{"id":"msg","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"h"},{"type":"text","text":"i"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1}}"#,
        )
        .expect("anthropic");
        assert_eq!((a.text.as_str(), a.prompt_tokens), ("hi", 5));
        let l = parse_full(
            ProviderKind::Ollama,
            br#"{"model":"llama3","message":{"role":"assistant","content":"ok"},"done":true,"prompt_eval_count":3,"eval_count":1}"#,
        )
        .expect("ollama");
        assert_eq!((l.text.as_str(), l.completion_tokens), ("ok", 1));
        for bad in [
            &b"{not json"[..],
            b"{}",
            b"{\"choices\":[]}",
            b"{\"error\":{\"message\":\"quota\"}}",
        ] {
            assert!(parse_full(ProviderKind::Openai, bad).is_err());
        }
        assert!(parse_full(ProviderKind::Anthropic, b"{\"content\":3}").is_err());
    }
}
