//! CycloneDX 1.5/1.6 JSON VEX output: the scanned components, and one vulnerability per
//! finding with its ratings, references (aliases), recommendation and `analysis` (the
//! applied VEX statement, or `in_triage` for findings nobody has assessed yet), affecting
//! the component by bom-ref.

use crate::cvss::Severity;
use crate::scan::{Finding, ScanReport};
use crate::vex::VexStatus;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Which CycloneDX version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdxVersion {
    /// 1.5.
    V1_5,
    /// 1.6.
    V1_6,
}

impl CdxVersion {
    fn as_str(self) -> &'static str {
        match self {
            CdxVersion::V1_5 => "1.5",
            CdxVersion::V1_6 => "1.6",
        }
    }
}

/// CycloneDX `impactAnalysisJustification` for an OpenVEX justification (CycloneDX ones
/// pass through).
pub fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" | "code_not_present" => {
            "code_not_present"
        }
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            "requires_environment"
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            "protected_by_mitigating_control"
        }
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        _ => return None,
    })
}

fn source_of(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or("") {
        "CVE" => "NVD",
        "GHSA" => "GitHub",
        "RUSTSEC" => "RustSec",
        "GO" => "Go Vulnerability Database",
        "PYSEC" => "PyPA",
        _ => "OSV",
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Unknown => "unknown",
        Severity::None => "none",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

fn component_ref(f: &Finding) -> String {
    f.bom_ref.clone().unwrap_or_else(|| f.purl.clone())
}

fn analysis(f: &Finding) -> Value {
    let mut a = Map::new();
    let Some(v) = &f.vex else {
        a.insert("state".into(), json!("in_triage"));
        a.insert(
            "detail".into(),
            json!("Reported by mcpsec sbom scan; not assessed yet."),
        );
        return Value::Object(a);
    };
    let state = match v.status {
        VexStatus::NotAffected => "not_affected",
        VexStatus::Fixed => "resolved",
        VexStatus::Affected => "exploitable",
        VexStatus::UnderInvestigation => "in_triage",
    };
    a.insert("state".into(), json!(state));
    if v.status == VexStatus::NotAffected
        && let Some(j) = v.justification.as_deref().and_then(cdx_justification)
    {
        a.insert("justification".into(), json!(j));
    }
    let mut detail = Vec::new();
    if let Some(j) = &v.justification {
        detail.push(format!("justification: {j}"));
    }
    if let Some(d) = &v.detail {
        detail.push(d.clone());
    }
    if let Some(x) = &v.action {
        detail.push(format!("action: {x}"));
    }
    detail.push(format!("statement: {}", v.source));
    a.insert("detail".into(), json!(detail.join("; ")));
    Value::Object(a)
}

/// Builds the CycloneDX VEX document. `serial` is a UUID (`xxxxxxxx-xxxx-4xxx-…`),
/// `timestamp` RFC 3339.
pub fn to_cyclonedx_vex(
    report: &ScanReport,
    version: CdxVersion,
    tool_version: &str,
    serial: &str,
    timestamp: &str,
) -> Value {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut vulns = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        let r = component_ref(f);
        if !seen.insert((f.id.clone(), r.clone())) {
            continue;
        }
        components.entry(r.clone()).or_insert_with(|| {
            let mut c = json!({
                "type": "library",
                "bom-ref": r,
                "name": f.package,
                "purl": f.purl,
            });
            if !f.version.is_empty() {
                c["version"] = json!(f.version);
            }
            c
        });
        let mut v = Map::new();
        v.insert("bom-ref".into(), json!(format!("{}|{}", f.id, r)));
        v.insert("id".into(), json!(f.id));
        let mut src = json!({ "name": source_of(&f.id) });
        if let Some(u) = &f.url {
            src["url"] = json!(u);
        }
        v.insert("source".into(), src);
        let refs: Vec<Value> = f
            .aliases
            .iter()
            .filter(|a| **a != f.id)
            .map(|a| json!({ "id": a, "source": { "name": source_of(a) } }))
            .collect();
        if !refs.is_empty() {
            v.insert("references".into(), Value::Array(refs));
        }
        let mut rating = json!({ "severity": severity_word(f.severity) });
        if let Some(c) = &f.cvss {
            if let Some(s) = c.score {
                rating["score"] = json!(s);
            }
            rating["method"] = json!(match c.version {
                "2.0" => "CVSSv2",
                "3.0" => "CVSSv3",
                "3.1" => "CVSSv31",
                "4.0" => "CVSSv4",
                _ => "other",
            });
            rating["vector"] = json!(c.vector);
        }
        v.insert("ratings".into(), json!([rating]));
        if !f.summary.is_empty() {
            v.insert("description".into(), json!(f.summary));
        }
        v.insert(
            "recommendation".into(),
            json!(match &f.fixed {
                Some(x) => format!("Upgrade {} to {x} or later.", f.package),
                None => format!("No fixed version of {} is published.", f.package),
            }),
        );
        if let Some(u) = &f.url {
            v.insert("advisories".into(), json!([{ "url": u }]));
        }
        v.insert("analysis".into(), analysis(f));
        let status = match f.vex.as_ref().map(|x| x.status) {
            Some(VexStatus::NotAffected) | Some(VexStatus::Fixed) => "unaffected",
            Some(VexStatus::UnderInvestigation) => "unknown",
            _ => "affected",
        };
        let mut aff = json!({ "ref": r });
        if !f.version.is_empty() {
            aff["versions"] = json!([{ "version": f.version, "status": status }]);
        }
        v.insert("affects".into(), json!([aff]));
        vulns.push(Value::Object(v));
    }
    let tools = match version {
        // 1.5 and 1.6 both accept the object form with components
        CdxVersion::V1_5 | CdxVersion::V1_6 => json!({
            "components": [{ "type": "application", "name": "mcpsec", "version": tool_version }]
        }),
    };
    json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{}.schema.json", version.as_str()),
        "bomFormat": "CycloneDX",
        "specVersion": version.as_str(),
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": { "timestamp": timestamp, "tools": tools },
        "components": components.into_values().collect::<Vec<_>>(),
        "vulnerabilities": vulns,
    })
}
