//! `http.request`: a generic webhook, signed with HMAC-SHA256 when a secret is named.
//!
//! Signature: header `X-Mcpsec-Signature: sha256=<hex>` over `<timestamp>.<body>`, with
//! the timestamp (Unix seconds) in `X-Mcpsec-Timestamp`, so receivers can refuse replays.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Mcpsec-Signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Mcpsec-Timestamp";

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Generic HTTP call.
pub struct Webhook;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Action for Webhook {
    fn name(&self) -> &'static str {
        "http.request"
    }
    fn summary(&self) -> &'static str {
        "calls a URL (generic webhook / ticketing), optionally HMAC-SHA256 signed"
    }
    fn required(&self) -> &'static [&'static str] {
        &["url"]
    }
    fn known(&self) -> &'static [&'static str] {
        &[
            "url",
            "method",
            "headers",
            "body",
            "hmac_secret",
            "signature_header",
        ]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        if let Some(m) = inputs.get("method").and_then(crate::action::literal)
            && !METHODS.contains(&m.to_ascii_uppercase().as_str())
        {
            return Err(format!("method '{m}' is not one of {}", METHODS.join(", ")));
        }
        if let Some(u) = inputs.get("url").and_then(crate::action::literal)
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(format!("url '{u}' must start with http:// or https://"));
        }
        Ok(())
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let url = call.str("url")?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ActionError::Input(format!(
                    "url '{url}' must start with http:// or https://"
                )));
            }
            let method = call
                .opt_str("method")?
                .unwrap_or("POST")
                .to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                return Err(ActionError::Input(format!(
                    "method '{method}' is not allowed"
                )));
            }
            let body = match call.input.get("body") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => Some(v.to_string()),
            };
            let mut req = HttpRequest {
                method,
                url: url.to_owned(),
                headers: Vec::new(),
                body,
            };
            if req.body.is_some() {
                let text = matches!(call.input.get("body"), Some(Value::String(_)));
                let ct = if text {
                    "text/plain; charset=utf-8"
                } else {
                    "application/json"
                };
                req.headers.push(("Content-Type".into(), ct.into()));
            }
            match call.input.get("headers") {
                None | Some(Value::Null) => {}
                Some(Value::Object(h)) => {
                    for (k, v) in h {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        if !valid_header_name(k) || v.contains(['\r', '\n']) {
                            return Err(ActionError::Input(format!("header '{k}' is not valid")));
                        }
                        req.headers.push((k.clone(), v));
                    }
                }
                Some(_) => return Err(ActionError::Input("'headers' must be an object".into())),
            }
            req.headers
                .push(("Idempotency-Key".into(), call.idempotency_key.to_owned()));
            if let Some(name) = call.opt_str("hmac_secret")? {
                let secret = call.effects.secret(name).await?;
                let ts = chrono::Utc::now().timestamp();
                let sig = sign(secret.as_bytes(), ts, req.body.as_deref().unwrap_or(""));
                let header = call
                    .opt_str("signature_header")?
                    .unwrap_or(SIGNATURE_HEADER);
                if !valid_header_name(header) {
                    return Err(ActionError::Input(format!(
                        "header '{header}' is not valid"
                    )));
                }
                req.headers.push((TIMESTAMP_HEADER.into(), ts.to_string()));
                req.headers.push((header.to_owned(), sig));
            }
            let resp = super::send(&call, "webhook", req).await?;
            let body = match resp.json() {
                Value::Null => Value::String(resp.body.chars().take(10_000).collect()),
                v => v,
            };
            Ok(json!({"status": resp.status, "body": body}))
        })
    }
}
