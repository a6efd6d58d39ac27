//! Deployed detection rules: per tenant, every version kept.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;
use std::collections::HashMap;

/// A rule deployed through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRule {
    /// Owner.
    pub tenant: TenantId,
    /// The rule's `id:` (or its title when it has none).
    pub id: String,
    /// Starts at 1; every change adds one.
    pub version: u32,
    /// The rule's title.
    pub title: String,
    /// The rule's level.
    pub level: Option<String>,
    /// The rule's status.
    pub status: Option<String>,
    /// Whether the detection consumer runs it.
    pub enabled: bool,
    /// The rule text (YAML, possibly several documents).
    pub yaml: String,
    /// First version.
    pub created_at: DateTime<Utc>,
    /// Latest version.
    pub updated_at: DateTime<Utc>,
    /// Author of the latest version.
    pub updated_by: String,
}

/// One past version of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleVersion {
    /// The version number.
    pub version: u32,
    /// `created`, `updated`, `enabled`, `disabled`, `deleted`.
    pub change: String,
    /// The text at that version.
    pub yaml: String,
    /// Whether it was enabled at that version.
    pub enabled: bool,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change to store.
#[derive(Debug, Clone)]
pub struct RuleWrite<'a> {
    /// The rule's id.
    pub id: &'a str,
    /// Title, level and status as parsed from the text.
    pub title: &'a str,
    /// Level.
    pub level: Option<&'a str>,
    /// Status.
    pub status: Option<&'a str>,
    /// The text.
    pub yaml: &'a str,
    /// Enabled after the change.
    pub enabled: bool,
    /// The version the caller read (`None`: create; must not exist yet).
    pub expected_version: Option<u32>,
    /// Who.
    pub actor: &'a str,
    /// When.
    pub at: DateTime<Utc>,
}

/// Storage of rules.
pub trait RuleStore: Send + Sync {
    /// Creates (`expected_version: None`) or updates a rule; the version read must still
    /// be the latest, else [`crate::StoreError::Conflict`]. Returns the stored rule.
    fn write_rule(&self, tenant: &TenantId, change: &str, w: &RuleWrite<'_>) -> Result<StoredRule>;
    /// One rule (deleted ones are gone).
    fn get_rule(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredRule>>;
    /// The tenant's rules, by id.
    fn list_rules(&self, tenant: &TenantId) -> Result<Vec<StoredRule>>;
    /// Deletes a rule, keeping its history; `false` when there was none.
    fn delete_rule(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Every version of a rule, oldest first (deleted rules included).
    fn rule_versions(&self, tenant: &TenantId, id: &str) -> Result<Vec<RuleVersion>>;
    /// Turns a rule loaded from files on or off for one tenant.
    fn set_rule_switch(
        &self,
        tenant: &TenantId,
        id: &str,
        enabled: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Whether any tenant has deployed an API rule (deleted ones do not count).
    fn any_rules(&self) -> Result<bool>;
    /// The tenant's switches of file rules (`id → enabled`).
    fn rule_switches(&self, tenant: &TenantId) -> Result<HashMap<String, bool>>;
}
