//! Elixir `mix.lock`: `"name": {:hex, :name, "version", ...}` entries (git and path
//! dependencies are local).

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;

/// Reads a mix.lock.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "mix.lock");
    let t = text.trim();
    if !t.is_empty() && !t.starts_with('%') {
        return Err(InputError::new(
            file,
            "not a mix.lock (does not start with %{)",
        ));
    }
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        let Some(rest) = l.split_once(": {").map(|(_, r)| r) else {
            continue;
        };
        let key = l.split(':').next().unwrap_or("").trim().trim_matches('"');
        let parts: Vec<&str> = rest.splitn(4, ", ").collect();
        match parts.first().copied() {
            Some(":hex") if parts.len() >= 3 => {
                let name = parts[1].trim_start_matches(':');
                let version = parts[2].trim_matches('"');
                inv.push(Component::new(
                    Ecosystem::Hex,
                    name,
                    version,
                    format!("line {} {key}", n + 1),
                ));
            }
            Some(":git") | Some(":path") => {}
            _ => inv.warn(format!("line {}: unrecognised entry {key:?}", n + 1)),
        }
    }
    Ok(inv)
}
