//! The playbook format: what a YAML playbook file says, as Rust types.
//!
//! See `docs/playbooks.md` for the format with an example.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// A playbook: what starts it and the steps it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Stable identifier (`[A-Za-z0-9_.-]`, at most 100 characters).
    pub id: String,
    /// A name for people.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What starts a run; none means manual only.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// The steps, in file order; a step without `needs` follows the one above it.
    pub steps: Vec<Step>,
}

/// What starts a run. Written as `- manual`, `- webhook`, `- alert: {filter}`,
/// `- schedule: {cron, timezone}` or `- risk: {min_score}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TriggerRepr", into = "TriggerRepr")]
pub enum Trigger {
    /// A new alert matching the filter.
    Alert(AlertFilter),
    /// Somebody starts it (API or CLI), usually naming an alert.
    Manual,
    /// An HTTP call to the playbook's webhook.
    Webhook,
    /// A cron schedule read in an IANA time zone.
    Schedule(ScheduleTrigger),
    /// A risk alert (the tenant's risk score crossing its threshold or rising fast).
    Risk(RiskTrigger),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum TriggerRepr {
    Word(String),
    // One key naming the kind; read by hand so that a wrong field gets a precise error.
    Map(Map<String, Value>),
}

fn part<T: serde::de::DeserializeOwned>(kind: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("trigger {kind}: {e}"))
}

impl TryFrom<TriggerRepr> for Trigger {
    type Error = String;
    fn try_from(r: TriggerRepr) -> Result<Self, String> {
        const KINDS: &str =
            "manual, webhook, alert: {filter}, schedule: {cron} or risk: {min_score}";
        match r {
            TriggerRepr::Word(w) if w == "manual" => Ok(Trigger::Manual),
            TriggerRepr::Word(w) if w == "webhook" => Ok(Trigger::Webhook),
            TriggerRepr::Word(w) => Err(format!("unknown trigger '{w}' ({KINDS})")),
            TriggerRepr::Map(m) if m.len() == 1 => {
                let Some((kind, v)) = m.into_iter().next() else {
                    return Err(format!("an empty trigger ({KINDS})"));
                };
                match kind.as_str() {
                    "alert" => part(&kind, v).map(Trigger::Alert),
                    "schedule" => part(&kind, v).map(Trigger::Schedule),
                    "risk" => part(&kind, v).map(Trigger::Risk),
                    other => Err(format!("unknown trigger '{other}' ({KINDS})")),
                }
            }
            TriggerRepr::Map(_) => Err(format!("a trigger has exactly one kind ({KINDS})")),
        }
    }
}

impl From<Trigger> for TriggerRepr {
    fn from(t: Trigger) -> Self {
        let one = |k: &str, v: Result<Value, serde_json::Error>| {
            let mut m = Map::new();
            m.insert(k.into(), v.unwrap_or(Value::Null));
            TriggerRepr::Map(m)
        };
        match t {
            Trigger::Alert(f) => one("alert", serde_json::to_value(f)),
            Trigger::Manual => TriggerRepr::Word("manual".into()),
            Trigger::Webhook => TriggerRepr::Word("webhook".into()),
            Trigger::Schedule(s) => one("schedule", serde_json::to_value(s)),
            Trigger::Risk(r) => one("risk", serde_json::to_value(r)),
        }
    }
}

/// Which alerts start a run; every given field must match (empty lists do not filter).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFilter {
    /// Exact levels.
    #[serde(default, alias = "level", skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<String>,
    /// This level or higher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<String>,
    /// Rule ids.
    #[serde(default, alias = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// At least one of these tags.
    #[serde(default, alias = "tag", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Tenants (for playbooks loaded from files, which serve every tenant).
    #[serde(default, alias = "tenant", skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// When a scheduled playbook runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    /// Cron expression: 5 fields (minute first) or `@daily`-style.
    pub cron: String,
    /// IANA time zone the expression is read in (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Tenants a playbook loaded from a file runs for (default: the `default` tenant);
    /// an API playbook runs for its own tenant when the list is empty or names it.
    #[serde(default, alias = "tenant", skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

fn utc() -> String {
    "UTC".into()
}

