//! JSON objects: shape detection and event time. The object itself is never changed.

use crate::{Context, NormalizeError};
use chrono::{DateTime, Utc};
use mcpsec_core::{Event, EventFormat, get_path, parse_timestamp};
use serde_json::{Map, Value};

/// Where EVTX-to-JSON tools put the record time, in the order tried:
/// the `evtx` crate / `evtx_dump` default, its `--separate-json-attributes` form (used by
/// Chainsaw and Hayabusa), a plain nested form, and the xmltodict form (python-evtx).
const WINDOWS_TIME_PATHS: [&str; 4] = [
    "Event.System.TimeCreated.#attributes.SystemTime",
    "Event.System.TimeCreated_attributes.SystemTime",
    "Event.System.TimeCreated.SystemTime",
    "Event.System.TimeCreated.@SystemTime",
];

/// Top-level keys that may hold the event time of ECS and other JSON, in the order tried.
const TIME_KEYS: [&str; 8] = [
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "eventTime",
    "event_time",
    "date",
    "datetime",
];

/// Any of these (nested or as dotted flat keys) next to `@timestamp` marks ECS.
const ECS_MARKERS: [&str; 5] = [
    "ecs.version",
    "event.kind",
    "event.category",
    "event.dataset",
    "agent.type",
];

/// Detects the shape of a JSON object without consuming it.
///
/// * [`EventFormat::Windows`] when `Event.System` is an object (EVTX rendered as JSON);
/// * [`EventFormat::Ecs`] when `@timestamp` is present together with any of `ecs.version`,
///   `event.kind`, `event.category`, `event.dataset` or `agent.type` (nested objects or
///   dotted flat keys);
/// * [`EventFormat::Json`] otherwise.
pub fn detect_json_format(obj: &Map<String, Value>) -> EventFormat {
    if get_path(obj, "Event.System").is_some_and(Value::is_object) {
        return EventFormat::Windows;
    }
    let present = |path: &str| get_path(obj, path).is_some_and(|v| !v.is_null());
    if obj.contains_key("@timestamp") && ECS_MARKERS.iter().any(|p| present(p)) {
        return EventFormat::Ecs;
    }
    EventFormat::Json
}

/// The event time of a JSON object of the given shape, if one can be found and parsed.
///
/// Windows events are looked up at the `TimeCreated` paths first; every shape then tries
/// the top-level keys `@timestamp`, `timestamp`, `time`, `ts`, `eventTime`, `event_time`,
/// `date`, `datetime`, keeping the first that parses.
pub(crate) fn event_time(obj: &Map<String, Value>, format: EventFormat) -> Option<DateTime<Utc>> {
    let windows = if format == EventFormat::Windows {
        &WINDOWS_TIME_PATHS[..]
    } else {
        &[]
    };
    windows
        .iter()
        .filter_map(|path| get_path(obj, path))
        .chain(TIME_KEYS.iter().filter_map(|key| obj.get(*key)))
        .find_map(parse_timestamp)
}

/// Normalizes a JSON value from an HTTP body or a JSONL file.
///
/// The value must be an object; it becomes [`Event::fields`] unchanged (no key is added,
/// renamed or removed). The format comes from [`detect_json_format`]; the event time from
/// the fields (see the crate docs), else the receive time.
///
/// # Errors
///
/// [`NormalizeError::NotAnObject`] when the value is an array, a string, a number, a
/// boolean or null.
pub fn normalize_json(value: Value, ctx: &Context) -> Result<Event, NormalizeError> {
    match value {
        Value::Object(obj) => Ok(normalize_object(obj, ctx)),
        other => Err(NormalizeError::NotAnObject {
            found: type_name(&other),
        }),
    }
}

/// Normalizes an object already known to be one.
pub(crate) fn normalize_object(obj: Map<String, Value>, ctx: &Context) -> Event {
    let format = detect_json_format(&obj);
    let time = event_time(&obj, format);
    ctx.event(format, obj, time)
}

