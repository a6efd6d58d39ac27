//! Reading advisories from files, directory trees and zip archives. A file that cannot
//! be read or understood becomes a [`LoadWarning`] naming it; loading goes on.

use super::model::Advisory;
use super::rustsec::parse_rustsec;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A problem with one file or archive entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// The file (for zip entries: `archive.zip!entry`).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The advisories read.
    pub advisories: Vec<Advisory>,
    /// Files skipped with a reason.
    pub warnings: Vec<LoadWarning>,
    /// Files ignored on purpose (READMEs, templates, toolchain advisories).
    pub ignored: usize,
}

/// Largest single advisory file accepted (OSV entries are a few KiB; the largest known
/// are under 2 MiB).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Parses one OSV document (JSON, or YAML when `yaml`); a JSON array of advisories is
/// accepted too.
pub fn parse_osv(bytes: &[u8], yaml: bool) -> Result<Vec<Advisory>, String> {
    let value: serde_json::Value = if yaml {
        serde_norway::from_slice(bytes).map_err(|e| format!("invalid YAML: {e}"))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?
    };
    let items = match value {
        serde_json::Value::Array(a) => a,
        v @ serde_json::Value::Object(_) => vec![v],
        _ => return Err("not an OSV object".into()),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        let a: Advisory = serde_json::from_value(v)
            .map_err(|e| format!("element {i}: not an OSV advisory: {e}"))?;
        a.validate()
            .map_err(|e| format!("advisory {:?}: {e}", a.id))?;
        out.push(a);
    }
    Ok(out)
}

enum Kind {
    Json,
    Yaml,
    Markdown,
    Zip,
    Other,
}

fn kind_of(name: &str) -> Kind {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Kind::Json
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Kind::Yaml
    } else if lower.ends_with(".md") {
        Kind::Markdown
    } else if lower.ends_with(".zip") {
        Kind::Zip
    } else {
        Kind::Other
    }
}

/// Loads advisories from a file, a directory tree or a zip archive.
pub fn load_path(path: &Path) -> LoadReport {
    let mut r = LoadReport::default();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            r.warnings.push(LoadWarning {
                file: path.display().to_string(),
                message: format!("cannot read: {e}"),
            });
            return r;
        }
    };
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files, &mut r);
        files.sort();
        for f in files {
            load_file(&f, &mut r);
        }
    } else {
        load_file(path, &mut r);
    }
    r
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, r: &mut LoadReport) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            r.warnings.push(LoadWarning {
                file: dir.display().to_string(),
                message: format!("cannot list: {e}"),
            });
            return;
        }
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if name.starts_with('.') || name == "LICENSES" {
                continue;
            }
            // RustSec's `rust/` holds toolchain advisories, not crates.
            if name == "rust" && dir.join("crates").is_dir() {
                r.ignored += 1;
                continue;
            }
            walk(&p, out, r);
        } else if ft.is_file() {
            out.push(p);
        }
    }
}

fn load_file(path: &Path, r: &mut LoadReport) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = kind_of(&name);
    if matches!(kind, Kind::Other)
        || name.eq_ignore_ascii_case("EXAMPLE_ADVISORY.md")
        || name.eq_ignore_ascii_case("README.md")
    {
        r.ignored += 1;
        return;
    }
    let file = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE && !matches!(kind, Kind::Zip) => {
            r.warnings.push(LoadWarning {
                file,
                message: format!("too large ({} bytes)", m.len()),
            });
            return;
        }
        Err(e) => {
            r.warnings.push(LoadWarning {
                file,
                message: format!("cannot read: {e}"),
            });
            return;
        }
        _ => {}
    }
    if matches!(kind, Kind::Zip) {
        load_zip(path, r);
        return;
    }
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&file, &name, &bytes, r),
        Err(e) => r.warnings.push(LoadWarning {
            file,
            message: format!("cannot read: {e}"),
        }),
    }
}

fn load_bytes(file: &str, name: &str, bytes: &[u8], r: &mut LoadReport) {
    let res = match kind_of(name) {
        Kind::Json => parse_osv(bytes, false),
        Kind::Yaml => parse_osv(bytes, true),
        Kind::Markdown => {
            let text = String::from_utf8_lossy(bytes);
            if !text.trim_start().starts_with("```toml") {
                r.ignored += 1;
                return;
            }
            parse_rustsec(&text).map(|a| vec![a])
        }
        _ => {
            r.ignored += 1;
            return;
        }
    };
    match res {
        Ok(mut v) => r.advisories.append(&mut v),
        Err(message) => r.warnings.push(LoadWarning {
            file: file.to_string(),
            message,
        }),
    }
}

fn load_zip(path: &Path, r: &mut LoadReport) {
    let file = path.display().to_string();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            r.warnings.push(LoadWarning {
                file,
                message: format!("cannot open: {e}"),
            });
            return;
        }
    };
    let mut z = match zip::ZipArchive::new(std::io::BufReader::new(f)) {
        Ok(z) => z,
        Err(e) => {
            r.warnings.push(LoadWarning {
                file,
                message: format!("not a zip archive: {e}"),
            });
            return;
        }
    };
    for i in 0..z.len() {
        let mut entry = match z.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                r.warnings.push(LoadWarning {
                    file: format!("{file}!#{i}"),
                    message: format!("bad entry: {e}"),
                });
                continue;
            }
        };
        if !entry.is_file() {
            continue;
        }
        let name = entry.name().to_string();
        let ename = format!("{file}!{name}");
        if entry.size() > MAX_FILE {
            r.warnings.push(LoadWarning {
                file: ename,
                message: format!("too large ({} bytes)", entry.size()),
            });
            continue;
        }
        let mut buf = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        if let Err(e) = (&mut entry).take(MAX_FILE).read_to_end(&mut buf) {
            r.warnings.push(LoadWarning {
                file: ename,
                message: format!("cannot decompress: {e}"),
            });
            continue;
        }
        let base = name.rsplit('/').next().unwrap_or(&name).to_string();
        load_bytes(&ename, &base, &buf, r);
    }
}
