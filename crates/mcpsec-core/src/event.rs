//! The event model: one JSON object as it arrived, plus what mcpsec knows about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use ulid::Ulid;

/// A tenant's name. Every stored event, row and object carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant used when none is configured (single-tenant installs).
    pub const DEFAULT: &'static str = "default";

    /// Builds a tenant id, checking it is 1–64 characters of `[A-Za-z0-9_.-]`.
    pub fn new(name: &str) -> Result<Self, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if ok {
            Ok(TenantId(name.to_owned()))
        } else {
            Err(format!(
                "invalid tenant name {name:?}: use 1-64 characters of letters, digits, '_', '-', '.'"
            ))
        }
    }

    /// The default tenant.
    pub fn default_tenant() -> Self {
        TenantId(Self::DEFAULT.to_owned())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shape an event was recognised as. Unknown shapes are [`EventFormat::Json`] or
/// [`EventFormat::Text`] and are kept as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFormat {
    /// Windows event as JSON (`Event.System.*`, `Event.EventData.*`).
    Windows,
    /// Elastic Common Schema JSON.
    Ecs,
    /// Syslog RFC 5424.
    Syslog5424,
    /// BSD syslog RFC 3164.
    Syslog3164,
    /// ArcSight Common Event Format.
    Cef,
    /// Any other JSON object.
    Json,
    /// A text line in no known format.
    Text,
}

impl EventFormat {
    /// The lowercase name used in the index and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            EventFormat::Windows => "windows",
            EventFormat::Ecs => "ecs",
            EventFormat::Syslog5424 => "syslog5424",
            EventFormat::Syslog3164 => "syslog3164",
            EventFormat::Cef => "cef",
            EventFormat::Json => "json",
            EventFormat::Text => "text",
        }
    }
}

/// Where an event came from: the kind of source and its name (a file path, a peer address,
/// an HTTP client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `http`, `syslog-udp`, `syslog-tcp`, `file`, `cli`, `demo`, `replay`.
    pub kind: String,
    /// A name within that kind, e.g. the file path or the peer address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl SourceInfo {
    /// A source with a kind and a name.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        SourceInfo {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

/// One event. `seq` is 0 until the event log has accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id, sortable by receive time.
    pub id: Ulid,
    /// Position in the append-only event log (assigned on append; 0 before).
    #[serde(default)]
    pub seq: u64,
    /// Owner of the event.
    pub tenant: TenantId,
    /// When mcpsec received it.
    pub received_at: DateTime<Utc>,
    /// When it happened, as found in the event; the receive time when none was found.
    pub time: DateTime<Utc>,
    /// Where it came from.
    pub source: SourceInfo,
    /// The recognised shape.
    pub format: EventFormat,
    /// The fields as they arrived (for text formats: as parsed).
    pub fields: Map<String, Value>,
}

impl Event {
    /// A new event received now, with a fresh id; `time` defaults to the receive time.
    pub fn new(
        tenant: TenantId,
        source: SourceInfo,
        format: EventFormat,
        fields: Map<String, Value>,
    ) -> Self {
        let now = Utc::now();
        Event {
            id: Ulid::new(),
            seq: 0,
            tenant,
            received_at: now,
            time: now,
            source,
            format,
            fields,
        }
    }

    /// Looks up a field by dotted path (see [`crate::get_path`]).
    pub fn get(&self, path: &str) -> Option<&Value> {
        crate::get_path(&self.fields, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_names_are_checked() {
        assert!(TenantId::new("acme-1.prod").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a/b").is_err());
        assert!(TenantId::new(&"x".repeat(65)).is_err());
    }

    #[test]
    fn event_round_trips_through_json() {
        let mut fields = Map::new();
        fields.insert("host".into(), json!({"name": "h1"}));
        let ev = Event::new(
            TenantId::default_tenant(),
            SourceInfo::new("http", "127.0.0.1"),
            EventFormat::Json,
            fields,
        );
        let text = serde_json::to_string(&ev).expect("serialize");
        let back: Event = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, ev);
        assert_eq!(back.get("host.name"), Some(&json!("h1")));
    }
}
