//! Field and logsource mapping, loaded from YAML data files.
//!
//! The format extends the classic sigmac/THOR configuration, so such files load as is:
//!
//! ```yaml
//! fieldpaths:              # Sigma field -> event paths, the first present wins
//!   EventID: [Event.System.EventID, winlog.event_id]
//! fallback_prefixes: ["", "Event.EventData."]   # for fields not listed above
//! fieldmappings:           # Sigma field -> other field name(s), for every logsource
//!   TargetFilename: Path
//! logsources:
//!   process_creation_1:
//!     category: process_creation
//!     product: windows
//!     conditions: {EventID: 1}
//!     rewrite: {product: windows, service: sysmon}   # also apply that logsource's conditions
//!   windows-sysmon:
//!     product: windows
//!     service: sysmon
//!     sources: ["WinEventLog:Microsoft-Windows-Sysmon/Operational"]   # Channel condition
//!     fieldmappings: {Image: NewProcessName}                          # only for this branch
//! ```

use crate::error::{Location, Result, SigmaError, invalid};
use crate::parse::scalar_text;
use crate::rule::{LogSource, SigmaValue};
use serde::Deserialize;
use serde_norway::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The mapping for EVTX-shaped JSON (`Event.System.*`, `Event.EventData.*`).
pub const EVTX_MAPPING: &str = include_str!("../mappings/evtx.yml");
/// The mapping for ECS-shaped JSON (`process.command_line`, `winlog.event_data.*`).
pub const ECS_MAPPING: &str = include_str!("../mappings/ecs.yml");

#[derive(Debug, Default, Deserialize)]
struct MappingFile {
    #[serde(default)]
    fieldpaths: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    fallback_prefixes: Option<Vec<String>>,
    #[serde(default)]
    fieldmappings: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    logsources: BTreeMap<String, EntryFile>,
    #[serde(default)]
    product_markers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct EntryFile {
    category: Option<String>,
    product: Option<String>,
    service: Option<String>,
    #[serde(default)]
    conditions: BTreeMap<String, Value>,
    #[serde(default)]
    sources: Vec<String>,
    rewrite: Option<Rewrite>,
    #[serde(default)]
    fieldmappings: BTreeMap<String, OneOrMany>,
}

#[derive(Debug, Default, Deserialize)]
struct Rewrite {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    category: Option<String>,
    product: Option<String>,
    service: Option<String>,
    conditions: Vec<(String, Vec<SigmaValue>)>,
    rewrite: Option<(Option<String>, Option<String>, Option<String>)>,
    fieldmappings: HashMap<String, Vec<String>>,
}

/// One way a logsource shows up in events: conditions (AND-ed) and field renames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsourceBranch {
    /// Names of the mapping entries that make up this branch.
    pub entries: Vec<String>,
    /// Field = any of the values, all must hold.
    pub conditions: Vec<(String, Vec<SigmaValue>)>,
    /// Sigma field → field name(s) used in this branch.
    pub fieldmappings: HashMap<String, Vec<String>>,
    /// Fields that must be present (`true`) or absent (`false`): product markers.
    pub exists: Vec<(String, bool)>,
}

/// Field paths and logsource conditions for one event shape (or several, merged).
#[derive(Debug, Clone, Default)]
pub struct FieldMapping {
    fieldpaths: HashMap<String, Vec<String>>,
    fallback_prefixes: Vec<String>,
    fieldmappings: HashMap<String, Vec<String>>,
    entries: Vec<Entry>,
    product_markers: Vec<(String, String)>,
}

impl FieldMapping {
    /// The built-in mapping: EVTX JSON first, then ECS candidates for the same fields.
    pub fn builtin() -> FieldMapping {
        let mut m = FieldMapping::from_yaml(EVTX_MAPPING, None).unwrap_or_default();
        if let Ok(ecs) = FieldMapping::from_yaml(ECS_MAPPING, None) {
            m.merge(ecs);
        }
        m
    }

    /// A mapping that knows no fields and no logsources (names are looked up as paths).
    pub fn empty() -> FieldMapping {
        FieldMapping {
            fallback_prefixes: vec![String::new()],
            ..FieldMapping::default()
        }
    }

