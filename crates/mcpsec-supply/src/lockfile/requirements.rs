//! pip `requirements.txt`: pinned requirements (`name==version`, `===`), with
//! extras, environment markers, hashes, comments and line continuations. Unpinned lines
//! are reported as warnings (their version is unknown); `-r`/`-c` includes are noted.

use crate::inventory::{Component, InputError, Inventory};
use crate::version::Ecosystem;

/// Reads a requirements file.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InputError> {
    let mut inv = Inventory::new(file, "requirements.txt");
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for (n, raw) in joined.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('-') {
            if line.starts_with("-r")
                || line.starts_with("-c")
                || line.starts_with("--requirement")
                || line.starts_with("--constraint")
            {
                inv.warn(format!(
                    "line {}: include {line:?} not followed (scan that file too)",
                    n + 1
                ));
            }
            continue;
        }
        let spec = line.split(';').next().unwrap_or(line);
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        let Some((name, version)) = spec.split_once("===").or_else(|| spec.split_once("==")) else {
            if spec.contains("://") || spec.starts_with('.') || spec.starts_with('/') {
                continue;
            }
            inv.warn(format!(
                "line {}: {spec:?} is not pinned with ==; skipped",
                n + 1
            ));
            continue;
        };
        let name = name.split('[').next().unwrap_or(name).trim();
        let version = version.split([',', ' ']).next().unwrap_or("").trim();
        if name.is_empty() || version.is_empty() || version.contains('*') {
            inv.warn(format!(
                "line {}: {spec:?} has no exact version; skipped",
                n + 1
            ));
            continue;
        }
        let mut c = Component::new(
            Ecosystem::PyPI,
            &Ecosystem::PyPI.normalize_name(name),
            version,
            format!("line {}", n + 1),
        );
        c.direct = Some(true);
        inv.push(c);
    }
    Ok(inv)
}
