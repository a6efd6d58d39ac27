//! `Pipfile.lock`: `default` and `develop` maps of `name: {version: "==x"}`.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;

/// Reads a Pipfile.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| InputError::new(file, format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(InputError::new(file, "not a Pipfile.lock object"));
    }
    let mut inv = Inventory::new(file, "Pipfile.lock");
    for key in ["default", "develop"] {
        for (name, p) in v.get(key).and_then(Value::as_object).into_iter().flatten() {
            let Some(version) = p.get("version").and_then(Value::as_str) else {
                if p.get("git").is_none() && p.get("path").is_none() && p.get("file").is_none() {
                    inv.warn(format!("{key}[{name:?}]: no version"));
                }
                continue;
            };
            let version = version.trim_start_matches("==").trim_start_matches('=');
            inv.push(Component::new(
                Ecosystem::PyPI,
                &Ecosystem::PyPI.normalize_name(name),
                version,
                format!("{key}[{name:?}]"),
            ));
        }
    }
    Ok(inv)
}
