//! Turning a rule match into an [`Alert`].

use chrono::Utc;
use mcpsec_core::Event;
use mcpsec_sigma::CompiledRule;
use mcpsec_store::{Alert, AlertKind, AlertStatus};
use serde_json::Value;

/// Fields that name the host an event comes from, most specific first.
const HOST_FIELDS: &[&str] = &[
    "host.name",
    "host.hostname",
    "Computer",
    "Event.System.Computer",
    "System.Computer",
    "winlog.computer_name",
    "hostname",
    "host",
    "agent.hostname",
];

/// The host an event names, if any.
pub fn event_host(event: &Event) -> Option<String> {
    HOST_FIELDS.iter().find_map(|p| match event.get(p) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.chars().take(255).collect()),
        _ => None,
    })
}

/// An open alert for `rule` (at `version`) matching `event`.
pub fn alert_for(rule: &CompiledRule, version: u32, event: &Event) -> Alert {
    let meta = &rule.meta;
    Alert {
        id: ulid::Ulid::new().to_string(),
        tenant: event.tenant.clone(),
        kind: AlertKind::Rule,
        rule_id: rule.name().to_owned(),
        rule_title: meta.title.clone(),
        rule_version: version,
        level: meta
            .level
            .clone()
            .unwrap_or_else(|| "informational".into())
            .to_ascii_lowercase(),
        tags: meta.tags.clone(),
        techniques: meta.attack.techniques.clone(),
        tactics: meta.attack.tactics.clone(),
        host: event_host(event),
        event_ids: vec![event.id.to_string()],
        events: vec![serde_json::to_value(event).unwrap_or(Value::Null)],
        event_count: 1,
        group: None,
        event_time: event.time,
        created_at: Utc::now(),
        seq: event.seq,
        status: AlertStatus::Open,
        status_by: None,
        status_at: None,
    }
}
