//! What a scan looks at: components (identified by purl) from one input file, the
//! dependency edges the input records, and per-element warnings.

use crate::purl::Purl;
use crate::version::Ecosystem;
use serde::{Deserialize, Serialize};

/// One package occurrence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Component {
    /// Ecosystem, when the purl type is known.
    pub ecosystem: Option<Ecosystem>,
    /// Package name as the ecosystem's advisories write it (`group:artifact` for Maven,
    /// `@scope/name` for npm, module path for Go).
    pub name: String,
    /// Version ("" when the input gives none).
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Whether the input marks it as a direct dependency (None: unknown).
    pub direct: Option<bool>,
    /// Not from a package registry (workspace, path or git source): registry advisories
    /// are not matched against it, as cargo-audit and osv-scanner do.
    pub local: bool,
    /// Distribution release for OS packages (purl `distro` qualifier: `debian-12`,
    /// `bookworm`, `alpine-3.19`, `ubuntu-22.04`); advisories for other releases of the
    /// same distribution are then not matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    /// Where in the input it was found (e.g. `packages["node_modules/x"]`).
    pub location: String,
    /// The SBOM's identifier for it (CycloneDX `bom-ref`, SPDX `SPDXID`), which VEX
    /// statements may name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Licences as the input declares them: SPDX expressions, ids or free-text names
    /// (several entries all apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
}

impl Component {
    /// A component of a known ecosystem.
    pub fn new(
        eco: Ecosystem,
        name: &str,
        version: &str,
        location: impl Into<String>,
    ) -> Component {
        Component {
            ecosystem: Some(eco),
            name: name.to_string(),
            version: version.to_string(),
            purl: Purl::for_package(eco, name, version).to_string(),
            direct: None,
            local: false,
            distro: None,
            location: location.into(),
            bom_ref: None,
            licenses: vec![],
        }
    }
}

/// Everything read from one input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// The input file.
    pub file: String,
    /// Its format (`Cargo.lock`, `CycloneDX 1.5 JSON`...).
    pub format: String,
    /// The components.
    pub components: Vec<Component>,
    /// Dependency edges (indices into `components`: from depends on to).
    pub edges: Vec<(usize, usize)>,
    /// Problems with single elements; the rest of the file was read.
    pub warnings: Vec<String>,
    /// The product the input describes (CycloneDX `metadata.component`), if it says.
    pub product: ProductRef,
    /// SBOM components that cannot be matched against advisories (no purl, or a purl type
    /// no advisory source uses) but still count for licence checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<Component>,
    /// Findings another scanner reported (when the input is a scanner report), each with
    /// its source tool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reported: Vec<crate::reports::ReportedFinding>,
}

/// The product an input describes (its `metadata.component`), for product-level VEX.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductRef {
    /// bom-ref, purl and name of the described product (those given).
    pub ids: Vec<String>,
    /// Its version.
    pub version: Option<String>,
}

impl ProductRef {
    /// Whether nothing identifies the product.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Inventory {
    /// An empty inventory for a file.
    pub fn new(file: &str, format: &str) -> Inventory {
        Inventory {
            file: file.to_string(),
            format: format.to_string(),
            ..Default::default()
        }
    }

    /// Adds a component and returns its index.
    pub fn push(&mut self, c: Component) -> usize {
        self.components.push(c);
        self.components.len() - 1
    }

    /// Records a component that advisories cannot name (for licence checks only).
    pub fn push_unmatched(
        &mut self,
        name: &str,
        version: Option<&str>,
        purl: Option<&str>,
        licenses: Vec<String>,
        location: String,
    ) {
        if location.starts_with("metadata") {
            return; // the described product itself
        }
        self.unmatched.push(Component {
            ecosystem: None,
            name: name.to_string(),
            version: version.unwrap_or_default().to_string(),
            purl: purl.unwrap_or_default().to_string(),
            direct: None,
            local: false,
            distro: None,
            location,
            bom_ref: None,
            licenses,
        });
    }

