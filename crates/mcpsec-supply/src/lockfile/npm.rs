//! `package-lock.json` / `npm-shrinkwrap.json`, lockfileVersion 1 (nested
//! `dependencies`) and 2/3 (flat `packages` keyed by `node_modules/...` paths).

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use serde_json::Value;
use std::collections::HashMap;

/// Reads a package-lock.json.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| InputError::new(file, format!("not JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(InputError::new(file, "not a package-lock object"));
    };
    let mut inv = Inventory::new(file, "package-lock.json");
    if let Some(pkgs) = obj.get("packages").and_then(Value::as_object) {
        let mut by_path: HashMap<String, usize> = HashMap::new();
        let mut reqs: Vec<(usize, String, Vec<String>)> = Vec::new();
        let root_deps: Vec<String> = pkgs
            .get("")
            .map(|r| {
                dep_names(
                    r,
                    &["dependencies", "devDependencies", "optionalDependencies"],
                )
            })
            .unwrap_or_default();
        for (path, p) in pkgs {
            if path.is_empty() || p.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let Some(idx) = path.rfind("node_modules/") else {
                continue; // a workspace package, not an installed dependency
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&path[idx + 13..]);
            let Some(version) = p.get("version").and_then(Value::as_str) else {
                inv.warn(format!("packages[{path:?}]: no version"));
                continue;
            };
            let mut c =
                Component::new(Ecosystem::Npm, name, version, format!("packages[{path:?}]"));
            if version.starts_with("file:") || version.starts_with("git") || version.contains("://")
            {
                c.local = true;
            }
            c.direct = Some(
                path.matches("node_modules/").count() == 1 && root_deps.iter().any(|d| d == name),
            );
            // npm 7+ lockfiles copy each package's `license`
            if let Some(l) = p
                .get("license")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                c.licenses = vec![l.to_string()];
            }
            let i = inv.push(c);
            by_path.insert(path.clone(), i);
            reqs.push((
                i,
                path.clone(),
                dep_names(
                    p,
                    &["dependencies", "optionalDependencies", "peerDependencies"],
                ),
            ));
        }
        // resolve edges like node does: look up node_modules from the requiring path upwards
        for (from, path, deps) in reqs {
            for d in deps {
                let mut base = path.clone();
                loop {
                    let cand = if base.is_empty() {
                        format!("node_modules/{d}")
                    } else {
                        format!("{base}/node_modules/{d}")
                    };
                    if let Some(&to) = by_path.get(&cand) {
                        inv.edges.push((from, to));
                        break;
                    }
                    if base.is_empty() {
                        break;
                    }
                    base = match base.rfind("/node_modules/") {
                        Some(k) => base[..k].to_string(),
                        None => String::new(),
                    };
                }
            }
        }
    } else if let Some(deps) = obj.get("dependencies").and_then(Value::as_object) {
        walk_v1(&mut inv, deps, None, "dependencies");
    }
    Ok(inv)
}

fn dep_names(p: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| p.get(*k).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

fn walk_v1(
    inv: &mut Inventory,
    deps: &serde_json::Map<String, Value>,
    parent: Option<usize>,
    at: &str,
) {
    for (name, d) in deps {
        let loc = format!("{at}[{name:?}]");
        let Some(version) = d.get("version").and_then(Value::as_str) else {
            inv.warn(format!("{loc}: no version"));
            continue;
        };
        // aliases: "npm:real-name@1.2.3"
        let (name, version) = match version
            .strip_prefix("npm:")
            .and_then(|r| r.rsplit_once('@'))
        {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (name.clone(), version.to_string()),
        };
        let mut c = Component::new(Ecosystem::Npm, &name, &version, loc.clone());
        c.direct = Some(parent.is_none());
        c.local =
            version.starts_with("file:") || version.contains("://") || version.starts_with("git");
        let i = inv.push(c);
        if let Some(p) = parent {
            inv.edges.push((p, i));
        }
        if let Some(sub) = d.get("dependencies").and_then(Value::as_object) {
            walk_v1(inv, sub, Some(i), &format!("{loc}.dependencies"));
        }
    }
}
