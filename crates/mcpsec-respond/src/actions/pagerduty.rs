//! PagerDuty Events API v2: trigger, acknowledge and resolve, keyed by `dedup_key`.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use crate::config::Services;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// One event to `/v2/enqueue`.
pub struct Event;

const ACTIONS: [&str; 3] = ["trigger", "acknowledge", "resolve"];
const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];

impl Action for Event {
    fn name(&self) -> &'static str {
        "pagerduty.event"
    }
    fn summary(&self) -> &'static str {
        "PagerDuty Events API v2: trigger / acknowledge / resolve with a dedup_key"
    }
    fn required(&self) -> &'static [&'static str] {
        &["event_action"]
    }
    fn known(&self) -> &'static [&'static str] {
        &[
            "event_action",
            "routing_key_secret",
            "dedup_key",
            "summary",
            "source",
            "severity",
            "component",
            "group",
            "class",
            "custom_details",
        ]
    }
    fn check(&self, inputs: &Map<String, Value>) -> Result<(), String> {
        let action = inputs.get("event_action").and_then(crate::action::literal);
        if let Some(a) = action {
            if !ACTIONS.contains(&a) {
                return Err(format!(
                    "event_action '{a}' is not one of {}",
                    ACTIONS.join(", ")
                ));
            }
            if a == "trigger" {
                for k in ["summary", "severity"] {
                    if !inputs.contains_key(k) {
                        return Err(format!("a trigger needs '{k}'"));
                    }
                }
            }
        }
        if let Some(s) = inputs.get("severity").and_then(crate::action::literal)
            && !SEVERITIES.contains(&s)
        {
            return Err(format!(
                "severity '{s}' is not one of {}",
                SEVERITIES.join(", ")
            ));
        }
        Ok(())
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            self.check(call.input).map_err(ActionError::Input)?;
            let action = call.str("event_action")?;
            let key = call
                .effects
                .secret(
                    call.opt_str("routing_key_secret")?
                        .unwrap_or("pagerduty_routing_key"),
                )
                .await?;
            // One incident per alert by default, so a resolve finds its trigger.
            let dedup = match call.opt_str("dedup_key")? {
                Some(d) => d.to_owned(),
                None => match call.alert_id {
                    Some(a) => format!("mcpsec-{a}"),
                    None => call.idempotency_key.to_owned(),
                },
            };
            if action != "trigger"
                && call.input.get("dedup_key").is_none()
                && call.alert_id.is_none()
            {
                return Err(ActionError::Input(format!("{action} needs a dedup_key")));
            }
            let mut body = json!({
                "routing_key": key,
                "event_action": action,
                "dedup_key": dedup,
            });
            if action == "trigger" {
                let mut payload = json!({
                    "summary": call.str("summary")?.chars().take(1024).collect::<String>(),
                    "source": call.opt_str("source")?.unwrap_or("mcpsec"),
                    "severity": call.str("severity")?,
                });
                for k in ["component", "group", "class"] {
                    if let Some(v) = call.opt_str(k)? {
                        payload[k] = Value::String(v.to_owned());
                    }
                }
                if let Some(d) = call.input.get("custom_details").filter(|d| !d.is_null()) {
                    payload["custom_details"] = d.clone();
                }
                body["payload"] = payload;
            }
            let url = Services::join(&call.effects.services().pagerduty_events, "v2/enqueue");
            let resp =
                super::send(&call, "PagerDuty", HttpRequest::json("POST", url, &body)).await?;
            let reply = resp.json();
            Ok(json!({
                "dedup_key": reply.get("dedup_key").cloned().unwrap_or(Value::String(dedup)),
                "status": reply.get("status"),
            }))
        })
    }
}
