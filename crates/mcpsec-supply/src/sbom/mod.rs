//! SBOM readers: CycloneDX (JSON 1.2–1.7, XML 1.0–1.7), SPDX 2.x (JSON, tag-value) and
//! SPDX 3.0 (JSON-LD).
//! Components are identified by their purl; those without one, or with a purl type no
//! advisory source uses, are listed as warnings (grouped), not silently dropped.

mod cyclonedx;
mod spdx;
mod spdx3;

pub use cyclonedx::{parse_cyclonedx_json, parse_cyclonedx_xml};
pub use spdx::{parse_spdx_json, parse_spdx_tag_value};
pub use spdx3::parse_spdx3_json;

use crate::inventory::{Component, Inventory};
use crate::purl::Purl;
use std::collections::BTreeMap;

/// Which SBOM format a text is, by content.
pub fn sniff(text: &str) -> Option<crate::lockfile::Reader> {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(4096)
        .collect();
    if head.starts_with('{') || head.starts_with('[') {
        if head.contains("\"bomFormat\"") || head.contains("cyclonedx") {
            return Some(parse_cyclonedx_json);
        }
        if head.contains("\"spdxVersion\"")
            || head.contains("\"SPDXID\"")
            || head.contains("spdx.org/rdf/3")
        {
            return Some(parse_spdx_json);
        }
        // the marker may come later in big documents
        if text.contains("\"bomFormat\"") {
            return Some(parse_cyclonedx_json);
        }
        if text.contains("\"spdxVersion\"") {
            return Some(parse_spdx_json);
        }
        return None;
    }
    if head.starts_with('<') && head.contains("cyclonedx.org/schema/bom") {
        return Some(parse_cyclonedx_xml);
    }
    if head.contains("SPDXVersion:") {
        return Some(parse_spdx_tag_value);
    }
    None
}

/// Collects purl problems so that one message per kind is reported.
#[derive(Default)]
pub(crate) struct PurlProblems {
    unknown_types: BTreeMap<String, Vec<String>>,
    missing: Vec<String>,
}

impl PurlProblems {
    /// Turns a purl string into a component, or records why not.
    pub(crate) fn component(
        &mut self,
        inv: &mut Inventory,
        purl: Option<&str>,
        name: &str,
        version: Option<&str>,
        location: String,
    ) -> Option<usize> {
        let Some(p) = purl.filter(|p| !p.trim().is_empty()) else {
            // the described application itself rarely has a purl: not worth a warning
            if !location.starts_with("metadata") {
                self.missing.push(location);
            }
            return None;
        };
        let parsed = match Purl::parse(p) {
            Ok(x) => x,
            Err(e) => {
                inv.warn(format!("{location}: {e}"));
                return None;
            }
        };
        let Some((eco, pname)) = parsed.ecosystem_and_name() else {
            if crate::osv::git_ref(&parsed).is_some() {
                return None; // matched against GIT ranges by repository
            }
            self.unknown_types
                .entry(parsed.ty.clone())
                .or_default()
                .push(name.to_string());
            return None;
        };
        let distro = parsed
            .qualifiers
            .iter()
            .find(|(k, _)| k == "distro")
            .map(|(_, v)| v.clone());
        let version = parsed
            .version
            .clone()
            .or_else(|| version.map(str::to_string))
            .unwrap_or_default();
        let c = Component {
            ecosystem: Some(eco),
            name: pname,
            version,
            purl: p.to_string(),
            direct: None,
            local: false,
            distro,
            location,
            bom_ref: None,
            licenses: vec![],
        };
        Some(inv.push(c))
    }

    /// Writes the grouped warnings.
    pub(crate) fn finish(self, inv: &mut Inventory) {
        for (ty, names) in self.unknown_types {
            let sample: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            inv.warn(format!(
                "{} component(s) with purl type {ty:?} have no vulnerability source (e.g. {})",
                names.len(),
                sample.join(", ")
            ));
        }
        if !self.missing.is_empty() {
            let sample: Vec<&str> = self.missing.iter().take(3).map(String::as_str).collect();
            inv.warn(format!(
                "{} component(s) without a purl cannot be matched (e.g. {})",
                self.missing.len(),
                sample.join(", ")
            ));
        }
    }
}
