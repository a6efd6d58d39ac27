//! The built-in actions, one module each, and the registry that names them.

mod alert;
mod block;
mod edr;
mod email;
mod http;
mod jira;
mod noop;
mod pagerduty;
mod servicenow;
mod slack;
mod teams;

pub use block::{BlockTarget, nft_rules, valid_domain};
pub use email::valid_address;

use crate::action::{Action, ActionCall, ActionError, HttpRequest};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Actions by name.
#[derive(Clone)]
pub struct Registry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// Every built-in action.
    pub fn builtin() -> Self {
        let list: Vec<Arc<dyn Action>> = vec![
            Arc::new(noop::Noop),
            Arc::new(http::Webhook),
            Arc::new(slack::Webhook),
            Arc::new(slack::PostMessage),
            Arc::new(teams::Webhook),
            Arc::new(pagerduty::Event),
            Arc::new(jira::CreateIssue),
            Arc::new(jira::Transition),
            Arc::new(jira::Comment),
            Arc::new(servicenow::Incident),
            Arc::new(block::BlockIp),
            Arc::new(block::BlockDomain),
            Arc::new(edr::IsolateHost),
            Arc::new(edr::DisableUser),
            Arc::new(alert::UpdateAlert),
            Arc::new(email::SendMail),
        ];
        let mut r = Registry {
            actions: BTreeMap::new(),
        };
        for a in list {
            r.register(a);
        }
        r
    }

    /// Adds (or replaces) an action.
    pub fn register(&mut self, action: Arc<dyn Action>) {
        self.actions.insert(action.name(), action);
    }

    /// The action with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(name)
    }

    /// Every action, by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Action>> {
        self.actions.values()
    }

    /// The names, for messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.actions.keys().copied().collect()
    }
}

/// Percent-encodes one path segment or query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends a request through the effects and checks for a 2xx reply.
async fn send(
    call: &ActionCall<'_>,
    what: &str,
    req: HttpRequest,
) -> Result<crate::action::HttpResponse, ActionError> {
    call.effects.http(req).await?.ok(what)
}

/// A required base URL from the service settings.
fn base<'a>(v: &'a Option<String>, key: &str) -> Result<&'a str, ActionError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ActionError::Input(format!("[respond.services] {key} is not configured")))
}

/// `Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
