//! `pubspec.lock` (Dart/Flutter): `packages:` map with `version` and `dependency` kind.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;

/// Reads a pubspec.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value = serde_norway::from_str(text)
        .map_err(|e| InputError::new(file, format!("not YAML: {e}")))?;
    let mut inv = Inventory::new(file, "pubspec.lock");
    if v.is_null() {
        return Ok(inv);
    }
    let Some(pkgs) = v.get("packages").and_then(Value::as_object) else {
        if v.is_object() {
            return Ok(inv);
        }
        return Err(InputError::new(file, "not a pubspec.lock"));
    };
    for (name, p) in pkgs {
        let Some(version) = p.get("version").and_then(Value::as_str) else {
            inv.warn(format!("packages[{name:?}]: no version"));
            continue;
        };
        let mut c = Component::new(Ecosystem::Pub, name, version, format!("packages[{name:?}]"));
        let dep = p.get("dependency").and_then(Value::as_str).unwrap_or("");
        c.direct = Some(dep.starts_with("direct"));
        c.local = matches!(
            p.get("source").and_then(Value::as_str),
            Some("path" | "git" | "sdk")
        );
        inv.push(c);
    }
    Ok(inv)
}
