//! `Gemfile.lock`: the `specs:` of the GEM (and GIT/PATH) sections, four-space indented
//! `name (version[-platform])` entries with six-space dependency lines; `DEPENDENCIES`
//! marks direct gems.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;
use std::collections::HashMap;

/// Reads a Gemfile.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "Gemfile.lock");
    let mut section = String::new();
    let mut in_specs = false;
    let mut current: Option<usize> = None;
    let mut deps: Vec<(usize, String)> = Vec::new();
    let mut direct: Vec<String> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut saw_section = false;
    for (n, line) in text.lines().enumerate() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            section = line.trim().to_string();
            saw_section = true;
            in_specs = false;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t == "specs:" {
            in_specs = true;
            continue;
        }
        if section == "DEPENDENCIES" && indent == 2 {
            direct.push(t.split([' ', '!']).next().unwrap_or(t).to_string());
            continue;
        }
        if !in_specs || !matches!(section.as_str(), "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE") {
            continue;
        }
        let (name, ver) = match t.split_once(' ') {
            Some((a, b)) => (a, b.trim().trim_start_matches('(').trim_end_matches(')')),
            None => (t, ""),
        };
        if indent == 4 {
            if ver.is_empty() {
                inv.warn(format!("line {}: gem {name:?} without a version", n + 1));
                current = None;
                continue;
            }
            // strip a platform suffix such as "-x86_64-linux" / "-java"
            let version = strip_platform(ver);
            let mut c = Component::new(
                Ecosystem::RubyGems,
                name,
                version,
                format!("line {} ({section})", n + 1),
            );
            c.local = section != "GEM";
            let i = inv.push(c);
            by_name.insert(name.to_string(), i);
            current = Some(i);
        } else if indent == 6
            && let Some(cur) = current
        {
            deps.push((cur, name.to_string()));
        }
    }
    if !saw_section {
        return Err(InputError::new(file, "not a Gemfile.lock (no sections)"));
    }
    for (from, d) in deps {
        if let Some(&to) = by_name.get(&d) {
            inv.edges.push((from, to));
        }
    }
    for d in direct {
        if let Some(&i) = by_name.get(&d) {
            inv.components[i].direct = Some(true);
        }
    }
    Ok(inv)
}

fn strip_platform(v: &str) -> &str {
    match v.find('-') {
        Some(i)
            if v[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic())
                && !v[i + 1..].starts_with("pre") =>
        {
            &v[..i]
        }
        _ => v,
    }
}
