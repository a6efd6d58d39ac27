//! Slack: incoming webhooks and `chat.postMessage` with a bot token.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use crate::config::Services;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

fn message(call: &ActionCall<'_>) -> Result<Map<String, Value>, ActionError> {
    let mut m = Map::new();
    m.insert("text".into(), Value::String(call.str("text")?.to_owned()));
    if let Some(b) = call.input.get("blocks").filter(|b| !b.is_null()) {
        if !b.is_array() {
            return Err(ActionError::Input("'blocks' must be a list".into()));
        }
        m.insert("blocks".into(), b.clone());
    }
    Ok(m)
}

/// Posts to an incoming webhook (its URL is a secret).
pub struct Webhook;

impl Action for Webhook {
    fn name(&self) -> &'static str {
        "slack.webhook"
    }
    fn summary(&self) -> &'static str {
        "posts a message to a Slack incoming webhook (URL from a secret)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["url_secret", "text"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["url_secret", "text", "blocks"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let url = call.effects.secret(call.str("url_secret")?).await?;
            let body = Value::Object(message(&call)?);
            let req = HttpRequest::json("POST", url, &body);
            let resp = super::send(&call, "Slack webhook", req).await?;
            Ok(
                json!({"status": resp.status, "reply": resp.body.chars().take(200).collect::<String>()}),
            )
        })
    }
}

/// `chat.postMessage`.
pub struct PostMessage;

impl Action for PostMessage {
    fn name(&self) -> &'static str {
        "slack.post"
    }
    fn summary(&self) -> &'static str {
        "posts a message with chat.postMessage (bot token from a secret)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["channel", "text"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["channel", "text", "blocks", "thread_ts", "token_secret"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let token = call
                .effects
                .secret(call.opt_str("token_secret")?.unwrap_or("slack_token"))
                .await?;
            let mut body = message(&call)?;
            body.insert(
                "channel".into(),
                Value::String(call.str("channel")?.to_owned()),
            );
            if let Some(t) = call.opt_str("thread_ts")? {
                body.insert("thread_ts".into(), Value::String(t.to_owned()));
            }
            let url = Services::join(&call.effects.services().slack_api, "chat.postMessage");
            let mut req = HttpRequest::json("POST", url, &Value::Object(body))
                .header("Authorization", format!("Bearer {token}"));
            req.headers[0].1 = "application/json; charset=utf-8".into();
            let resp = super::send(&call, "Slack", req).await?;
            let reply = resp.json();
            if reply.get("ok") != Some(&Value::Bool(true)) {
                let error = reply
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no reply");
                let msg = format!("Slack refused the message: {error}");
                return Err(if error == "ratelimited" {
                    ActionError::Failed(msg)
                } else {
                    ActionError::Input(msg)
                });
            }
            Ok(json!({"channel": reply.get("channel"), "ts": reply.get("ts")}))
        })
    }
}
