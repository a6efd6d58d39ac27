//! Authorization: roles (RBAC) and, optionally, Rego policies (ABAC) evaluated in-process
//! with regorus. Deny by default: an action is allowed only when the caller's role grants
//! it **and**, if a policy is configured, `data.mcpsec.allow` is true for the input
//!
//! ```json
//! {"subject": {"id": "...", "role": "analyst", "tenant": "acme", "scopes": []},
//!  "action": "events.read",
//!  "resource": {"kind": "events", "id": null},
//!  "tenant": "acme",
//!  "attributes": {"method": "GET", "path": "/api/v1/events", "transport": "http"}}
//! ```

use crate::{ApiError, Principal};
use mcpsec_core::ErrorCode;
use std::collections::HashMap;
use std::sync::Mutex;

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Search and read events.
    EventsRead,
    /// Ingest events.
    EventsWrite,
    /// Read the audit log.
    AuditRead,
    /// List and read alerts.
    AlertsRead,
    /// Change alert status.
    AlertsWrite,
    /// List and read rules, validate and backtest.
    RulesRead,
    /// Create, change, delete, switch and reload rules.
    RulesWrite,
    /// List report jobs and download finished reports.
    ReportsRead,
    /// Queue and delete report jobs; make and revoke share links.
    ReportsWrite,
    /// List and read playbooks, runs and approval requests.
    PlaybooksRead,
    /// Deploy and change playbooks.
    PlaybooksWrite,
    /// Start a playbook by hand.
    PlaybooksRun,
    /// Approve or reject a step waiting for approval.
    ApprovalsDecide,
    /// Read risk scores, the asset inventory, trends and model call records.
    RiskRead,
    /// Assess an alert (may call a language model).
    RiskAssess,
    /// Load or replace the asset inventory.
    RiskWrite,
    /// List projects, their SBOM versions, findings and diffs; read the vulnerability
    /// database's status.
    ProjectsRead,
    /// Create and delete projects, upload SBOMs, lockfiles and VEX documents.
    ProjectsWrite,
    /// Re-evaluate every stored SBOM against the vulnerability database now.
    VulndbAdmin,
    /// Look up vulnerabilities and scan SBOM or lockfile texts against the database.
    VulnsRead,
}

impl Action {
    /// Every action, in the order `GET /api/v1/me` lists them.
    pub const ALL: &[Action] = &[
        Action::EventsRead,
        Action::EventsWrite,
        Action::AuditRead,
        Action::AlertsRead,
        Action::AlertsWrite,
        Action::RulesRead,
        Action::RulesWrite,
        Action::ReportsRead,
        Action::ReportsWrite,
        Action::PlaybooksRead,
        Action::PlaybooksWrite,
        Action::PlaybooksRun,
        Action::ApprovalsDecide,
        Action::RiskRead,
        Action::RiskAssess,
        Action::RiskWrite,
        Action::ProjectsRead,
        Action::ProjectsWrite,
        Action::VulndbAdmin,
        Action::VulnsRead,
    ];

    /// The name used in role tables and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::EventsRead => "events.read",
            Action::EventsWrite => "events.write",
            Action::AuditRead => "audit.read",
            Action::AlertsRead => "alerts.read",
            Action::AlertsWrite => "alerts.write",
            Action::RulesRead => "rules.read",
            Action::RulesWrite => "rules.write",
            Action::ReportsRead => "reports.read",
            Action::ReportsWrite => "reports.write",
            Action::PlaybooksRead => "playbooks.read",
            Action::PlaybooksWrite => "playbooks.write",
            Action::PlaybooksRun => "playbooks.run",
            Action::ApprovalsDecide => "approvals.decide",
            Action::RiskRead => "risk.read",
            Action::RiskAssess => "risk.assess",
            Action::RiskWrite => "risk.write",
            Action::ProjectsRead => "projects.read",
            Action::ProjectsWrite => "projects.write",
            Action::VulndbAdmin => "vulndb.admin",
            Action::VulnsRead => "vulns.read",
        }
    }
}

