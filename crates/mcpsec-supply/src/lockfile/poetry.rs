//! Python TOML lockfiles: `poetry.lock`, `uv.lock` and `pdm.lock` — all `[[package]]`
//! arrays with `name`/`version` (and, for uv, dependency edges).

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

fn parse_toml_packages(file: &str, text: &str, format: &str) -> Result<Inventory, InputError> {
    let v: toml::Table = toml::from_str(text)
        .map_err(|e| InputError::new(file, format!("not a {format} (TOML): {}", e.message())))?;
    let mut inv = Inventory::new(file, format);
    let pkgs = v
        .get("package")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut deps: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, p) in pkgs.iter().enumerate() {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(|x| x.as_str()),
            p.get("version").and_then(|x| x.as_str()),
        ) else {
            inv.warn(format!("package[{i}]: missing name or version"));
            continue;
        };
        let norm = Ecosystem::PyPI.normalize_name(name);
        let mut c = Component::new(
            Ecosystem::PyPI,
            &norm,
            version,
            format!("package[{i}] {name} {version}"),
        );
        // uv: the project itself and path/git sources are local
        if let Some(src) = p.get("source").and_then(|s| s.as_table())
            && (src.contains_key("editable")
                || src.contains_key("virtual")
                || src.contains_key("path")
                || src.contains_key("directory")
                || src.contains_key("git"))
        {
            c.local = true;
        }
        // poetry: [package.source] type = "git" | "directory" | "file"
        if p.get("source")
            .and_then(|s| s.get("type"))
            .and_then(|t| t.as_str())
            .is_some_and(|t| t != "legacy")
        {
            c.local = true;
        }
        let idx = inv.push(c);
        by_name.insert(norm, idx);
        let d: Vec<String> = match p.get("dependencies") {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|d| d.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect(),
            Some(toml::Value::Table(t)) => t.keys().cloned().collect(),
            _ => vec![],
        };
        deps.push((idx, d));
    }
    for (from, list) in deps {
        for d in list {
            if let Some(&to) = by_name.get(&Ecosystem::PyPI.normalize_name(&d)) {
                inv.edges.push((from, to));
            }
        }
    }
    Ok(inv)
}

/// Reads a poetry.lock.
pub fn parse_poetry(file: &str, text: &str) -> Result<Inventory, InputError> {
    parse_toml_packages(file, text, "poetry.lock")
}

/// Reads a uv.lock.
pub fn parse_uv(file: &str, text: &str) -> Result<Inventory, InputError> {
    parse_toml_packages(file, text, "uv.lock")
}

/// Reads a pdm.lock.
pub fn parse_pdm(file: &str, text: &str) -> Result<Inventory, InputError> {
    parse_toml_packages(file, text, "pdm.lock")
}
