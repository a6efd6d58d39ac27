//! SARIF 2.1.0 output: one rule per vulnerability id, one result per affected component,
//! located in the input file; `security-severity` carries the CVSS score for code-scanning
//! UIs.

use crate::cvss::Severity;
use crate::scan::ScanReport;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

fn default_score(s: Severity) -> f64 {
    match s {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        _ => 0.0,
    }
}

/// Builds the SARIF log for a report.
pub fn to_sarif(report: &ScanReport, tool_version: &str) -> Value {
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        let score = f
            .cvss
            .as_ref()
            .and_then(|c| c.score)
            .unwrap_or_else(|| default_score(f.severity));
        rules.entry(f.id.as_str()).or_insert_with(|| {
            json!({
                "id": f.id,
                "name": f.id.replace('-', ""),
                "shortDescription": { "text": if f.summary.is_empty() { f.id.clone() } else { f.summary.clone() } },
                "fullDescription": { "text": format!("{} (aliases: {})", if f.summary.is_empty() { &f.id } else { &f.summary }, f.aliases.join(", ")) },
                "helpUri": f.url.clone().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", f.id)),
                "help": { "text": format!("Upgrade {} to {}", f.package, f.fixed.as_deref().unwrap_or("a version without this vulnerability (no fixed version published)")) },
                "defaultConfiguration": { "level": level(f.severity) },
                "properties": {
                    "security-severity": format!("{score:.1}"),
                    "tags": ["security", "vulnerability", f.ecosystem.clone()],
                    "precision": "high"
                }
            })
        });
        let fix = match &f.fixed {
            Some(v) => format!("upgrade to {v}"),
            None => "no fixed version published".to_string(),
        };
        let mut text = format!(
            "{} {} is affected by {} ({}): {}; {fix}.",
            f.package, f.version, f.id, f.severity, f.summary
        );
        if f.path.len() > 1 {
            text.push_str(&format!(" Dependency path: {}.", f.path.join(" → ")));
        }
        let mut result = json!({
            "ruleId": f.id,
            "level": if f.informational.is_some() { "note" } else { level(f.severity) },
            "message": { "text": text },
            "locations": [{
                "physicalLocation": { "artifactLocation": { "uri": uri(&f.file) } },
                "logicalLocations": [{ "name": f.location, "kind": "package", "fullyQualifiedName": f.purl }]
            }],
            "partialFingerprints": { "package/vulnerability": format!("{}|{}", f.purl, f.id) },
            "properties": {
                "purl": f.purl, "installed": f.version, "fixed": f.fixed, "aliases": f.aliases,
                "severity": f.severity.as_str(), "affected": f.affected_ranges, "informational": f.informational,
                "vex": f.vex, "epss": f.epss, "kev": f.kev, "malicious": f.malicious, "risk": f.risk
            }
        });
        if let (true, Some(v)) = (f.suppressed, &f.vex) {
            // SARIF 2.1.0 §3.35: an external suppression (the VEX statement) that is accepted
            result["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("VEX {}{} ({})", v.status.as_str(),
                    v.justification.as_deref().map(|j| format!(": {j}")).unwrap_or_default(), v.source),
            }]);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mcpsec",
                "informationUri": "https://example.invalid/mcpsec",
                "version": tool_version,
                "rules": rules.into_values().collect::<Vec<_>>()
            }},
            "artifacts": report.inventories.iter().map(|i| json!({ "location": { "uri": uri(&i.file) } })).collect::<Vec<_>>(),
            "results": results
        }]
    })
}

fn uri(file: &str) -> String {
    file.trim_start_matches("./")
        .replace('\\', "/")
        .replace(' ', "%20")
}
