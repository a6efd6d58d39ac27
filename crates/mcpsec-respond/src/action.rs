//! The action trait and the effects actions have on the world.
//!
//! Key design decision: an action never does I/O itself. It turns its inputs into
//! effects — an HTTP request, a command (argv), an e-mail, an alert update, a secret
//! lookup — and asks [`Effects`] to carry them out. The live engine's effects do it; the
//! simulator's record it and answer with a canned reply, so a dry run walks the exact
//! same code as a real run.

use futures::future::BoxFuture;
use mcpsec_core::TenantId;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The inputs are wrong; retrying cannot help.
    #[error("bad input: {0}")]
    Input(String),
    /// The service answered with an error or could not be reached; retry may help.
    #[error("{0}")]
    Failed(String),
    /// A secret is missing or cannot be read.
    #[error("secret {name}: {reason}")]
    Secret {
        /// The secret's name.
        name: String,
        /// What went wrong (never the value).
        reason: String,
    },
}

impl ActionError {
    /// Whether another attempt could succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, ActionError::Failed(_))
    }
}

/// An HTTP request an action wants sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (UTF-8 text for every built-in action).
    pub body: Option<String>,
}

impl HttpRequest {
    /// A request with a JSON body.
    pub fn json(method: &str, url: String, body: &Value) -> Self {
        HttpRequest {
            method: method.into(),
            url,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body.to_string()),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body as text (bounded).
    pub body: String,
}

impl HttpResponse {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Ok for 2xx, otherwise a failure naming the status and the start of the body.
    pub fn ok(self, what: &str) -> Result<HttpResponse, ActionError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            let snippet: String = self.body.chars().take(300).collect();
            let err = format!("{what} answered {}: {snippet}", self.status);
            if (400..500).contains(&self.status) && self.status != 429 && self.status != 408 {
                Err(ActionError::Input(err))
            } else {
                Err(ActionError::Failed(err))
            }
        }
    }
}

/// A command to run (never through a shell).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Fed on standard input.
    pub stdin: Option<String>,
}

/// An e-mail to send over SMTP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailRequest {
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// `Message-ID` (derived from the idempotency key).
    pub message_id: String,
}

/// A change to an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertUpdate {
    /// The alert's tenant.
    pub tenant: String,
    /// The alert.
    pub alert_id: String,
    /// New status, or `None` to keep it and only add the note.
    pub status: Option<String>,
    /// A note recorded with the change.
    pub note: Option<String>,
    /// Recorded as who made the change.
    pub actor: String,
}

/// What actions may do to the world; live or recorded.
pub trait Effects: Send + Sync {
    /// Sends an HTTP request.
    fn http(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, ActionError>>;
    /// Runs a command; returns its standard output.
    fn command(&self, req: CommandRequest) -> BoxFuture<'_, Result<String, ActionError>>;
    /// Sends an e-mail; returns the server's final reply.
    fn mail(&self, req: MailRequest) -> BoxFuture<'_, Result<String, ActionError>>;
    /// Changes an alert; returns whether it existed.
    fn update_alert(&self, req: AlertUpdate) -> BoxFuture<'_, Result<bool, ActionError>>;
    /// Resolves a host name to addresses.
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<String>, ActionError>>;
    /// Reads a named secret.
    fn secret<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ActionError>>;
    /// Service settings (base URLs, block command, SMTP sender).
    fn services(&self) -> &crate::config::Services;
}

/// One invocation of an action.
pub struct ActionCall<'a> {
    /// Rendered inputs.
    pub input: &'a Map<String, Value>,
    /// Stable across attempts and restarts: run id, step id and item.
    pub idempotency_key: &'a str,
    /// The run's tenant.
    pub tenant: &'a TenantId,
    /// The alert the run is about, if any.
    pub alert_id: Option<&'a str>,
    /// Who the run acts as (recorded on alert changes).
    pub actor: &'a str,
    /// Where the effects go.
    pub effects: &'a dyn Effects,
    /// Limit on this attempt.
    pub timeout: Duration,
}

impl ActionCall<'_> {
    /// A required string input.
    pub fn str(&self, key: &str) -> Result<&str, ActionError> {
        match self.input.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(ActionError::Input(format!("'{key}' is empty"))),
            Some(other) => Err(ActionError::Input(format!(
                "'{key}' must be a string, not {}",
                crate::template::kind(other)
            ))),
            None => Err(ActionError::Input(format!("'{key}' is required"))),
        }
    }

    /// An optional string input.
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, ActionError> {
        match self.input.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.str(key).map(Some),
        }
    }

    /// A string input, else the alert's id (for actions about the run's alert).
    pub fn alert_or(&self, key: &str) -> Result<String, ActionError> {
        match self.opt_str(key)? {
            Some(s) => Ok(s.to_owned()),
            None => self
                .alert_id
                .map(str::to_owned)
                .ok_or_else(|| ActionError::Input(format!("'{key}' is required (no alert)"))),
        }
    }
}

/// An action: turns inputs into effects and their replies into an output.
pub trait Action: Send + Sync {
    /// The name used in playbooks (`slack.post`).
    fn name(&self) -> &'static str;
    /// One line for `mcpsec playbook actions`.
    fn summary(&self) -> &'static str;
    /// Inputs that must be present.
    fn required(&self) -> &'static [&'static str];
    /// Inputs the action knows (required ones included); others are an error.
    fn known(&self) -> &'static [&'static str];
    /// Further static checks of literal (non-template) inputs.
    fn check(&self, _inputs: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }
    /// Runs the action.
    fn run<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, Result<Value, ActionError>>;
}

/// Whether a JSON input is a literal (no template inside), so it can be checked early.
pub fn literal(v: &Value) -> Option<&str> {
    v.as_str()
        .filter(|s| !s.contains("{{") && !s.contains("{%"))
}