/// The JSON type of a value, as named in error messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mcpsec_core::{SourceInfo, TenantId};
    use serde_json::json;

    fn ctx() -> Context {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single();
        Context::new(TenantId::default_tenant(), SourceInfo::new("http", "test"))
            .with_received_at(at.expect("valid time"))
    }

    fn utc(s: &str) -> Option<DateTime<Utc>> {
        parse_timestamp(&json!(s))
    }

    fn ok(v: Value) -> Event {
        match normalize_json(v, &ctx()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    /// The `evtx` crate's default rendering (attributes under `#attributes`).
    fn evtx_default() -> Value {
        json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon",
                    "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
                "EventID": 1, "Version": 5, "Level": 4, "Task": 1, "Opcode": 0,
                "Keywords": "0x8000000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2025-10-22T20:33:27.276702Z"}},
                "EventRecordID": 256875, "Correlation": null,
                "Execution": {"#attributes": {"ProcessID": 3168, "ThreadID": 4580}},
                "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws-1",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": {"RuleName": "-", "Image": "C:\\Windows\\System32\\sc.exe",
                "CommandLine": "sc  stop mpssvc", "ProcessId": 3424}
        }})
    }

    #[test]
    fn evtx_default_shape_is_windows_and_kept_verbatim() {
        let input = evtx_default();
        let ev = ok(input.clone());
        assert_eq!(ev.format, EventFormat::Windows);
        assert_eq!(
            ev.time,
            utc("2025-10-22T20:33:27.276702Z").expect("valid time")
        );
        assert_eq!(Value::Object(ev.fields), input);
    }

    #[test]
    fn separated_attributes_shape_is_windows() {
        // Chainsaw / Hayabusa: `evtx` with separate_json_attributes; note `Event_attributes`
        // is a sibling of `Event` at the top level.
        let input = json!({
            "Event": {"System": {
                "Provider_attributes": {"Name": "Microsoft-Windows-Security-Auditing"},
                "EventID": 4624,
                "TimeCreated_attributes": {"SystemTime": "2022-10-11T19:26:52.154080Z"},
                "Security": null
            }, "EventData": {"LogonType": 5}},
            "Event_attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}
        });
        let ev = ok(input.clone());
        assert_eq!(ev.format, EventFormat::Windows);
        assert_eq!(
            ev.time,
            utc("2022-10-11T19:26:52.154080Z").expect("valid time")
        );
        assert_eq!(Value::Object(ev.fields), input);
    }

    #[test]
    fn plain_and_xmltodict_time_shapes() {
        let plain = json!({"Event": {"System": {"TimeCreated": {"SystemTime": "2019-03-19 23:35:49.123456 UTC"}}}});
        assert_eq!(
            ok(plain).time,
            utc("2019-03-19T23:35:49.123456Z").expect("valid time")
        );
        let xml = json!({"Event": {"System": {"TimeCreated": {"@SystemTime": "2019-03-19T23:35:49.1234567Z"}}}});
        let ev = ok(xml);
        assert_eq!(ev.format, EventFormat::Windows);
        assert_eq!(
            ev.time,
            utc("2019-03-19T23:35:49.1234567Z").expect("valid time")
        );
    }

    #[test]
    fn windows_without_time_uses_receive_time() {
        let ev = ok(
            json!({"Event": {"System": {"EventID": 7036, "TimeCreated": {"#attributes": {"SystemTime": "garbage"}}}}}),
        );
        assert_eq!(ev.format, EventFormat::Windows);
        assert_eq!(ev.time, ctx().received_at);
        assert_eq!(ev.received_at, ctx().received_at);
        // `Event.System` must be an object.
        assert_eq!(
            detect_json_format(&obj(json!({"Event": {"System": "x"}}))),
            EventFormat::Json
        );
        assert_eq!(
            detect_json_format(&obj(json!({"Event": 5}))),
            EventFormat::Json
        );
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn ecs_nested_and_flat() {
        let nested = json!({"@timestamp": "2024-05-01T12:00:00.000Z", "ecs": {"version": "8.11.0"},
            "event": {"category": ["authentication"]}, "message": "hi"});
        let ev = ok(nested.clone());
        assert_eq!(ev.format, EventFormat::Ecs);
        assert_eq!(ev.time, utc("2024-05-01T12:00:00Z").expect("valid time"));
        assert_eq!(Value::Object(ev.fields), nested);

        let flat =
            json!({"@timestamp": 1714564800000u64, "agent.type": "winlogbeat", "host.name": "h"});
        let ev = ok(flat.clone());
        assert_eq!(ev.format, EventFormat::Ecs);
        assert_eq!(ev.time, utc("2024-05-01T12:00:00Z").expect("valid time"));
        assert_eq!(Value::Object(ev.fields), flat);

        for marker in ["event.kind", "event.dataset", "ecs.version"] {
            let mut m = Map::new();
            m.insert("@timestamp".into(), json!("2024-05-01T12:00:00Z"));
            m.insert(marker.into(), json!("x"));
            assert_eq!(detect_json_format(&m), EventFormat::Ecs, "{marker}");
        }
        // Markers without @timestamp, or @timestamp alone, are plain JSON.
        assert_eq!(
            detect_json_format(&obj(json!({"ecs": {"version": "8"}}))),
            EventFormat::Json
        );
        assert_eq!(
            detect_json_format(&obj(json!({"@timestamp": "x", "event": {"id": 1}}))),
            EventFormat::Json
        );
    }

    #[test]
    fn generic_json_time_keys_in_order() {
        let ev =
            ok(json!({"time": "not a time", "ts": 1714564800, "date": "2020-01-01T00:00:00Z"}));
        assert_eq!(ev.format, EventFormat::Json);
        assert_eq!(ev.time, utc("2024-05-01T12:00:00Z").expect("valid time"));
        let ev =
            ok(json!({"eventTime": "2024-05-01 12:00:00", "datetime": "2020-01-01T00:00:00Z"}));
        assert_eq!(ev.time, utc("2024-05-01T12:00:00Z").expect("valid time"));
        let ev = ok(json!({"event_time": "2024-05-01T14:00:00+02:00"}));
        assert_eq!(ev.time, utc("2024-05-01T12:00:00Z").expect("valid time"));
        let ev =
            ok(json!({"msg": "no time here", "nested": {"timestamp": "2020-01-01T00:00:00Z"}}));
        assert_eq!(ev.time, ctx().received_at);
        let ev = ok(json!({}));
        assert_eq!(ev.format, EventFormat::Json);
        assert!(ev.fields.is_empty());
    }

    #[test]
    fn non_objects_are_rejected_with_their_type() {
        for (v, name) in [
            (json!([1, 2]), "array"),
            (json!("s"), "string"),
            (json!(1.5), "number"),
            (json!(true), "boolean"),
            (Value::Null, "null"),
        ] {
            match normalize_json(v, &ctx()) {
                Err(NormalizeError::NotAnObject { found }) => assert_eq!(found, name),
                Ok(ev) => panic!("accepted {name}: {ev:?}"),
            }
        }
    }
}
