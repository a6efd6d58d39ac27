//! `yarn.lock`, classic (v1: `version "x"`) and berry (v2+: YAML-like `version: x`,
//! `resolution:`). Workspace, link, portal and file entries are marked local.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

/// `name@range` → `name` (scoped names keep their leading `@`; berry protocols cut).
fn spec_name(spec: &str) -> &str {
    let s = spec.trim().trim_matches('"');
    let at = s[1..].find('@').map(|i| i + 1);
    match at {
        Some(i) => &s[..i],
        None => s,
    }
}

fn is_local(v: &str) -> bool {
    [
        "@workspace:",
        "@link:",
        "@portal:",
        "@file:",
        "git+",
        "@git",
    ]
    .iter()
    .any(|p| v.contains(p))
        || v.starts_with("file:")
}

/// Reads a yarn.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "yarn.lock");
    let berry = text.contains("__metadata:");
    struct Entry {
        specs: Vec<String>,
        version: Option<String>,
        local: bool,
        line: usize,
        deps: Vec<String>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_deps = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 {
            in_deps = false;
            let Some(head) = t.strip_suffix(':') else {
                inv.warn(format!("line {}: unexpected {t:?}", n + 1));
                continue;
            };
            if head.starts_with("__metadata") {
                entries.push(Entry {
                    specs: vec![],
                    version: None,
                    local: true,
                    line: n + 1,
                    deps: vec![],
                });
                continue;
            }
            let specs = head
                .split(", ")
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect();
            entries.push(Entry {
                specs,
                version: None,
                local: false,
                line: n + 1,
                deps: vec![],
            });
            continue;
        }
        let Some(e) = entries.last_mut() else {
            return Err(InputError::new(
                file,
                format!(
                    "line {}: not a yarn.lock (entry body without a header)",
                    n + 1
                ),
            ));
        };
        if indent == 2 {
            in_deps = t.starts_with("dependencies:") || t.starts_with("optionalDependencies:");
            let (k, v) = match t.split_once(": ") {
                Some((k, v)) => (k, v),
                None => t.split_once(' ').unwrap_or((t, "")),
            };
            let v = v.trim().trim_matches('"');
            match k {
                "version" => e.version = Some(v.to_string()),
                "resolution" | "resolved" if is_local(v) => e.local = true,
                _ => {}
            }
        } else if indent >= 4 && in_deps {
            let name = t.split([' ', ':']).next().unwrap_or("").trim_matches('"');
            e.deps.push(name.to_string());
        }
    }
    if !text.trim().is_empty() && entries.is_empty() {
        return Err(InputError::new(file, "not a yarn.lock (no entries)"));
    }
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut pending = Vec::new();
    for e in entries {
        let Some(first) = e.specs.first() else {
            continue;
        };
        let Some(version) = e.version else {
            inv.warn(format!("line {}: {first:?} has no version", e.line));
            continue;
        };
        let name = spec_name(first).to_string();
        // berry "npm:" aliases: "alias@npm:real@^1" → real name
        let name = match first.split_once("@npm:") {
            Some((_, real))
                if real.starts_with('@')
                    || real.contains('@')
                        && !real
                            .starts_with(|c: char| c.is_ascii_digit() || c == '^' || c == '~') =>
            {
                spec_name(real).to_string()
            }
            _ => name,
        };
        let mut c = Component::new(
            Ecosystem::Npm,
            &name,
            &version,
            format!("line {} {first}", e.line),
        );
        c.local = e.local || (berry && version == "0.0.0-use.local");
        let i = inv.push(c);
        by_name.entry(name).or_insert(i);
        pending.push((i, e.deps));
    }
    for (from, deps) in pending {
        for d in deps {
            if let Some(&to) = by_name.get(&d) {
                inv.edges.push((from, to));
            }
        }
    }
    Ok(inv)
}
