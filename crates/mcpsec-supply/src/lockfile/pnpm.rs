//! `pnpm-lock.yaml`, lockfile versions 5 (`/name/1.2.3`), 6 (`/name@1.2.3`) and 9
//! (`name@1.2.3`), peer-dependency suffixes removed.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;

fn split_key(key: &str) -> Option<(String, String)> {
    let k = key.trim_start_matches('/');
    let k = k.split('(').next().unwrap_or(k);
    // v6/v9: name@version (scoped names start with @)
    if let Some(i) = k[1.min(k.len())..].rfind('@').map(|i| i + 1)
        && k[i + 1..].starts_with(|c: char| c.is_ascii_digit())
    {
        return Some((k[..i].to_string(), k[i + 1..].to_string()));
    }
    // v5: name/version[_peer]
    let (name, ver) = k.rsplit_once('/')?;
    let ver = ver.split('_').next().unwrap_or(ver);
    if !ver.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_string(), ver.to_string()))
}

/// Reads a pnpm-lock.yaml.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value = serde_norway::from_str(text)
        .map_err(|e| InputError::new(file, format!("not YAML: {e}")))?;
    let mut inv = Inventory::new(file, "pnpm-lock.yaml");
    if v.is_null() {
        return Ok(inv);
    }
    if !v.is_object() {
        return Err(InputError::new(file, "not a pnpm-lock.yaml mapping"));
    }
    for (key, p) in v
        .get("packages")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let from_fields = p
            .get("name")
            .and_then(Value::as_str)
            .zip(p.get("version").and_then(Value::as_str))
            .map(|(a, b)| (a.to_string(), b.to_string()));
        let Some((name, version)) = from_fields.or_else(|| split_key(key)) else {
            inv.warn(format!("packages[{key:?}]: cannot tell name and version"));
            continue;
        };
        let mut c = Component::new(
            Ecosystem::Npm,
            &name,
            &version,
            format!("packages[{key:?}]"),
        );
        let res = p.get("resolution");
        c.local = res.is_some_and(|r| {
            r.get("directory").is_some()
                || r.get("repo").is_some()
                || r.get("type").and_then(Value::as_str) == Some("git")
        });
        inv.push(c);
    }
    Ok(inv)
}
