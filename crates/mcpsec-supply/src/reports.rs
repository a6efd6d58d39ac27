//! Other scanners' reports read as findings that keep their source tool: Trivy JSON,
//! Grype JSON, osv-scanner JSON, cargo-audit JSON, npm audit JSON (v6 `advisories` and
//! v7+ `vulnerabilities`), OWASP Dependency-Check XML and SARIF 2.1.0. The packages a
//! report names (with a version and a known ecosystem) also become the components of an
//! [`Inventory`], so the local database matches them as well.

use crate::cvss::Severity;
use crate::inventory::{Component, InputError, Inventory};
use crate::purl::Purl;
use crate::version::Ecosystem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// One finding as another tool reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedFinding {
    /// The tool that found it (`Trivy`, `Grype`, `osv-scanner`, a SARIF driver name...).
    pub tool: String,
    /// Vulnerability or rule id.
    pub id: String,
    /// Other ids the tool gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Package (or, for SARIF, the file the result points at).
    pub package: String,
    /// Installed version ("" when the tool gives none).
    pub version: String,
    /// Package URL, when the tool gives one or it can be built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Severity as the tool rated it.
    pub severity: Severity,
    /// The fixed version the tool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Title or message.
    pub title: String,
}

/// Which report format a text is, by content.
pub fn sniff(text: &str) -> Option<&'static str> {
    let head: String = text.trim_start().chars().take(8192).collect();
    if head.starts_with('<') {
        return (head.contains("<analysis") && head.contains("dependency-check"))
            .then_some("Dependency-Check XML");
    }
    if !head.starts_with('{') {
        return None;
    }
    if head.contains("\"$schema\"") && head.contains("sarif")
        || head.contains("\"runs\"") && head.contains("\"version\": \"2.1.0\"")
    {
        return Some("SARIF");
    }
    if head.contains("\"SchemaVersion\"")
        || head.contains("\"ArtifactName\"")
        || head.contains("\"Results\"")
    {
        return Some("Trivy JSON");
    }
    if head.contains("\"matches\"")
        && (head.contains("\"artifact\"") || text.contains("\"descriptor\""))
    {
        return Some("Grype JSON");
    }
    if head.contains("\"results\"") && head.contains("\"packages\"") {
        return Some("osv-scanner JSON");
    }
    if head.contains("\"auditReportVersion\"")
        || head.contains("\"advisories\"") && head.contains("\"muted\"")
    {
        return Some("npm audit JSON");
    }
    if head.contains("\"database\"")
        && head.contains("\"lockfile\"")
        && head.contains("\"vulnerabilities\"")
    {
        return Some("cargo-audit JSON");
    }
    None
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").trim().to_string()
}

fn severity(word: &str) -> Severity {
    Severity::from_word(word).unwrap_or(Severity::Unknown)
}

/// Maps a tool's package type to an ecosystem and purl type.
fn ecosystem_of(kind: &str) -> Option<Ecosystem> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "cargo" | "rust-crate" | "crates.io" | "rustbinary" => Ecosystem::CratesIo,
        "npm" | "node-pkg" | "yarn" | "pnpm" | "nodejs" => Ecosystem::Npm,
        "gomod" | "go-module" | "gobinary" | "go" => Ecosystem::Go,
        "pip" | "python" | "poetry" | "pipenv" | "pypi" | "python-pkg" | "uv" => Ecosystem::PyPI,
        "jar" | "pom" | "gradle" | "maven" | "java-archive" => Ecosystem::Maven,
        "bundler" | "gemspec" | "gem" | "rubygems" => Ecosystem::RubyGems,
        "nuget" | "dotnet-core" | "dotnet" => Ecosystem::NuGet,
        "composer" | "php-composer" | "packagist" => Ecosystem::Packagist,
        "pub" => Ecosystem::Pub,
        "hex" | "mix" => Ecosystem::Hex,
        "debian" | "deb" => Ecosystem::Debian,
        "ubuntu" => Ecosystem::Ubuntu,
        "alpine" | "apk" => Ecosystem::Alpine,
        "redhat" | "centos" | "rocky" | "alma" | "rpm" | "amazon" => Ecosystem::Rpm,
        _ => return None,
    })
}

