//! NuGet `packages.lock.json`: `dependencies` per target framework, each package with
//! `type` (Direct/Transitive/Project) and `resolved` version.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;
use std::collections::HashSet;

/// Reads a packages.lock.json.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| InputError::new(file, format!("not JSON: {e}")))?;
    let Some(fw) = v.get("dependencies").and_then(Value::as_object) else {
        return Err(InputError::new(file, "no `dependencies` object"));
    };
    let mut inv = Inventory::new(file, "packages.lock.json");
    let mut seen = HashSet::new();
    for (tfm, deps) in fw {
        for (name, d) in deps.as_object().into_iter().flatten() {
            let ty = d.get("type").and_then(Value::as_str).unwrap_or("");
            if ty.eq_ignore_ascii_case("project") {
                continue;
            }
            let Some(version) = d.get("resolved").and_then(Value::as_str) else {
                inv.warn(format!(
                    "dependencies[{tfm:?}][{name:?}]: no resolved version"
                ));
                continue;
            };
            if !seen.insert((name.to_ascii_lowercase(), version.to_string())) {
                continue;
            }
            let mut c = Component::new(
                Ecosystem::NuGet,
                name,
                version,
                format!("dependencies[{tfm:?}][{name:?}]"),
            );
            c.direct = Some(ty.eq_ignore_ascii_case("direct"));
            inv.push(c);
        }
    }
    Ok(inv)
}
