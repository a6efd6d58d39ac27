//! Installed OS packages: dpkg's `status` database and apk's `installed` database.
//! Components are named by their *source* package (with the source version when dpkg
//! records one), as Debian's and Alpine's advisories are.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;

/// Reads `/var/lib/dpkg/status`.
pub fn parse_dpkg(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "dpkg status");
    if !text.trim().is_empty() && !text.lines().any(|l| l.starts_with("Package:")) {
        return Err(InputError::new(
            file,
            "not a dpkg status file (no Package: fields)",
        ));
    }
    let mut line_no = 1;
    for para in text.split("\n\n") {
        let start = line_no;
        line_no += para.lines().count() + 1;
        let field = |k: &str| para.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
        let Some(pkg) = field("Package:") else {
            continue;
        };
        if !field("Status:").is_some_and(|s| s.ends_with(" installed")) {
            continue;
        }
        let Some(version) = field("Version:") else {
            inv.warn(format!("line {start}: package {pkg:?} has no Version"));
            continue;
        };
        let (name, version) = match field("Source:") {
            Some(src) => match src.split_once(" (") {
                Some((n, v)) => (n.trim(), v.trim_end_matches(')').trim()),
                None => (src, version),
            },
            None => (pkg, version),
        };
        let eco = if version.contains("ubuntu") {
            Ecosystem::Ubuntu
        } else {
            Ecosystem::Debian
        };
        inv.push(Component::new(
            eco,
            name,
            version,
            format!("line {start} Package {pkg}"),
        ));
    }
    Ok(inv)
}

/// Reads `/lib/apk/db/installed`.
pub fn parse_apk(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "apk installed");
    if !text.trim().is_empty() && !text.lines().any(|l| l.starts_with("P:")) {
        return Err(InputError::new(
            file,
            "not an apk installed database (no P: fields)",
        ));
    }
    let mut line_no = 1;
    for para in text.split("\n\n") {
        let start = line_no;
        line_no += para.lines().count() + 1;
        let field = |k: &str| para.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
        let Some(pkg) = field("P:") else { continue };
        let Some(version) = field("V:") else {
            inv.warn(format!("line {start}: package {pkg:?} has no V: version"));
            continue;
        };
        let name = field("o:").unwrap_or(pkg);
        inv.push(Component::new(
            Ecosystem::Alpine,
            name,
            version,
            format!("line {start} P:{pkg}"),
        ));
    }
    Ok(inv)
}