/// The built-in roles and what they may do (`*` = everything).
pub fn builtin_roles() -> HashMap<String, Vec<String>> {
    let r = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    HashMap::from([
        ("admin".to_string(), r(&["*"])),
        (
            "analyst".to_string(),
            r(&[
                "events.read",
                "events.write",
                "alerts.*",
                "rules.*",
                "reports.*",
                "playbooks.read",
                "risk.*",
                "projects.*",
                "vulns.read",
            ]),
        ),
        (
            "responder".to_string(),
            r(&[
                "events.read",
                "alerts.*",
                "playbooks.*",
                "approvals.*",
                "reports.read",
                "risk.read",
                "projects.read",
                "risk.assess",
                "vulns.read",
            ]),
        ),
        (
            "viewer".to_string(),
            r(&[
                "events.read",
                "alerts.read",
                "reports.read",
                "risk.read",
                "projects.read",
                "vulns.read",
            ]),
        ),
        (
            "auditor".to_string(),
            r(&["events.read", "audit.read", "reports.read"]),
        ),
    ])
}

fn grants(patterns: &[String], action: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == action
            || p.strip_suffix(".*")
                .is_some_and(|prefix| action.starts_with(&format!("{prefix}.")))
    })
}

/// Request context for a decision.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// `http`, `graphql`, `grpc`, `mcp`.
    pub transport: &'static str,
    /// HTTP method or RPC name.
    pub method: String,
    /// Path or service name.
    pub path: String,
    /// Resource id, when the request names one.
    pub resource_id: Option<String>,
}

/// Decides whether a principal may do an action.
pub struct Authorizer {
    roles: HashMap<String, Vec<String>>,
    policy: Option<Mutex<regorus::Engine>>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("roles", &self.roles)
            .field("policy", &self.policy.is_some())
            .finish()
    }
}

impl Authorizer {
    /// Built-in roles plus `custom` ones (which may also replace a built-in), and an
    /// optional Rego policy text (`package mcpsec`, rule `allow`).
    pub fn new(
        custom: HashMap<String, Vec<String>>,
        policy: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        let mut roles = builtin_roles();
        roles.extend(custom);
        let policy = match policy {
            None => None,
            Some((name, text)) => {
                let mut engine = regorus::Engine::new();
                engine
                    .add_policy(name.to_owned(), text.to_owned())
                    .map_err(|e| format!("policy {name}: {e}"))?;
                Some(Mutex::new(engine))
            }
        };
        Ok(Authorizer { roles, policy })
    }