/// Which risk alerts start a run; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskTrigger {
    /// The tenant's risk score (0-100) carried by the alert is at least this.
    #[serde(default)]
    pub min_score: u32,
    /// `threshold` (the score crossed `[risk] alert_threshold`) and/or `rise` (it rose by
    /// `[risk] alert_rise` or more); empty: both.
    #[serde(default, alias = "kind", skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Tenants (for playbooks loaded from files, which serve every tenant).
    #[serde(default, alias = "tenant", skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// One step of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique within the playbook (`[A-Za-z0-9_-]`).
    pub id: String,
    /// The action's name (see `mcpsec playbook actions`).
    pub action: String,
    /// Inputs of the action; strings are templates over the run's context.
    #[serde(default, rename = "with", skip_serializing_if = "Map::is_empty")]
    pub inputs: Map<String, Value>,
    /// Steps that must finish first; absent: the step above (none for the first),
    /// `[]`: none, so the step starts at once (a parallel branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<String>>,
    /// An expression; false skips the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// An expression giving a list; the action runs once per element (`item`, `index`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<String>,
    /// Limit on one attempt (`500ms`, `30s`, `5m`, `1h`); default 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retries with exponential backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// A person must approve before the action runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Compensation: actions run in order when this step fails for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<Compensation>,
}

/// A compensation action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compensation {
    /// Unique within its step.
    pub id: String,
    /// The action's name.
    pub action: String,
    /// Inputs; templates see `error` besides the usual context.
    #[serde(default, rename = "with", skip_serializing_if = "Map::is_empty")]
    pub inputs: Map<String, Value>,
    /// Limit on the attempt; default 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// How often to try and how long to wait in between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all (1 = no retry), at most 20.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time (default `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
    /// Cap on one wait (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<String>,
}

/// Who must approve, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Anybody with this role may approve (one is enough).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Named approvers (key ids, OIDC subjects or CLI user names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// How many of `approvers` must approve (default: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// How long the request stays open (`30m`, `4h`).
    pub deadline: String,
    /// What happens at the deadline.
    #[serde(default)]
    pub on_expiry: Expiry,
    /// The role asked next when `on_expiry: escalate` (it gets another `deadline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
}

/// What an approval's deadline does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// The step is rejected (it fails, compensation runs).
    #[default]
    Reject,
    /// `escalate_to` is asked instead; at its deadline the step is rejected.
    Escalate,
}

/// The default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d` (whole numbers).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration '{text}' needs a unit (ms, s, m, h, d)"))?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("duration '{text}' must start with a whole number"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => {
            return Err(format!(
                "duration '{text}' has an unknown unit '{unit}' (ms, s, m, h, d)"
            ));
        }
    }
    .filter(|ms| *ms <= 366 * 86_400_000)
    .ok_or_else(|| format!("duration '{text}' is longer than a year"))?;
    Ok(Duration::from_millis(ms))
}

impl Step {
    /// The per-attempt timeout (validated playbooks always parse).
    pub fn timeout(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(DEFAULT_TIMEOUT)
    }
}

impl Retry {
    /// The wait before attempt `attempt + 1` (`attempt` counts from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let base = self
            .backoff
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(Duration::from_secs(1));
        let cap = self
            .max_backoff
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(Duration::from_secs(300));
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        base.saturating_mul(factor).min(cap)
    }
}

impl Playbook {
    /// The steps each step waits for, with the "step above" default applied.
    pub fn needs_of(&self, index: usize) -> Vec<String> {
        match &self.steps[index].needs {
            Some(n) => n.clone(),
            None if index == 0 => Vec::new(),
            None => vec![self.steps[index - 1].id.clone()],
        }
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Whether a manual start is allowed (manual trigger, or no trigger at all).
    pub fn allows_manual(&self) -> bool {
        self.triggers.is_empty() || self.triggers.contains(&Trigger::Manual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_strictly() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in [
            "",
            "s",
            "10",
            "1.5s",
            "-1s",
            "3w",
            "99999999999999999999s",
            "400d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = Retry {
            attempts: 10,
            backoff: Some("1s".into()),
            max_backoff: Some("5s".into()),
        };
        assert_eq!(r.delay_after(1), Duration::from_secs(1));
        assert_eq!(r.delay_after(2), Duration::from_secs(2));
        assert_eq!(r.delay_after(3), Duration::from_secs(4));
        assert_eq!(r.delay_after(4), Duration::from_secs(5));
        assert_eq!(r.delay_after(100), Duration::from_secs(5));
    }
}