struct Builder {
    inv: Inventory,
    findings: Vec<ReportedFinding>,
    seen: BTreeSet<(String, String, String)>,
}

impl Builder {
    /// Records a finding and, when possible, the component it names.
    fn add(&mut self, f: ReportedFinding, eco: Option<Ecosystem>, location: String) {
        if f.id.is_empty() {
            self.inv
                .warn(format!("{location}: no vulnerability id; skipped"));
            return;
        }
        let from_purl = f
            .purl
            .as_deref()
            .and_then(|p| Purl::parse(p).ok())
            .and_then(|p| p.ecosystem_and_name());
        let comp = match (from_purl, eco) {
            (Some((e, name)), _) => Some((e, name)),
            (None, Some(e)) => Some((e, f.package.clone())),
            _ => None,
        };
        if let Some((e, name)) = comp
            && !f.version.is_empty()
            && self
                .seen
                .insert((e.osv_name().into(), name.clone(), f.version.clone()))
        {
            let mut c = Component::new(e, &name, &f.version, location);
            if let Some(p) = &f.purl {
                c.purl = p.clone();
            }
            self.inv.push(c);
        }
        self.findings.push(f);
    }
}

/// Reads a scanner report; the inventory's `reported` holds the tool's findings.
pub fn parse_report(file: &str, text: &str) -> Result<Inventory, InputError> {
    let Some(format) = sniff(text) else {
        return Err(InputError::new(file, "not a recognised scanner report"));
    };
    let mut b = Builder {
        inv: Inventory::new(file, &format!("{format} report")),
        findings: Vec::new(),
        seen: BTreeSet::new(),
    };
    if format == "Dependency-Check XML" {
        dependency_check(file, text, &mut b)?;
    } else {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| InputError::new(file, format!("invalid {format}: {e}")))?;
        match format {
            "SARIF" => sarif(&v, &mut b),
            "Trivy JSON" => trivy(&v, &mut b),
            "Grype JSON" => grype(&v, &mut b),
            "osv-scanner JSON" => osv_scanner(&v, &mut b),
            "npm audit JSON" => npm_audit(&v, &mut b),
            _ => cargo_audit(&v, &mut b),
        }
    }
    let mut inv = b.inv;
    inv.reported = b.findings;
    Ok(inv)
}

