//! Vulnerable components of an asset from a supply-chain scan: the findings of
//! `mcpsec sbom scan --format json` become the asset's vulnerabilities (CVSS vector and
//! score, EPSS, KEV as the scan found them).

use crate::asset::AssetVuln;
use crate::error::{Result, RiskError};
use crate::model::read_vuln;
use serde_json::Value;

/// Most vulnerabilities kept per asset (the riskiest).
pub const MAX_VULNS: usize = 1000;

/// The vulnerabilities of a scan report, riskiest first, and how many were left out
/// (suppressed by VEX, informational, duplicates, or beyond [`MAX_VULNS`]).
pub fn vulns_from_scan(text: &str) -> Result<(Vec<AssetVuln>, usize)> {
    if text.len() > crate::asset::MAX_INVENTORY_BYTES * 4 {
        return Err(RiskError::Invalid(
            "scan report is larger than 64 MiB".into(),
        ));
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| RiskError::Invalid(format!("scan report: {e}")))?;
    let findings = v["findings"].as_array().ok_or_else(|| {
        RiskError::Invalid(
            "scan report: no \"findings\" array (use `mcpsec sbom scan --format json`)".into(),
        )
    })?;
    let mut out: Vec<AssetVuln> = Vec::new();
    let mut skipped = 0;
    for f in findings {
        if f["suppressed"].as_bool() == Some(true) || !f["informational"].is_null() {
            skipped += 1;
            continue;
        }
        let Some(primary) = f["id"].as_str() else {
            skipped += 1;
            continue;
        };
        let id = f["aliases"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .find(|s| s.starts_with("CVE-"))
            })
            .unwrap_or(primary)
            .chars()
            .take(128)
            .collect::<String>();
        let component = f["purl"]
            .as_str()
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                let (p, v) = (f["package"].as_str()?, f["version"].as_str()?);
                Some(format!("{p}@{v}"))
            })
            .map(|c| c.chars().take(256).collect());
        let vector = f["cvss"]["vector"]
            .as_str()
            .filter(|s| mcpsec_supply::cvss::score(s).is_ok())
            .map(str::to_owned);
        let malicious = f["malicious"].as_bool() == Some(true);
        let score = if malicious {
            Some(10.0)
        } else {
            f["cvss"]["score"]
                .as_f64()
                .filter(|s| (0.0..=10.0).contains(s))
        };
        let vuln = AssetVuln {
            id,
            component,
            cvss: if malicious { None } else { vector },
            score,
            epss: f["epss"]["score"]
                .as_f64()
                .filter(|e| (0.0..=1.0).contains(e)),
            kev: !f["kev"].is_null() || malicious,
        };
        if out
            .iter()
            .any(|o| o.id == vuln.id && o.component == vuln.component)
        {
            skipped += 1;
            continue;
        }
        out.push(vuln);
    }
    out.sort_by(|a, b| read_vuln(b).risk.total_cmp(&read_vuln(a).risk));
    if out.len() > MAX_VULNS {
        skipped += out.len() - MAX_VULNS;
        out.truncate(MAX_VULNS);
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_supply::cvss::Severity;
    use mcpsec_supply::exploit::{Epss, Kev};
    use mcpsec_supply::scan::{Finding, ScanReport};

    fn finding(id: &str, alias: &str, vector: Option<&str>) -> Finding {
        Finding {
            file: "Cargo.lock".into(),
            inventory: 0,
            component: 0,
            ecosystem: "crates.io".into(),
            package: "openssl".into(),
            version: "0.10.0".into(),
            purl: "pkg:cargo/openssl@0.10.0".into(),
            id: id.into(),
            aliases: vec![alias.into()],
            advisories: vec![id.into()],
            summary: "s".into(),
            severity: Severity::High,
            cvss: vector.map(|v| mcpsec_supply::cvss::score(v).expect("vector")),
            fixed: None,
            affected_ranges: vec![],
            informational: None,
            functions: vec![],
            direct: Some(true),
            path: vec![],
            location: "l".into(),
            url: None,
            bom_ref: None,
            vex: None,
            suppressed: false,
            epss: None,
            kev: None,
            malicious: false,
            risk: 0.0,
        }
    }

    #[test]
    fn findings_of_a_real_scan_report_become_vulnerabilities() {
        let vec = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let mut kev = finding("RUSTSEC-2023-0001", "CVE-2023-0001", Some(vec));
        kev.kev = Some(Kev {
            cve: "CVE-2023-0001".into(),
            date_added: "2023-01-01".into(),
            due_date: None,
            vendor: None,
            product: None,
            name: None,
            required_action: None,
            ransomware: None,
        });
        let mut epss = finding("GHSA-x", "CVE-2024-0002", None);
        epss.epss = Some(Epss {
            score: 0.4,
            percentile: 0.9,
            date: None,
        });
        let mut hidden = finding("RUSTSEC-2023-0003", "CVE-2023-0003", Some(vec));
        hidden.suppressed = true;
        let dup = finding("RUSTSEC-2023-0001", "CVE-2023-0001", Some(vec));
        let report = ScanReport {
            findings: vec![epss, kev, hidden, dup],
            ..ScanReport::default()
        };
        let text = serde_json::to_string(&report).expect("json");
        let (vulns, skipped) = vulns_from_scan(&text).expect("scan");
        assert_eq!(skipped, 2);
        assert_eq!(vulns.len(), 2);
        assert_eq!(vulns[0].id, "CVE-2023-0001", "riskiest first");
        assert!(vulns[0].kev);
        assert_eq!(vulns[0].cvss.as_deref(), Some(vec));
        assert_eq!(
            vulns[0].component.as_deref(),
            Some("pkg:cargo/openssl@0.10.0")
        );
        assert_eq!(vulns[1].epss, Some(0.4));
        assert!(!vulns[1].kev);
    }

    #[test]
    fn other_json_is_refused() {
        for bad in ["{", "[]", "{\"findings\": 3}", "null"] {
            assert!(vulns_from_scan(bad).is_err(), "{bad}");
        }
        let (v, s) = vulns_from_scan("{\"findings\": [{\"no\": \"id\"}, 5]}").expect("tolerant");
        assert_eq!((v.len(), s), (0, 2));
    }
}