    /// Records a warning about one element.
    pub fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }

    /// For each component, the components that depend on it.
    pub fn parents(&self) -> Vec<Vec<usize>> {
        let n = self.components.len();
        let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b) in &self.edges {
            if a < n && b < n && a != b {
                parents[b].push(a);
            }
        }
        parents
    }

    /// The shortest dependency chain from a root to component `i` (BFS over reversed
    /// edges; cycles are fine). Returns component indices root-first.
    pub fn path_to(&self, i: usize) -> Vec<usize> {
        self.path_with(&self.parents(), i)
    }

    /// [`Inventory::path_to`] with precomputed [`Inventory::parents`].
    pub fn path_with(&self, parents: &[Vec<usize>], i: usize) -> Vec<usize> {
        let n = self.components.len().min(parents.len());
        let mut prev = vec![usize::MAX; n];
        let mut seen = vec![false; n];
        let mut q = std::collections::VecDeque::from([i]);
        if i >= n {
            return vec![];
        }
        seen[i] = true;
        let mut last = i;
        while let Some(x) = q.pop_front() {
            last = x;
            if parents[x].is_empty() {
                break;
            }
            for &p in &parents[x] {
                if p < n && !seen[p] {
                    seen[p] = true;
                    prev[p] = x;
                    q.push_back(p);
                }
            }
        }
        let mut path = vec![last];
        let mut cur = last;
        while prev[cur] != usize::MAX {
            cur = prev[cur];
            path.push(cur);
        }
        path
    }
}

/// A whole input that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct InputError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// Builds an error.
    pub fn new(file: &str, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_string(),
            message: message.into(),
        }
    }
}

/// The release number a distro string names: `debian-11` → `11`, `bookworm` → `12`,
/// `alpine-3.19.1` → `3.19.1`, `Alpine:v3.19` → `3.19`, `Ubuntu:22.04:LTS` → `22.04`.
pub fn distro_release(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    for (code, n) in [
        ("trixie", "13"),
        ("bookworm", "12"),
        ("bullseye", "11"),
        ("buster", "10"),
        ("stretch", "9"),
        ("jessie", "8"),
        ("noble", "24.04"),
        ("jammy", "22.04"),
        ("focal", "20.04"),
        ("bionic", "18.04"),
    ] {
        if lower.contains(code) {
            return Some(n.to_string());
        }
    }
    let start = lower.find(|c: char| c.is_ascii_digit())?;
    let rel: String = lower[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    Some(rel.trim_end_matches('.').to_string()).filter(|r| !r.is_empty())
}

/// Whether a component's distro release is covered by an advisory's ecosystem release
/// (`3.19.1` is covered by `3.19`). Unknown on either side: covered.
pub fn distro_matches(component: Option<&str>, advisory_ecosystem: &str) -> bool {
    let Some((_, rel)) = advisory_ecosystem.split_once(':') else {
        return true;
    };
    let (Some(c), Some(a)) = (component.and_then(distro_release), distro_release(rel)) else {
        return true;
    };
    c == a || c.starts_with(&format!("{a}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distro_releases() {
        assert_eq!(distro_release("debian-11").as_deref(), Some("11"));
        assert_eq!(distro_release("bookworm").as_deref(), Some("12"));
        assert_eq!(distro_release("alpine-3.19.1").as_deref(), Some("3.19.1"));
        assert!(distro_matches(Some("alpine-3.19.1"), "Alpine:v3.19"));
        assert!(!distro_matches(Some("alpine-3.18.4"), "Alpine:v3.19"));
        assert!(distro_matches(Some("debian-12"), "Debian:12"));
        assert!(!distro_matches(Some("bullseye"), "Debian:12"));
        assert!(distro_matches(None, "Debian:12"));
        assert!(distro_matches(Some("ubuntu-22.04"), "Ubuntu:22.04:LTS"));
        assert!(distro_matches(Some("debian-12"), "Debian"));
    }
}