fn arr(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn trivy(v: &Value, b: &mut Builder) {
    for (i, r) in arr(&v["Results"]).enumerate() {
        let eco = ecosystem_of(&s(&r["Type"]));
        for (j, x) in arr(&r["Vulnerabilities"]).enumerate() {
            let f = ReportedFinding {
                tool: "Trivy".into(),
                id: s(&x["VulnerabilityID"]),
                aliases: vec![],
                package: s(&x["PkgName"]),
                version: s(&x["InstalledVersion"]),
                purl: x["PkgIdentifier"]["PURL"].as_str().map(str::to_string),
                severity: severity(&s(&x["Severity"])),
                fixed: Some(s(&x["FixedVersion"])).filter(|f| !f.is_empty()),
                title: s(&x["Title"]),
            };
            b.add(f, eco, format!("Results[{i}].Vulnerabilities[{j}]"));
        }
    }
}

fn grype(v: &Value, b: &mut Builder) {
    for (i, m) in arr(&v["matches"]).enumerate() {
        let a = &m["artifact"];
        let vu = &m["vulnerability"];
        let f = ReportedFinding {
            tool: "Grype".into(),
            id: s(&vu["id"]),
            aliases: arr(&m["relatedVulnerabilities"])
                .map(|r| s(&r["id"]))
                .filter(|x| !x.is_empty())
                .collect(),
            package: s(&a["name"]),
            version: s(&a["version"]),
            purl: a["purl"]
                .as_str()
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            severity: severity(&s(&vu["severity"])),
            fixed: arr(&vu["fix"]["versions"]).map(s).find(|x| !x.is_empty()),
            title: s(&vu["description"]).chars().take(300).collect(),
        };
        b.add(f, ecosystem_of(&s(&a["type"])), format!("matches[{i}]"));
    }
}

fn osv_scanner(v: &Value, b: &mut Builder) {
    for (i, r) in arr(&v["results"]).enumerate() {
        for (j, p) in arr(&r["packages"]).enumerate() {
            let pkg = &p["package"];
            for (k, x) in arr(&p["vulnerabilities"]).enumerate() {
                let f = ReportedFinding {
                    tool: "osv-scanner".into(),
                    id: s(&x["id"]),
                    aliases: arr(&x["aliases"]).map(s).collect(),
                    package: s(&pkg["name"]),
                    version: s(&pkg["version"]),
                    purl: None,
                    severity: severity(&s(&x["database_specific"]["severity"])),
                    fixed: None,
                    title: s(&x["summary"]),
                };
                let eco = Ecosystem::from_osv(&s(&pkg["ecosystem"]));
                b.add(
                    f,
                    eco,
                    format!("results[{i}].packages[{j}].vulnerabilities[{k}]"),
                );
            }
        }
    }
}

fn npm_audit(v: &Value, b: &mut Builder) {
    // npm 7+: vulnerabilities by package; `via` objects are the advisories
    for (name, x) in v["vulnerabilities"].as_object().into_iter().flatten() {
        for via in arr(&x["via"]).filter(|w| w.is_object()) {
            let url = s(&via["url"]);
            let id = url.rsplit('/').next().unwrap_or("").to_string();
            let f = ReportedFinding {
                tool: "npm audit".into(),
                id: if id.is_empty() { s(&via["source"]) } else { id },
                aliases: vec![],
                package: name.clone(),
                version: String::new(),
                purl: None,
                severity: severity(&s(&via["severity"])),
                fixed: None,
                title: s(&via["title"]),
            };
            b.add(
                f,
                Some(Ecosystem::Npm),
                format!("vulnerabilities[{name:?}]"),
            );
        }
    }
    // npm 6: advisories with findings[].version
    for (key, a) in v["advisories"].as_object().into_iter().flatten() {
        let versions: Vec<String> = arr(&a["findings"]).map(|f| s(&f["version"])).collect();
        for version in if versions.is_empty() {
            vec![String::new()]
        } else {
            versions
        } {
            let url = s(&a["url"]);
            let f = ReportedFinding {
                tool: "npm audit".into(),
                id: url
                    .rsplit('/')
                    .next()
                    .filter(|x| !x.is_empty())
                    .map_or(key.clone(), str::to_string),
                aliases: arr(&a["cves"]).map(s).collect(),
                package: s(&a["module_name"]),
                version,
                purl: None,
                severity: severity(&s(&a["severity"])),
                fixed: None,
                title: s(&a["title"]),
            };
            b.add(f, Some(Ecosystem::Npm), format!("advisories[{key:?}]"));
        }
    }
}

fn cargo_audit(v: &Value, b: &mut Builder) {
    for (i, x) in arr(&v["vulnerabilities"]["list"]).enumerate() {
        let f = ReportedFinding {
            tool: "cargo-audit".into(),
            id: s(&x["advisory"]["id"]),
            aliases: arr(&x["advisory"]["aliases"]).map(s).collect(),
            package: s(&x["package"]["name"]),
            version: s(&x["package"]["version"]),
            purl: None,
            severity: Severity::Unknown,
            fixed: arr(&x["versions"]["patched"]).map(s).next(),
            title: s(&x["advisory"]["title"]),
        };
        b.add(
            f,
            Some(Ecosystem::CratesIo),
            format!("vulnerabilities.list[{i}]"),
        );
    }
}

fn sarif(v: &Value, b: &mut Builder) {
    for (i, run) in arr(&v["runs"]).enumerate() {
        let tool = s(&run["tool"]["driver"]["name"]);
        let tool = if tool.is_empty() {
            "SARIF".to_string()
        } else {
            tool
        };
        for (j, r) in arr(&run["results"]).enumerate() {
            let level = s(&r["level"]);
            let sev = match level.as_str() {
                "error" => Severity::High,
                "warning" => Severity::Medium,
                "note" => Severity::Low,
                _ => Severity::Unknown,
            };
            let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            let f = ReportedFinding {
                tool: tool.clone(),
                id: s(&r["ruleId"]),
                aliases: vec![],
                package: s(loc),
                version: String::new(),
                purl: None,
                severity: sev,
                fixed: None,
                title: s(&r["message"]["text"]).chars().take(300).collect(),
            };
            b.add(f, None, format!("runs[{i}].results[{j}]"));
        }
    }
}

fn dependency_check(file: &str, text: &str, b: &mut Builder) -> Result<(), InputError> {
    crate::xml_guard::check_depth(text, crate::xml_guard::MAX_DEPTH)
        .map_err(|e| InputError::new(file, e))?;
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| InputError::new(file, format!("invalid Dependency-Check XML: {e}")))?;
    let child_text = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    for (i, dep) in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "dependency")
        .enumerate()
    {
        let purl = dep
            .descendants()
            .filter(|n| n.tag_name().name() == "package")
            .map(|p| child_text(p, "id"))
            .find(|id| id.starts_with("pkg:"));
        let parsed = purl.as_deref().and_then(|p| Purl::parse(p).ok());
        let package = parsed
            .as_ref()
            .and_then(|p| p.ecosystem_and_name().map(|(_, n)| n))
            .unwrap_or_else(|| child_text(dep, "fileName"));
        let version = parsed
            .as_ref()
            .and_then(|p| p.version.clone())
            .unwrap_or_default();
        for vu in dep
            .descendants()
            .filter(|n| n.tag_name().name() == "vulnerability")
        {
            let f = ReportedFinding {
                tool: "Dependency-Check".into(),
                id: child_text(vu, "name"),
                aliases: vec![],
                package: package.clone(),
                version: version.clone(),
                purl: purl.clone(),
                severity: severity(&child_text(vu, "severity")),
                fixed: None,
                title: child_text(vu, "description").chars().take(300).collect(),
            };
            b.add(f, None, format!("dependencies/dependency[{i}]"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivy_grype_and_osv_scanner_keep_their_tool() {
        let trivy = r#"{"SchemaVersion": 2, "Results": [{"Type": "cargo", "Vulnerabilities": [
            {"VulnerabilityID": "RUSTSEC-2020-0071", "PkgName": "time", "InstalledVersion": "0.1.43",
             "FixedVersion": "0.2.23", "Severity": "HIGH", "Title": "segfault"}]}]}"#;
        let inv = parse_report("t.json", trivy).expect("trivy");
        assert_eq!(inv.format, "Trivy JSON report");
        assert_eq!(inv.reported[0].tool, "Trivy");
        assert_eq!(inv.reported[0].fixed.as_deref(), Some("0.2.23"));
        assert_eq!(inv.components[0].purl, "pkg:cargo/time@0.1.43");
        let grype = r#"{"matches": [{"vulnerability": {"id": "GHSA-x", "severity": "Critical",
            "fix": {"versions": ["1.2.3"]}}, "relatedVulnerabilities": [{"id": "CVE-1"}],
            "artifact": {"name": "lodash", "version": "4.0.0", "type": "npm", "purl": "pkg:npm/lodash@4.0.0"}}],
            "descriptor": {"name": "grype"}}"#;
        let inv = parse_report("g.json", grype).expect("grype");
        assert_eq!(
            (inv.reported[0].severity, inv.reported[0].aliases.clone()),
            (Severity::Critical, vec!["CVE-1".to_string()])
        );
        assert_eq!(inv.components.len(), 1);
    }

    #[test]
    fn hostile_reports_fail_cleanly() {
        assert!(parse_report("x", "{\"SchemaVersion\": 2, \"Results\": [").is_err());
        assert!(parse_report("x", "hello").is_err());
        // wrong types: nothing read, no panic
        let inv = parse_report("x", r#"{"SchemaVersion": 2, "Results": [1, {"Vulnerabilities": {"a": 1}}, {"Vulnerabilities": [null, 5]}]}"#)
            .expect("read");
        assert!(inv.components.is_empty());
        let deep = format!(
            "<analysis xmlns=\"dependency-check\">{}{}</analysis>",
            "<a>".repeat(2000),
            "</a>".repeat(2000)
        );
        assert!(parse_report("x.xml", &deep).is_err());
    }
}
