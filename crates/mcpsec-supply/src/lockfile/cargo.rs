//! `Cargo.lock` (v1–v4): `[[package]]` entries with `dependencies` edges. Packages
//! without a `source` are local (workspace/path) and marked as such.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

/// Reads a Cargo.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: toml::Table = toml::from_str(text)
        .map_err(|e| InputError::new(file, format!("not a Cargo.lock (TOML): {}", e.message())))?;
    let mut inv = Inventory::new(file, "Cargo.lock");
    let pkgs = match v.get("package") {
        Some(toml::Value::Array(a)) => a.clone(),
        Some(_) => return Err(InputError::new(file, "`package` is not an array")),
        None => Vec::new(),
    };
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut deps: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, p) in pkgs.iter().enumerate() {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(|x| x.as_str()),
            p.get("version").and_then(|x| x.as_str()),
        ) else {
            inv.warn(format!("package[{i}]: missing name or version"));
            continue;
        };
        let mut c = Component::new(
            Ecosystem::CratesIo,
            name,
            version,
            format!("package[{i}] {name} {version}"),
        );
        let source = p.get("source").and_then(|x| x.as_str()).unwrap_or("");
        if source.is_empty() {
            c.location.push_str(" (local)");
            c.local = true;
        } else if !source.starts_with("registry+") && !source.starts_with("sparse+") {
            c.location.push_str(&format!(" (source {source})"));
            c.local = true;
        }
        let idx = inv.push(c);
        by_name.entry(name.to_string()).or_default().push(idx);
        let d: Vec<String> = p
            .get("dependencies")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        deps.push((idx, d));
    }
    for (from, list) in deps {
        for d in list {
            // "name", "name version" or "name version (source)"
            let mut it = d.split_whitespace();
            let name = it.next().unwrap_or("");
            let ver = it.next();
            if let Some(cands) = by_name.get(name) {
                let to = cands
                    .iter()
                    .copied()
                    .find(|&c| ver.is_none_or(|v| inv.components[c].version == v));
                if let Some(to) = to {
                    inv.edges.push((from, to));
                }
            }
        }
    }
    Ok(inv)
}
