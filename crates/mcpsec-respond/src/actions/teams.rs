//! Microsoft Teams: an Adaptive Card posted to a workflow/incoming webhook.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use futures::future::BoxFuture;
use serde_json::{Value, json};

/// Posts an Adaptive Card.
pub struct Webhook;

/// The message envelope Teams webhooks take: one Adaptive Card attachment.
pub fn card(title: &str, text: &str, facts: &[(String, String)]) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": text, "wrap": true}),
    ];
    if !facts.is_empty() {
        let facts: Vec<Value> = facts
            .iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body
            }
        }]
    })
}

impl Action for Webhook {
    fn name(&self) -> &'static str {
        "teams.webhook"
    }
    fn summary(&self) -> &'static str {
        "posts an Adaptive Card to a Microsoft Teams webhook (URL from a secret)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["url_secret", "title", "text"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["url_secret", "title", "text", "facts"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let url = call.effects.secret(call.str("url_secret")?).await?;
            let facts = match call.input.get("facts") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect(),
                Some(_) => return Err(ActionError::Input("'facts' must be an object".into())),
            };
            let body = card(call.str("title")?, call.str("text")?, &facts);
            let resp = super::send(&call, "Teams", HttpRequest::json("POST", url, &body)).await?;
            Ok(json!({"status": resp.status}))
        })
    }
}
