//! Turning a rule match into an [`Alert`].

use chrono::Utc;
use mcpsec_core::Event;
use mcpsec_core::TenantId;
use mcpsec_sigma::{CompiledRule, CorrelationHit, RuleMeta};
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

fn level(meta: &RuleMeta) -> String {
    meta.level
        .clone()
        .unwrap_or_else(|| "informational".into())
        .to_ascii_lowercase()
}

fn millis(ms: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// An open alert for a correlation hit; `trigger` is the event that completed it (none
/// when a window closed on time).
pub fn correlation_alert(
    hit: &CorrelationHit<String>,
    tenant: &TenantId,
    version: u32,
    trigger: Option<&Event>,
) -> Alert {
    let meta = &hit.meta;
    let by: serde_json::Map<String, Value> = hit
        .group
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut group = serde_json::Map::new();
    group.insert("by".into(), Value::Object(by));
    group.insert("value".into(), serde_json::json!(hit.value));
    group.insert(
        "window_start".into(),
        Value::String(mcpsec_core::to_rfc3339(&millis(hit.window_start_ms))),
    );
    group.insert(
        "window_end".into(),
        Value::String(mcpsec_core::to_rfc3339(&millis(hit.window_end_ms))),
    );
    Alert {
        id: ulid::Ulid::new().to_string(),
        tenant: tenant.clone(),
        kind: AlertKind::Correlation,
        rule_id: hit.name().to_owned(),
        rule_title: meta.title.clone(),
        rule_version: version,
        level: level(meta),
        tags: meta.tags.clone(),
        techniques: meta.attack.techniques.clone(),
        tactics: meta.attack.tactics.clone(),
        host: trigger.and_then(event_host),
        event_ids: hit.events.clone(),
        events: trigger
            .map(|e| vec![serde_json::to_value(e).unwrap_or(Value::Null)])
            .unwrap_or_default(),
        event_count: hit.event_count,
        group: Some(group),
        event_time: millis(hit.window_start_ms),
        created_at: Utc::now(),
        seq: trigger.map_or(0, |e| e.seq),
        status: AlertStatus::Open,
        status_by: None,
        status_at: None,
    }
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
        level: level(meta),
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