    /// Loads a mapping file.
    pub fn from_file(path: &Path) -> Result<FieldMapping> {
        let text = std::fs::read_to_string(path).map_err(|source| SigmaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        FieldMapping::from_yaml(&text, Some(path))
    }

    /// Parses a mapping from YAML text.
    pub fn from_yaml(text: &str, file: Option<&Path>) -> Result<FieldMapping> {
        let f: MappingFile = serde_norway::from_str(text).map_err(|e| SigmaError::Yaml {
            at: Location {
                file: file.map(Path::to_path_buf),
                line: e.location().map(|l| l.line()),
                rule: None,
            },
            message: e.to_string(),
        })?;
        let mut entries = Vec::new();
        for (name, e) in f.logsources {
            let mut conditions = Vec::new();
            for (field, v) in e.conditions {
                let values = match v {
                    Value::Sequence(items) => items.iter().filter_map(to_sigma_value).collect(),
                    other => to_sigma_value(&other).into_iter().collect(),
                };
                conditions.push((field, values));
            }
            let channels: Vec<SigmaValue> = e
                .sources
                .iter()
                .filter_map(|s| s.strip_prefix("WinEventLog:"))
                .map(|c| SigmaValue::Str(c.replace('*', "\\*").replace('?', "\\?")))
                .collect();
            if !channels.is_empty() {
                conditions.push(("Channel".to_owned(), channels));
            }
            entries.push(Entry {
                name,
                category: e.category,
                product: e.product,
                service: e.service,
                conditions,
                rewrite: e.rewrite.map(|r| (r.category, r.product, r.service)),
                fieldmappings: e
                    .fieldmappings
                    .into_iter()
                    .map(|(k, v)| (k, v.into_vec()))
                    .collect(),
            });
        }
        if entries
            .iter()
            .any(|e| e.category.is_none() && e.product.is_none() && e.service.is_none())
        {
            return Err(
                invalid("a logsource entry must name a category, product or service")
                    .with_context(file, None),
            );
        }
        Ok(FieldMapping {
            fieldpaths: f
                .fieldpaths
                .into_iter()
                .map(|(k, v)| (k, v.into_vec()))
                .collect(),
            fallback_prefixes: f.fallback_prefixes.unwrap_or_else(|| vec![String::new()]),
            fieldmappings: f
                .fieldmappings
                .into_iter()
                .map(|(k, v)| (k, v.into_vec()))
                .collect(),
            entries,
            product_markers: f.product_markers.into_iter().collect(),
        })
    }

    /// A user's mapping on top of the built-in one: its field paths are tried first, the
    /// built-in ones after; its logsource entries replace the built-in ones when it has any.
    pub fn overlay(custom: FieldMapping) -> FieldMapping {
        let builtin = FieldMapping::builtin();
        let mut out = custom;
        let keep_entries = !out.entries.is_empty();
        let FieldMapping {
            fieldpaths,
            fallback_prefixes,
            fieldmappings,
            entries,
            product_markers,
        } = builtin;
        out.merge(FieldMapping {
            fieldpaths,
            fallback_prefixes,
            fieldmappings,
            entries: if keep_entries { Vec::new() } else { entries },
            product_markers,
        });
        out
    }

    /// Adds another mapping's knowledge after this one's (this one wins on conflicts).
    pub fn merge(&mut self, other: FieldMapping) {
        for (k, v) in other.fieldpaths {
            let list = self.fieldpaths.entry(k).or_default();
            for p in v {
                if !list.contains(&p) {
                    list.push(p);
                }
            }
        }
        for p in other.fallback_prefixes {
            if !self.fallback_prefixes.contains(&p) {
                self.fallback_prefixes.push(p);
            }
        }
        for (k, v) in other.fieldmappings {
            self.fieldmappings.entry(k).or_insert(v);
        }
        self.entries.extend(other.entries);
        for (p, f) in other.product_markers {
            if !self.product_markers.iter().any(|(q, _)| *q == p) {
                self.product_markers.push((p, f));
            }
        }
    }

    /// The event paths to try, in order, for a Sigma field in a branch: the listed
    /// `fieldpaths` of the (renamed) field first, then the fallback prefixes.
    pub fn paths(&self, field: &str, branch: Option<&LogsourceBranch>) -> Vec<String> {
        let names: Vec<String> = branch
            .and_then(|b| b.fieldmappings.get(field))
            .or_else(|| self.fieldmappings.get(field))
            .cloned()
            .unwrap_or_else(|| vec![field.to_owned()]);
        let mut out: Vec<String> = Vec::new();
        for name in &names {
            let listed = self
                .fieldpaths
                .get(name.as_str())
                .into_iter()
                .flatten()
                .cloned();
            let fallback = self
                .fallback_prefixes
                .iter()
                .map(|pre| format!("{pre}{name}"));
            for c in listed.chain(fallback) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// The ways a rule's logsource shows up in events (OR-ed). Empty: no restriction.
    ///
    /// `product_markers` (product → field) add a guard to every branch: a rule of that
    /// product needs the field present, a rule of another product (or of an unmapped
    /// logsource without product) needs it absent, so e.g. Linux or web-server rules are
    /// never tried on Windows events.
    pub fn branches(&self, ls: &LogSource) -> Vec<LogsourceBranch> {
        let mut out = Vec::new();
        for e in self.entries.iter().filter(|e| entry_matches(e, ls)) {
            self.expand(e, LogsourceBranch::default(), 0, &mut out);
        }
        let guard: Vec<(String, bool)> = match &ls.product {
            Some(p) => self
                .product_markers
                .iter()
                .map(|(q, f)| (f.clone(), q.eq_ignore_ascii_case(p)))
                .collect(),
            // A logsource without product that the mapping does not know (e.g. category
            // webserver or database) is not one of the marked products either.
            None if out.is_empty() && (ls.category.is_some() || ls.service.is_some()) => self
                .product_markers
                .iter()
                .map(|(_, f)| (f.clone(), false))
                .collect(),
            None => Vec::new(),
        };
        if guard.is_empty() {
            return out;
        }
        let names: Vec<String> = guard
            .iter()
            .map(|(f, want)| format!("{}{f}", if *want { "+" } else { "-" }))
            .collect();
        if out.is_empty() {
            out.push(LogsourceBranch::default());
        }
        for b in &mut out {
            b.entries.extend(names.iter().cloned());
            b.exists.extend(guard.iter().cloned());
        }
        out
    }

    fn expand(
        &self,
        e: &Entry,
        mut acc: LogsourceBranch,
        depth: usize,
        out: &mut Vec<LogsourceBranch>,
    ) {
        acc.entries.push(e.name.clone());
        acc.conditions.extend(e.conditions.iter().cloned());
        for (k, v) in &e.fieldmappings {
            acc.fieldmappings
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        let targets: Vec<&Entry> = match (&e.rewrite, depth < 4) {
            (Some((category, product, service)), true) => {
                let ls = LogSource {
                    category: category.clone(),
                    product: product.clone(),
                    service: service.clone(),
                    definition: None,
                };
                self.entries
                    .iter()
                    .filter(|t| t.name != e.name && entry_matches(t, &ls))
                    .collect()
            }
            _ => Vec::new(),
        };
        if targets.is_empty() {
            out.push(acc);
        } else {
            for t in targets {
                self.expand(t, acc.clone(), depth + 1, out);
            }
        }
    }
}

fn entry_matches(e: &Entry, ls: &LogSource) -> bool {
    if e.category.is_none() && e.service.is_none() && e.product.is_none() {
        return false;
    }
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    let product_ok = e.product.is_none() || same(&e.product, &ls.product);
    product_ok && same(&e.category, &ls.category) && same(&e.service, &ls.service)
}

fn to_sigma_value(v: &Value) -> Option<SigmaValue> {
    match v {
        Value::Number(n) => Some(SigmaValue::Num(
            n.as_f64().unwrap_or(f64::NAN),
            n.to_string(),
        )),
        Value::Null => Some(SigmaValue::Null),
        other => scalar_text(other).map(SigmaValue::Str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(category: Option<&str>, product: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            category: category.map(str::to_owned),
            product: product.map(str::to_owned),
            service: service.map(str::to_owned),
            definition: None,
        }
    }

    #[test]
    fn builtin_process_creation_has_sysmon_and_security_branches() {
        let m = FieldMapping::builtin();
        let b = m.branches(&ls(Some("process_creation"), Some("windows"), None));
        assert_eq!(b.len(), 2, "{b:#?}");
        let security = b
            .iter()
            .find(|b| b.fieldmappings.contains_key("Image"))
            .expect("security branch renames Image");
        assert_eq!(
            security.fieldmappings["Image"],
            vec!["NewProcessName".to_owned()]
        );
        let paths = m.paths("Image", Some(security));
        assert!(paths.contains(&"Event.EventData.NewProcessName".to_owned()));
        assert!(!paths.iter().any(|p| p.ends_with(".Image")));
    }

    #[test]
    fn fields_have_candidates_and_fallbacks() {
        let m = FieldMapping::builtin();
        let p = m.paths("Provider_Name", None);
        assert!(p.contains(&"Event.System.Provider.#attributes.Name".to_owned()));
        assert!(p.contains(&"Event.System.Provider_attributes.Name".to_owned()));
        let p = m.paths("SomeOddField", None);
        assert_eq!(p[0], "SomeOddField");
        assert!(p.contains(&"Event.EventData.SomeOddField".to_owned()));
        assert!(
            m.paths("CommandLine", None)
                .contains(&"process.command_line".to_owned())
        );
    }

    #[test]
    fn unknown_logsource_has_only_the_product_guard() {
        let m = FieldMapping::builtin();
        let b = m.branches(&ls(Some("nonexistent"), Some("windows"), None));
        assert_eq!(b.len(), 1);
        assert!(b[0].conditions.is_empty());
        assert_eq!(b[0].exists, vec![("Channel".to_owned(), true)]);
        let b = m.branches(&ls(None, Some("linux"), Some("auditd")));
        assert_eq!(b[0].exists, vec![("Channel".to_owned(), false)]);
        let b = m.branches(&ls(Some("webserver"), None, None));
        assert_eq!(b[0].exists, vec![("Channel".to_owned(), false)]);
        let b = m.branches(&ls(Some("antivirus"), None, None));
        assert_eq!(b.len(), 1, "antivirus maps to Defender: {b:?}");
        assert!(b[0].exists.is_empty(), "and needs no product guard");
    }

    #[test]
    fn broken_mapping_is_an_error() {
        assert!(FieldMapping::from_yaml("logsources: [1, 2", None).is_err());
        assert!(FieldMapping::from_yaml("logsources: {x: {conditions: {A: 1}}}", None).is_err());
    }
}
