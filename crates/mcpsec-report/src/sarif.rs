//! SARIF 2.1.0 for the findings of a supply report: one run, one rule per vulnerability
//! id, one result per vulnerable component of a project, located in the project's SBOM
//! file. `security-severity` carries the CVSS score so code-scanning UIs rank results.

use crate::error::ReportError;
use crate::model::ReportData;
use crate::supply::{ProjectPosture, SupplyFinding};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

/// A score for ranking when the advisory gives none, in the middle of its severity band.
fn fallback_score(severity: &str) -> f64 {
    match severity {
        "critical" => 9.5,
        "high" => 8.0,
        "medium" => 5.5,
        "low" => 2.0,
        _ => 0.0,
    }
}

/// Percent-encodes a file name into a relative URI reference (unreserved characters
/// and `/` kept).
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if out.is_empty() || out.starts_with('/') {
        // Never an absolute path of the server's machine.
        out.insert_str(0, "sbom");
    }
    out
}

fn rule(f: &SupplyFinding) -> Value {
    let score = f.score.unwrap_or_else(|| fallback_score(&f.severity));
    let mut r = json!({
        "id": f.id,
        "shortDescription": {"text": if f.summary.is_empty() { f.id.clone() } else { f.summary.clone() }},
        "fullDescription": {"text": format!("{} ({})", f.id, if f.aliases.is_empty() { "no aliases".to_owned() } else { f.aliases.join(", ") })},
        "defaultConfiguration": {"level": level(&f.severity)},
        "properties": {
            "security-severity": format!("{score:.1}"),
            "tags": ["security", "supply-chain", f.severity],
        },
    });
    if let Some(u) = &f.url {
        r["helpUri"] = json!(u);
    }
    r
}

fn result(p: &ProjectPosture, f: &SupplyFinding, index: usize) -> Value {
    let fix = match &f.fixed {
        Some(v) => format!("upgrade to {v}"),
        None => "no fixed version is published".to_owned(),
    };
    json!({
        "ruleId": f.id,
        "ruleIndex": index,
        "level": level(&f.severity),
        "message": {"text": format!(
            "{}@{} in project {} (SBOM version {}) is affected by {}: {}; {fix}.",
            f.package, f.version, p.name, p.version, f.id,
            if f.summary.is_empty() { "no summary" } else { &f.summary }
        )},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri(&p.file_name)}},
            "logicalLocations": [{
                "name": format!("{}@{}", f.package, f.version),
                "fullyQualifiedName": f.purl,
                "kind": "module",
            }],
        }],
        "partialFingerprints": {
            "mcpsecFinding/v1": format!("{}|{}|{}|{}", p.id, f.purl, f.version, f.id),
        },
        "properties": {
            "project": p.name,
            "projectId": p.id,
            "sbomVersion": p.version,
            "purl": f.purl,
            "fixedVersion": f.fixed,
            "knownExploited": f.known_exploited,
            "location": f.location,
        },
    })
}

/// The SARIF log of a supply report; [`ReportError::Invalid`] for other kinds, which
/// hold no findings.
pub(crate) fn render(r: &ReportData) -> Result<Vec<u8>, ReportError> {
    let Some(s) = &r.supply else {
        return Err(ReportError::Invalid(format!(
            "SARIF holds findings: only the supply report can be written as SARIF, not {:?}",
            r.kind
        )));
    };
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for p in &s.projects {
        for f in &p.findings {
            let i = *index.entry(f.id.as_str()).or_insert_with(|| {
                rules.push(rule(f));
                rules.len() - 1
            });
            results.push(result(p, f, i));
        }
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcpsec",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("mcpsec/supply/{}/", r.tenant)},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": r.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }],
            "results": results,
            "properties": {"tenant": r.tenant, "licencePolicy": s.policy},
        }],
    });
    serde_json::to_vec_pretty(&log)
        .map_err(|e| ReportError::Render(format!("cannot encode the SARIF log: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri("bom.json"), "bom.json");
        assert_eq!(uri("my bom#1.json"), "my%20bom%231.json");
        assert_eq!(uri("/etc/x"), "sbom/etc/x");
        assert_eq!(uri(""), "sbom");
    }

    #[test]
    fn other_kinds_are_refused_clearly() {
        let r = crate::tests::empty();
        let e = render(&r).expect_err("no findings");
        assert!(e.to_string().contains("only the supply report"), "{e}");
    }
}
