//! The `[respond]` configuration: playbook files, secrets and where services live.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[respond]` in the configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// Playbook files or directories (`*.yml`, `*.yaml`) deployed for every tenant.
    pub playbook_paths: Vec<PathBuf>,
    /// Secrets by name: `env:VAR`, `file:/path`, or `vault:<mount>/<path>#<key>`.
    pub secrets: BTreeMap<String, String>,
    /// HashiCorp Vault (KV v2) for `vault:` secrets.
    pub vault: Option<VaultConfig>,
    /// Where services are and how containment is applied.
    pub services: Services,
}

/// A Vault server.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Base address, e.g. `https://vault.example:8200`.
    pub address: String,
    /// Where the token is: `env:VAR` or `file:/path`.
    pub token: String,
    /// Enterprise namespace (`X-Vault-Namespace`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Base URLs and settings of the services actions talk to.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    /// Slack Web API base (`chat.postMessage` is appended).
    pub slack_api: String,
    /// PagerDuty Events API base (`/v2/enqueue` is appended).
    pub pagerduty_events: String,
    /// Jira base URL (e.g. `https://acme.atlassian.net`).
    pub jira_url: Option<String>,
    /// Jira REST API version: 2 or 3.
    pub jira_api_version: u8,
    /// Jira user (e-mail) for basic auth; empty: bearer token.
    pub jira_user: Option<String>,
    /// Secret name of the Jira API token.
    pub jira_token_secret: String,
    /// ServiceNow instance URL (e.g. `https://acme.service-now.com`).
    pub servicenow_url: Option<String>,
    /// ServiceNow user for basic auth.
    pub servicenow_user: Option<String>,
    /// Secret name of the ServiceNow password.
    pub servicenow_password_secret: String,
    /// EDR host isolation: URL template (`{{ host }}` is filled in), POSTed.
    pub edr_isolate_url: Option<String>,
    /// Secret name of the EDR bearer token.
    pub edr_token_secret: String,
    /// IdP user disabling: URL template (`{{ user }}` is filled in), POSTed.
    pub idp_disable_url: Option<String>,
    /// Secret name of the IdP bearer token.
    pub idp_token_secret: String,
    /// Applies nftables rules: argv; the rules are fed on standard input
    /// (e.g. `["sudo", "-n", "/usr/sbin/nft", "-f", "-"]`). Empty: blocking is refused.
    pub block_command: Vec<String>,
    /// The nftables table (family `inet`) holding the block sets.
    pub block_table: String,
    /// SMTP relay host.
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: u16,
    /// Sender address.
    pub smtp_from: String,
    /// SMTP user (AUTH PLAIN); empty: no authentication.
    pub smtp_user: Option<String>,
    /// Secret name of the SMTP password.
    pub smtp_password_secret: String,
    /// Timeout of one HTTP request in seconds.
    pub http_timeout_secs: u64,
    /// A PEM file of CA certificates trusted for the actions' HTTPS besides the system
    /// roots (a private CA of an internal Jira, EDR or webhook receiver).
    pub ca_file: Option<PathBuf>,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            slack_api: "https://slack.com/api".into(),
            pagerduty_events: "https://events.pagerduty.com".into(),
            jira_url: None,
            jira_api_version: 3,
            jira_user: None,
            jira_token_secret: "jira_token".into(),
            servicenow_url: None,
            servicenow_user: None,
            servicenow_password_secret: "servicenow_password".into(),
            edr_isolate_url: None,
            edr_token_secret: "edr_token".into(),
            idp_disable_url: None,
            idp_token_secret: "idp_token".into(),
            block_command: Vec::new(),
            block_table: "mcpsec".into(),
            smtp_host: None,
            smtp_port: 25,
            smtp_from: "mcpsec@localhost".into(),
            smtp_user: None,
            smtp_password_secret: "smtp_password".into(),
            http_timeout_secs: 30,
            ca_file: None,
        }
    }
}

impl Services {
    /// Joins a base URL and a path with exactly one slash.
    pub fn join(base: &str, path: &str) -> String {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}