    /// Allowed, or a 403 naming what was missing.
    pub fn check(
        &self,
        who: &Principal,
        action: Action,
        attrs: &Attributes,
    ) -> Result<(), ApiError> {
        let by_role = self
            .roles
            .get(&who.role)
            .is_some_and(|p| grants(p, action.as_str()));
        if !by_role {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("role {} may not {}", who.role, action.as_str()),
            ));
        }
        if !who.scopes.is_empty() && !grants(&who.scopes, action.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "this key's scopes ({}) do not include {}",
                    who.scopes.join(", "),
                    action.as_str()
                ),
            ));
        }
        let Some(engine) = &self.policy else {
            return Ok(());
        };
        let input = serde_json::json!({
            "subject": {"id": who.key_id, "role": who.role, "tenant": who.tenant.as_str(), "scopes": who.scopes},
            "action": action.as_str(),
            "resource": {"kind": action.as_str().split('.').next().unwrap_or(""), "id": attrs.resource_id},
            "tenant": who.tenant.as_str(),
            "attributes": {"method": attrs.method, "path": attrs.path, "transport": attrs.transport},
        });
        let allowed = {
            let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
            regorus::Value::from_json_str(&input.to_string())
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    e.set_input(v);
                    e.eval_rule("data.mcpsec.allow".to_owned())
                        .map_err(|e| e.to_string())
                })
        };
        match allowed {
            Ok(v) if v == regorus::Value::from(true) => Ok(()),
            Ok(_) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("policy denies {} to {}", action.as_str(), who.key_id),
            )),
            Err(e) => {
                tracing::error!(error = %e, "policy evaluation failed; denying");
                Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "policy evaluation failed; denied",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_core::TenantId;

    #[test]
    fn all_lists_each_action_once_and_covers_every_role_pattern() {
        let names: std::collections::HashSet<&str> =
            Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len(), "an action is listed twice");
        for (role, patterns) in builtin_roles() {
            for p in patterns.iter().filter(|p| *p != "*") {
                match p.strip_suffix(".*") {
                    Some(area) => assert!(
                        names.iter().any(|n| n.starts_with(&format!("{area}."))),
                        "role {role}: {p} grants no action listed in Action::ALL"
                    ),
                    None => assert!(
                        names.contains(p.as_str()),
                        "role {role}: {p} is missing from Action::ALL (GET /api/v1/me)"
                    ),
                }
            }
        }
    }

    fn who(role: &str, tenant: &str) -> Principal {
        Principal {
            key_id: "k".into(),
            tenant: TenantId::new(tenant).expect("t"),
            role: role.into(),
            scopes: Vec::new(),
        }
    }

    #[test]
    fn a_scoped_key_gets_no_more_than_its_scopes_and_its_role() {
        let a = Authorizer::new(Default::default(), None).expect("authz");
        let mut ingest_only = who("analyst", "acme");
        ingest_only.scopes = vec!["events.write".into()];
        let attrs = Attributes::default();
        assert!(a.check(&ingest_only, Action::EventsWrite, &attrs).is_ok());
        let e = a
            .check(&ingest_only, Action::EventsRead, &attrs)
            .expect_err("search is outside the scope");
        assert!(e.message.contains("scope"), "{}", e.message);
        let mut wide = who("viewer", "acme");
        wide.scopes = vec!["alerts.*".into()];
        assert!(a.check(&wide, Action::AlertsRead, &attrs).is_ok());
        assert!(
            a.check(&wide, Action::AlertsWrite, &attrs).is_err(),
            "a scope never widens the role"
        );
    }

    #[test]
    fn roles_grant_and_deny_by_default() {
        let a = Authorizer::new(HashMap::new(), None).expect("authz");
        let attrs = Attributes::default();
        assert!(
            a.check(&who("viewer", "t"), Action::EventsRead, &attrs)
                .is_ok()
        );
        assert!(
            a.check(&who("viewer", "t"), Action::EventsWrite, &attrs)
                .is_err()
        );
        assert!(
            a.check(&who("auditor", "t"), Action::AuditRead, &attrs)
                .is_ok()
        );
        assert!(
            a.check(&who("admin", "t"), Action::AuditRead, &attrs)
                .is_ok()
        );
        assert!(
            a.check(&who("nobody", "t"), Action::EventsRead, &attrs)
                .is_err(),
            "unknown role"
        );
        for role in ["admin", "analyst", "responder", "viewer"] {
            assert!(a.check(&who(role, "t"), Action::VulnsRead, &attrs).is_ok());
        }
        assert!(
            a.check(&who("auditor", "t"), Action::VulnsRead, &attrs)
                .is_err()
        );
        let custom = HashMap::from([("ingester".to_string(), vec!["events.write".to_string()])]);
        let a = Authorizer::new(custom, None).expect("authz");
        assert!(
            a.check(&who("ingester", "t"), Action::EventsWrite, &attrs)
                .is_ok()
        );
        assert!(
            a.check(&who("ingester", "t"), Action::EventsRead, &attrs)
                .is_err()
        );
    }

    #[test]
    fn rego_policy_narrows_what_roles_allow() {
        let policy = r#"
package mcpsec
import rego.v1
default allow := false
allow if input.tenant != "frozen"
allow if { input.tenant == "frozen"; input.action == "events.read" }
"#;
        let a = Authorizer::new(HashMap::new(), Some(("p.rego", policy))).expect("authz");
        let attrs = Attributes {
            transport: "http",
            method: "POST".into(),
            path: "/api/v1/events".into(),
            resource_id: None,
        };
        assert!(
            a.check(&who("analyst", "live"), Action::EventsWrite, &attrs)
                .is_ok()
        );
        assert!(
            a.check(&who("analyst", "frozen"), Action::EventsWrite, &attrs)
                .is_err()
        );
        assert!(
            a.check(&who("analyst", "frozen"), Action::EventsRead, &attrs)
                .is_ok()
        );
        assert!(
            Authorizer::new(
                HashMap::new(),
                Some(("bad.rego", "package mcpsec\nallow if {"))
            )
            .is_err()
        );
    }
}
