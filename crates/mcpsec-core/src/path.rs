//! Dotted field paths: `Event.System.EventID`, `host.name`, `process.args.0`.
//!
//! A path is resolved against nested objects first; when a key itself contains dots
//! (ECS producers often emit flat keys such as `"host.name"`), the longest literal key
//! that matches a prefix of the remaining path wins. Numeric segments index arrays.

use serde_json::{Map, Value};

/// A parsed dotted path, split once so that hot loops do not split again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Parses a dotted path. Empty segments are kept (they never match).
    pub fn parse(path: &str) -> Self {
        FieldPath {
            text: path.to_owned(),
            segments: path.split('.').map(str::to_owned).collect(),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Resolves the path in an object.
    pub fn get<'a>(&self, root: &'a Map<String, Value>) -> Option<&'a Value> {
        let segs: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        lookup_object(root, &segs)
    }
}

/// Resolves a dotted path in an object (see the module docs for the rules).
pub fn get_path<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = root.get(path) {
        return Some(v);
    }
    let segs: Vec<&str> = path.split('.').collect();
    lookup_object(root, &segs)
}

fn lookup_object<'a>(obj: &'a Map<String, Value>, segs: &[&str]) -> Option<&'a Value> {
    if segs.is_empty() {
        return None;
    }
    // Try the longest literal key first: "a.b" beats "a" -> "b" when both exist.
    for take in (1..=segs.len()).rev() {
        let key_owned;
        let key: &str = if take == 1 {
            segs[0]
        } else {
            key_owned = segs[..take].join(".");
            &key_owned
        };
        if let Some(v) = obj.get(key) {
            let rest = &segs[take..];
            if rest.is_empty() {
                return Some(v);
            }
            if let Some(found) = lookup_value(v, rest) {
                return Some(found);
            }
        }
    }
    None
}

fn lookup_value<'a>(v: &'a Value, segs: &[&str]) -> Option<&'a Value> {
    match v {
        Value::Object(m) => lookup_object(m, segs),
        Value::Array(items) => {
            let idx: usize = segs[0].parse().ok()?;
            let item = items.get(idx)?;
            if segs.len() == 1 {
                Some(item)
            } else {
                lookup_value(item, &segs[1..])
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn nested_flat_and_array_paths_resolve() {
        let o = obj(json!({
            "Event": {"System": {"EventID": 4624}},
            "host.name": "flat",
            "process": {"args": ["a", "b"]},
            "a": {"b.c": 1}
        }));
        assert_eq!(get_path(&o, "Event.System.EventID"), Some(&json!(4624)));
        assert_eq!(get_path(&o, "host.name"), Some(&json!("flat")));
        assert_eq!(get_path(&o, "process.args.1"), Some(&json!("b")));
        assert_eq!(get_path(&o, "a.b.c"), Some(&json!(1)));
        assert_eq!(get_path(&o, "missing.x"), None);
        assert_eq!(get_path(&o, ""), None);
        assert_eq!(
            FieldPath::parse("process.args.0").get(&o),
            Some(&json!("a"))
        );
    }
}
