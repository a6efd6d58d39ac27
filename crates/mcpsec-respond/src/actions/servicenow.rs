//! ServiceNow: create an incident through the Table API.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use crate::config::Services;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// `POST /api/now/table/incident`.
pub struct Incident;

const FIELDS: [&str; 7] = [
    "short_description",
    "description",
    "urgency",
    "impact",
    "category",
    "assignment_group",
    "caller_id",
];

impl Action for Incident {
    fn name(&self) -> &'static str {
        "servicenow.incident"
    }
    fn summary(&self) -> &'static str {
        "creates a ServiceNow incident (Table API); output: sys_id, number"
    }
    fn required(&self) -> &'static [&'static str] {
        &["short_description"]
    }
    fn known(&self) -> &'static [&'static str] {
        &[
            "short_description",
            "description",
            "urgency",
            "impact",
            "category",
            "assignment_group",
            "caller_id",
        ]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let s = call.effects.services();
            let base = super::base(&s.servicenow_url, "servicenow_url")?;
            let user = super::base(&s.servicenow_user, "servicenow_user")?;
            let password = call.effects.secret(&s.servicenow_password_secret).await?;
            let mut body = Map::new();
            for f in FIELDS {
                match call.input.get(f) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(v)) => {
                        body.insert(f.into(), Value::String(v.clone()));
                    }
                    Some(Value::Number(n)) => {
                        body.insert(f.into(), Value::String(n.to_string()));
                    }
                    Some(_) => return Err(ActionError::Input(format!("'{f}' must be text"))),
                }
            }
            // The idempotency key as correlation_id lets a repeat be recognised.
            body.insert(
                "correlation_id".into(),
                Value::String(call.idempotency_key.to_owned()),
            );
            body.insert("correlation_display".into(), Value::String("mcpsec".into()));
            let url = Services::join(base, "api/now/table/incident");
            let req = HttpRequest::json("POST", url, &Value::Object(body))
                .header("Accept", "application/json")
                .header("Authorization", super::basic(user, &password));
            let resp = super::send(&call, "ServiceNow", req).await?;
            let r = resp.json();
            let result = r.get("result").cloned().unwrap_or(Value::Null);
            Ok(json!({"sys_id": result.get("sys_id"), "number": result.get("number")}))
        })
    }
}
