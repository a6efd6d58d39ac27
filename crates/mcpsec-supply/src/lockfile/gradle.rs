//! `gradle.lockfile`: `group:artifact:version=configurations` lines.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;

/// Reads a gradle.lockfile.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "gradle.lockfile");
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("empty=") {
            continue;
        }
        let coords = t.split('=').next().unwrap_or(t);
        let parts: Vec<&str> = coords.split(':').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            inv.warn(format!("line {}: not group:artifact:version: {t:?}", n + 1));
            continue;
        }
        inv.push(Component::new(
            Ecosystem::Maven,
            &format!("{}:{}", parts[0], parts[1]),
            parts[2],
            format!("line {}", n + 1),
        ));
    }
    Ok(inv)
}
