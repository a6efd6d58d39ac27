//! Containment through an EDR or identity provider's HTTP API: isolate a host, disable
//! a user. The URL is a template in the configuration (`{{ host }}` / `{{ user }}`,
//! percent-encoded); the call is a POST with a bearer token.

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use futures::future::BoxFuture;
use serde_json::{Value, json};

fn check_name(what: &str, v: &str) -> Result<(), ActionError> {
    if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(ActionError::Input(format!("'{v}' is not a valid {what}")));
    }
    Ok(())
}

async fn call_api(
    call: &ActionCall<'_>,
    template: &Option<String>,
    setting: &str,
    token_secret: &str,
    placeholder: &str,
    value: &str,
    body: Value,
) -> Result<Value, ActionError> {
    let template = super::base(template, setting)?;
    if !template.contains(placeholder) {
        return Err(ActionError::Input(format!(
            "{setting} has no {placeholder}"
        )));
    }
    let url = template.replace(placeholder, &super::url_encode(value));
    let token = call.effects.secret(token_secret).await?;
    let req = HttpRequest::json("POST", url, &body)
        .header("Authorization", format!("Bearer {token}"))
        .header("Idempotency-Key", call.idempotency_key);
    let resp = super::send(call, setting, req).await?;
    Ok(json!({"status": resp.status, "reply": resp.json()}))
}

/// Isolates a host.
pub struct IsolateHost;

impl Action for IsolateHost {
    fn name(&self) -> &'static str {
        "edr.isolate_host"
    }
    fn summary(&self) -> &'static str {
        "isolates a host through the configured EDR API (edr_isolate_url)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["host"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["host", "reason"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let host = call.str("host")?;
            if host.len() > 253
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
            {
                return Err(ActionError::Input(format!(
                    "'{host}' is not a host name or address"
                )));
            }
            let s = call.effects.services();
            let body =
                json!({"host": host, "reason": call.opt_str("reason")?, "alert_id": call.alert_id});
            call_api(
                &call,
                &s.edr_isolate_url,
                "edr_isolate_url",
                &s.edr_token_secret,
                "{{ host }}",
                host,
                body,
            )
            .await
        })
    }
}

/// Disables a user account.
pub struct DisableUser;

impl Action for DisableUser {
    fn name(&self) -> &'static str {
        "idp.disable_user"
    }
    fn summary(&self) -> &'static str {
        "disables a user through the configured identity-provider API (idp_disable_url)"
    }
    fn required(&self) -> &'static [&'static str] {
        &["user"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["user", "reason"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let user = call.str("user")?;
            check_name("user", user)?;
            let s = call.effects.services();
            let body =
                json!({"user": user, "reason": call.opt_str("reason")?, "alert_id": call.alert_id});
            call_api(
                &call,
                &s.idp_disable_url,
                "idp_disable_url",
                &s.idp_token_secret,
                "{{ user }}",
                user,
                body,
            )
            .await
        })
    }
}
