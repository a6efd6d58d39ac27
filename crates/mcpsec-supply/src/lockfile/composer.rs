//! `composer.lock`: `packages` and `packages-dev` arrays (name, version, require).

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;
use std::collections::HashMap;

/// Reads a composer.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| InputError::new(file, format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(InputError::new(file, "not a composer.lock object"));
    }
    let mut inv = Inventory::new(file, "composer.lock");
    let mut by_name = HashMap::new();
    let mut reqs = Vec::new();
    for key in ["packages", "packages-dev"] {
        for (i, p) in v
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(Value::as_str),
                p.get("version").and_then(Value::as_str),
            ) else {
                inv.warn(format!("{key}[{i}]: missing name or version"));
                continue;
            };
            let version = version.strip_prefix('v').unwrap_or(version);
            let mut c = Component::new(
                Ecosystem::Packagist,
                &name.to_ascii_lowercase(),
                version,
                format!("{key}[{i}] {name}"),
            );
            c.local = version.starts_with("dev-");
            // composer lists alternatives (dual licensing): any one may be chosen
            let lic: Vec<&str> = p
                .get("license")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if !lic.is_empty() {
                let parts: Vec<String> = lic
                    .iter()
                    .map(|l| {
                        if lic.len() > 1 {
                            format!("({l})")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                c.licenses = vec![parts.join(" OR ")];
            }
            let idx = inv.push(c);
            by_name.insert(name.to_ascii_lowercase(), idx);
            if let Some(r) = p.get("require").and_then(Value::as_object) {
                reqs.push((idx, r.keys().cloned().collect::<Vec<_>>()));
            }
        }
    }
    for (from, list) in reqs {
        for d in list {
            if let Some(&to) = by_name.get(&d.to_ascii_lowercase()) {
                inv.edges.push((from, to));
            }
        }
    }
    Ok(inv)
}
