//! The advisory model: OSV schema 1.x fields the matcher and the reports need.

use crate::cvss::{self, Severity};
use crate::version::Ecosystem;
use serde::{Deserialize, Serialize};

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// One advisory (OSV `Vulnerability`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Advisory {
    /// Identifier (`GHSA-…`, `RUSTSEC-…`, `GO-…`, `PYSEC-…`, `CVE-…`).
    pub id: String,
    /// Last modification time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Publication time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Withdrawal time; a withdrawn advisory is never reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other identifiers of the same vulnerability.
    #[serde(skip_serializing_if = "is_empty")]
    pub aliases: Vec<String>,
    /// Related but different vulnerabilities.
    #[serde(skip_serializing_if = "is_empty")]
    pub related: Vec<String>,
    /// One-line summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity vectors.
    #[serde(skip_serializing_if = "is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// Affected packages.
    #[serde(skip_serializing_if = "is_empty")]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(skip_serializing_if = "is_empty")]
    pub references: Vec<Reference>,
    /// Source-specific data (GHSA `severity`, RustSec `informational`, ...).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub database_specific: serde_json::Value,
}

/// A severity entry (`CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SeverityEntry {
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Vector or value.
    pub score: String,
}

/// A reference link.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Reference {
    /// Type (ADVISORY, FIX, WEB...).
    #[serde(rename = "type")]
    pub kind: String,
    /// URL.
    pub url: String,
}

/// A package as advisories name it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Package {
    /// OSV ecosystem string (`crates.io`, `PyPI`, `Debian:12`...).
    pub ecosystem: String,
    /// Package name.
    pub name: String,
    /// Package URL, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// One affected package with its ranges and explicit versions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Affected {
    /// The package.
    pub package: Package,
    /// Version ranges.
    #[serde(skip_serializing_if = "is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    #[serde(skip_serializing_if = "is_empty")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (Go `imports`, RustSec `affects`).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub ecosystem_specific: serde_json::Value,
    /// Database-specific data.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub database_specific: serde_json::Value,
}

/// The kind of a range.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum RangeKind {
    /// SemVer 2.0 versions.
    #[serde(rename = "SEMVER")]
    Semver,
    /// The ecosystem's own versions.
    #[default]
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    /// Commit hashes (not matchable against version-only inventories).
    #[serde(rename = "GIT")]
    Git,
}

/// A range: events sorted by version form affected intervals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Range {
    /// How versions compare.
    #[serde(rename = "type")]
    pub kind: RangeKind,
    /// Repository (GIT ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Events.
    pub events: Vec<Event>,
}

/// One range event: exactly one field is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Event {
    /// Start of an affected interval (inclusive); `"0"` = from the beginning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// End of an interval (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// End of an interval (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper limit of the whole range (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Event {
    /// An `introduced` event.
    pub fn introduced(v: impl Into<String>) -> Self {
        Event {
            introduced: Some(v.into()),
            ..Default::default()
        }
    }
    /// A `fixed` event.
    pub fn fixed(v: impl Into<String>) -> Self {
        Event {
            fixed: Some(v.into()),
            ..Default::default()
        }
    }
    /// A `last_affected` event.
    pub fn last_affected(v: impl Into<String>) -> Self {
        Event {
            last_affected: Some(v.into()),
            ..Default::default()
        }
    }
    /// The version of whichever field is set.
    pub fn version(&self) -> Option<&str> {
        self.introduced
            .as_deref()
            .or(self.fixed.as_deref())
            .or(self.last_affected.as_deref())
            .or(self.limit.as_deref())
    }
}

impl Advisory {
    /// Checks the fields the matcher relies on; the error says which element is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("missing \"id\"".into());
        }
        for (i, a) in self.affected.iter().enumerate() {
            // OSV allows an entry without a package when its ranges are GIT ranges of a
            // repository (e.g. OSS-Fuzz's C/C++ advisories)
            let git_only = !a.ranges.is_empty()
                && a.ranges.iter().all(|r| {
                    r.kind == RangeKind::Git
                        && r.repo.as_deref().is_some_and(|u| !u.trim().is_empty())
                });
            if a.package.name.trim().is_empty() && a.package.purl.is_none() && !git_only {
                return Err(format!("affected[{i}]: package without a name"));
            }
            for (j, r) in a.ranges.iter().enumerate() {
                if r.events.is_empty() {
                    return Err(format!("affected[{i}].ranges[{j}]: no events"));
                }
                for (k, e) in r.events.iter().enumerate() {
                    let set = [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
                        .iter()
                        .filter(|x| x.is_some())
                        .count();
                    if set != 1 {
                        return Err(format!(
                            "affected[{i}].ranges[{j}].events[{k}]: must have exactly one of introduced/fixed/last_affected/limit"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// RustSec's informational kind (`unmaintained`, `unsound`, `notice`), if any.
    pub fn informational(&self) -> Option<&str> {
        self.database_specific
            .get("informational")
            .and_then(|v| v.as_str())
            .or_else(|| {
                self.affected.iter().find_map(|a| {
                    a.database_specific
                        .get("informational")
                        .and_then(|v| v.as_str())
                })
            })
    }

    /// The CVSS reading of the advisory: v3.1, else v3.0, else v4.0, else v2 (v3 stays
    /// first while advisories and other scanners mostly rank by it; v4 is used when an
    /// advisory gives only v4).
    pub fn cvss(&self) -> Option<cvss::Scored> {
        let rank = |v: &str| match v {
            "3.1" => 4,
            "3.0" => 3,
            "4.0" => 2,
            _ => 1,
        };
        let mut best: Option<cvss::Scored> = None;
        for s in &self.severity {
            if !s.kind.starts_with("CVSS") {
                continue;
            }
            if let Ok(sc) = cvss::score(&s.score) {
                let better = match &best {
                    None => true,
                    Some(b) => {
                        (sc.score.is_some() && b.score.is_none())
                            || (sc.score.is_some() == b.score.is_some()
                                && rank(sc.version) > rank(b.version))
                    }
                };
                if better {
                    best = Some(sc);
                }
            }
        }
        best
    }

    /// The severity: from a CVSS vector when one can be scored, else from a word in
    /// `database_specific.severity` (GHSA) or a non-CVSS severity entry.
    pub fn severity_rating(&self) -> Severity {
        if let Some(s) = self.cvss().filter(|s| s.score.is_some()) {
            return s.severity;
        }
        let word = self
            .database_specific
            .get("severity")
            .and_then(|v| v.as_str())
            .or_else(|| {
                self.affected
                    .iter()
                    .find_map(|a| a.database_specific.get("severity").and_then(|v| v.as_str()))
            })
            .or_else(|| {
                self.severity
                    .iter()
                    .find(|s| !s.kind.starts_with("CVSS"))
                    .map(|s| s.score.as_str())
            });
        word.and_then(Severity::from_word)
            .unwrap_or(Severity::Unknown)
    }

    /// Ecosystems named by the affected entries that this crate knows.
    pub fn ecosystems(&self) -> Vec<Ecosystem> {
        let mut v: Vec<Ecosystem> = self
            .affected
            .iter()
            .filter_map(|a| Ecosystem::from_osv(&a.package.ecosystem))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
