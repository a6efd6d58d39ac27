//! `hunt --format sarif`: SARIF 2.1.0, streamed. Results are written as they come;
//! the rule descriptions (one per rule that fired) follow them in the same run object,
//! which JSON allows since member order carries no meaning.

use super::Detection;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The rules that fired, described once each at the end.
#[derive(Default)]
pub(crate) struct SarifRules(BTreeMap<String, Value>);

/// The opening of the log, up to the first result.
pub(crate) const HEADER: &str = "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\
                                 \"version\":\"2.1.0\",\"runs\":[{\"results\":[";

fn level(l: Option<&str>) -> &'static str {
    match l.map(str::to_ascii_lowercase).as_deref() {
        Some("critical" | "high") => "error",
        Some("medium") => "warning",
        _ => "note",
    }
}

fn uri(file: &str) -> String {
    file.trim_start_matches("./")
        .replace('\\', "/")
        .replace(' ', "%20")
}

impl SarifRules {
    /// The SARIF result of a detection; remembers its rule.
    pub(crate) fn result(&mut self, d: &Detection) -> Value {
        let id = d.rule_id.clone().unwrap_or_else(|| d.rule_title.clone());
        self.0.entry(id.clone()).or_insert_with(|| {
            json!({
                "id": id,
                "shortDescription": {"text": d.rule_title},
                "defaultConfiguration": {"level": level(d.level.as_deref())},
                "properties": {"tags": d.tags, "sigma-level": d.level},
            })
        });
        let mut text = d.rule_title.clone();
        let mut properties = json!({
            "timestamp": d.timestamp,
            "index": d.index,
            "record_id": d.record_id,
        });
        if let Some(c) = &d.correlation {
            text = format!("{text} ({}; {} events)", c.group_text(), c.event_count);
            properties["correlation"] = json!(c.correlation);
            properties["group"] = json!(c.group);
            properties["value"] = json!(c.value);
            properties["window_start"] = json!(c.window_start);
            properties["event_count"] = json!(c.event_count);
            properties["events"] = json!(c.events);
        } else {
            properties["event"] = d.event.to_value();
        }
        let mut location = json!({"artifactLocation": {"uri": uri(&d.file)}});
        if let Some(l) = d.line {
            location["region"] = json!({"startLine": l});
        }
        json!({
            "ruleId": id,
            "level": level(d.level.as_deref()),
            "message": {"text": text},
            "locations": [{"physicalLocation": location}],
            "properties": properties,
        })
    }

    /// The end of the log: the tool and its rules.
    pub(crate) fn footer(&self) -> String {
        let tool = json!({"driver": {
            "name": "mcpsec",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": self.0.values().collect::<Vec<_>>(),
        }});
        format!("],\"tool\":{tool}}}]}}")
    }
}
