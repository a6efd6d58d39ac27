//! Jira: create an issue, transition it, comment on it (REST API v2 or v3; basic auth
//! with an API token, or a bearer token when no user is configured).

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use crate::config::Services;
use futures::future::BoxFuture;
use serde_json::{Value, json};

/// The text as the API version wants it: a string (v2) or an ADF document (v3).
pub fn rich_text(version: u8, text: &str) -> Value {
    if version == 2 {
        return Value::String(text.to_owned());
    }
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .map(|p| json!({"type": "paragraph", "content": [{"type": "text", "text": p}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

async fn request(
    call: &ActionCall<'_>,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<crate::action::HttpResponse, ActionError> {
    let s = call.effects.services();
    let base = super::base(&s.jira_url, "jira_url")?;
    let version = s.jira_api_version;
    if version != 2 && version != 3 {
        return Err(ActionError::Input(format!(
            "jira_api_version {version} is not 2 or 3"
        )));
    }
    let token = call.effects.secret(&s.jira_token_secret).await?;
    let auth = match s.jira_user.as_deref().filter(|u| !u.is_empty()) {
        Some(user) => super::basic(user, &token),
        None => format!("Bearer {token}"),
    };
    let url = Services::join(base, &format!("rest/api/{version}/{path}"));
    let req = HttpRequest::json(method, url, body)
        .header("Accept", "application/json")
        .header("Authorization", auth);
    super::send(call, "Jira", req).await
}

fn issue_key(call: &ActionCall<'_>) -> Result<String, ActionError> {
    let k = call.str("issue")?;
    if k.len() > 64 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ActionError::Input(format!(
            "'{k}' is not an issue key or id"
        )));
    }
    Ok(k.to_owned())
}

/// Creates an issue.
pub struct CreateIssue;

impl Action for CreateIssue {
    fn name(&self) -> &'static str {
        "jira.create_issue"
    }
    fn summary(&self) -> &'static str {
        "creates a Jira issue; output: id, key"
    }
    fn required(&self) -> &'static [&'static str] {
        &["project", "summary"]
    }
    fn known(&self) -> &'static [&'static str] {
        &[
            "project",
            "summary",
            "description",
            "issue_type",
            "labels",
            "priority",
        ]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let version = call.effects.services().jira_api_version;
            // The idempotency key travels as a label so a repeated create can be found.
            let mut labels = vec![Value::String(format!(
                "mcpsec-{}",
                &crate::engine::short_hash(call.idempotency_key)
            ))];
            match call.input.get("labels") {
                None | Some(Value::Null) => {}
                Some(Value::Array(a)) => labels.extend(a.iter().cloned()),
                Some(_) => return Err(ActionError::Input("'labels' must be a list".into())),
            }
            let mut fields = json!({
                "project": {"key": call.str("project")?},
                "summary": call.str("summary")?.chars().take(255).collect::<String>(),
                "issuetype": {"name": call.opt_str("issue_type")?.unwrap_or("Task")},
                "labels": labels,
            });
            if let Some(d) = call.opt_str("description")? {
                fields["description"] = rich_text(version, d);
            }
            if let Some(p) = call.opt_str("priority")? {
                fields["priority"] = json!({"name": p});
            }
            let resp = request(&call, "POST", "issue", &json!({"fields": fields})).await?;
            let r = resp.json();
            Ok(json!({"id": r.get("id"), "key": r.get("key"), "self": r.get("self")}))
        })
    }
}

/// Moves an issue through a transition.
pub struct Transition;

impl Action for Transition {
    fn name(&self) -> &'static str {
        "jira.transition"
    }
    fn summary(&self) -> &'static str {
        "applies a transition (by id) to a Jira issue"
    }
    fn required(&self) -> &'static [&'static str] {
        &["issue", "transition"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["issue", "transition"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let key = issue_key(&call)?;
            let id = match call.input.get("transition") {
                Some(Value::Number(n)) => n.to_string(),
                _ => call.str("transition")?.to_owned(),
            };
            let body = json!({"transition": {"id": id}});
            request(&call, "POST", &format!("issue/{key}/transitions"), &body).await?;
            Ok(json!({"issue": key, "transition": id}))
        })
    }
}

/// Adds a comment.
pub struct Comment;

impl Action for Comment {
    fn name(&self) -> &'static str {
        "jira.comment"
    }
    fn summary(&self) -> &'static str {
        "adds a comment to a Jira issue; output: id"
    }
    fn required(&self) -> &'static [&'static str] {
        &["issue", "body"]
    }
    fn known(&self) -> &'static [&'static str] {
        &["issue", "body"]
    }
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let key = issue_key(&call)?;
            let version = call.effects.services().jira_api_version;
            let body = json!({"body": rich_text(version, call.str("body")?)});
            let resp = request(&call, "POST", &format!("issue/{key}/comment"), &body).await?;
            Ok(json!({"issue": key, "id": resp.json().get("id")}))
        })
    }
}
