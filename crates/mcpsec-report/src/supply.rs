//! The supply-chain posture report: per project, the vulnerable components of its latest
//! SBOM version by severity with fix availability, its licences and the licence-policy
//! verdicts, and what changed since the version before.
//!
//! The caller (the server, which owns the vulnerability database and the licence policy)
//! fills these plain structures; every format draws from [`tables`] and [`key_figures`].

use crate::model::Count;
use crate::sections::Table;
use crate::templates::thousands;
use serde::Serialize;

/// Severities in the order the report lists them, worst first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// A vulnerable component of a project version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplyFinding {
    /// Primary vulnerability id (`GHSA-…`, `RUSTSEC-…`, `CVE-…`).
    pub id: String,
    /// Other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// `critical`, `high`, `medium`, `low` or `unknown`.
    pub severity: String,
    /// CVSS base score, when the advisory gives one.
    pub score: Option<f64>,
    /// The version that fixes it; `None`: no fix published.
    pub fixed: Option<String>,
    /// One-line summary.
    pub summary: String,
    /// Advisory link.
    pub url: Option<String>,
    /// Listed in CISA KEV (known exploited).
    pub known_exploited: bool,
    /// Where the component is in the SBOM (a JSON pointer or line).
    pub location: String,
}

/// One licence and the project components under it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenceUse {
    /// The licence expression as the SBOM gives it (`(none)` when missing).
    pub licence: String,
    /// Components under it.
    pub components: u64,
    /// The policy's verdict: `allow`, `review` or `deny`.
    pub verdict: String,
}

/// A component the licence policy does not simply allow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenceIssue {
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Its licence expressions, joined (empty when none).
    pub licences: String,
    /// `review` or `deny`.
    pub verdict: String,
    /// Why, one reason per licence.
    pub reason: String,
}

/// Verdict counts over a project's components.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LicenceVerdicts {
    /// Allowed.
    pub allowed: u64,
    /// To review.
    pub review: u64,
    /// Denied.
    pub denied: u64,
    /// Without licence data.
    pub missing: u64,
    /// With a licence that could not be identified.
    pub unknown: u64,
}

/// What changed between a project's two latest SBOM versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SbomChanges {
    /// Older version.
    pub from: u32,
    /// Newer (the latest) version.
    pub to: u32,
    /// Components only in `to`, as `name@version`.
    pub added: Vec<String>,
    /// Components only in `from`.
    pub removed: Vec<String>,
    /// Components at a higher version, as `name from -> to`.
    pub upgraded: Vec<String>,
    /// Components at a lower version.
    pub downgraded: Vec<String>,
    /// Vulnerabilities `to` has that `from` had not, as `id (package)`.
    pub new_vulnerabilities: Vec<String>,
    /// Vulnerabilities of `from` that `to` no longer has.
    pub fixed_vulnerabilities: Vec<String>,
}

/// The posture of one project (its latest SBOM version).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProjectPosture {
    /// Project id.
    pub id: String,
    /// Project name.
    pub name: String,
    /// The SBOM version evaluated (0: nothing uploaded yet).
    pub version: u32,
    /// The SBOM file name of that version.
    pub file_name: String,
    /// Its format (`CycloneDX 1.5 JSON`, `Cargo.lock`…).
    pub format: String,
    /// Components in it.
    pub components: u64,
    /// Generation of the vulnerability database matched against (`None`: none imported).
    pub vulndb_generation: Option<u64>,
    /// Affected findings by severity, in [`SEVERITIES`] order (zeros included).
    pub by_severity: Vec<Count>,
    /// Findings with a fixed version published.
    pub fixable: u64,
    /// Findings a VEX statement suppresses (not listed).
    pub suppressed: u64,
    /// The affected findings, most severe first.
    pub findings: Vec<SupplyFinding>,
    /// Licence policy verdict counts.
    pub verdicts: LicenceVerdicts,
    /// Licences in use, most components first.
    pub licences: Vec<LicenceUse>,
    /// Components denied or to review, denied first.
    pub licence_issues: Vec<LicenceIssue>,
    /// Changes since the version before (`None`: a single version).
    pub changes: Option<SbomChanges>,
    /// Problems met while evaluating.
    pub warnings: Vec<String>,
}

impl ProjectPosture {
    /// Affected findings of one severity.
    pub fn severity(&self, name: &str) -> u64 {
        self.by_severity
            .iter()
            .find(|c| c.name == name)
            .map_or(0, |c| c.count)
    }
}

/// Supply-chain posture of the projects a report covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Supply {
    /// The licence policy used (`built-in default` or the file name).
    pub policy: String,
    /// The projects, by name.
    pub projects: Vec<ProjectPosture>,
}

/// `(name, value)` headline figures of a supply report.
pub(crate) fn key_figures(s: &Supply, out: &mut Vec<(String, String)>) {
    let sum = |f: &dyn Fn(&ProjectPosture) -> u64| s.projects.iter().map(f).sum::<u64>();
    out.push(("Projects".to_owned(), thousands(s.projects.len() as u64)));
    out.push(("Components".to_owned(), thousands(sum(&|p| p.components))));
    out.push((
        "Vulnerable components".to_owned(),
        thousands(sum(&|p| p.findings.len() as u64)),
    ));
    for sev in ["critical", "high"] {
        let mut name = sev.to_owned();
        name[..1].make_ascii_uppercase();
        out.push((name, thousands(sum(&|p| p.severity(sev)))));
    }
    out.push((
        "With a fix available".to_owned(),
        thousands(sum(&|p| p.fixable)),
    ));
    out.push((
        "Licence denials".to_owned(),
        thousands(sum(&|p| p.verdicts.denied)),
    ));
    out.push((
        "Licences to review".to_owned(),
        thousands(sum(&|p| p.verdicts.review)),
    ));
    out.push(("Licence policy".to_owned(), s.policy.clone()));
}

/// The tables of a supply report; every table has a `Project` column so several
/// projects share one sheet each.
pub(crate) fn tables(s: &Supply, out: &mut Vec<Table>) {
    let no_projects = "No project in this tenant has an SBOM.";
    let mut overview = Table::new(
        "Projects",
        &[
            ("Project", false),
            ("Version", true),
            ("Components", true),
            ("Critical", true),
            ("High", true),
            ("Medium", true),
            ("Low", true),
            ("Unknown", true),
            ("Fix available", true),
            ("Licences denied", true),
            ("To review", true),
        ],
        no_projects,
    );
    let mut vulns = Table::new(
        "Vulnerable components",
        &[
            ("Project", false),
            ("Package", false),
            ("Version", false),
            ("Vulnerability", false),
            ("Severity", false),
            ("CVSS", true),
            ("Fixed in", false),
            ("Summary", false),
        ],
        "No vulnerable component.",
    );
    let mut licences = Table::new(
        "Licences",
        &[
            ("Project", false),
            ("Licence", false),
            ("Components", true),
            ("Verdict", false),
        ],
        "No component carries licence data.",
    );
    let mut issues = Table::new(
        "Licence policy issues",
        &[
            ("Project", false),
            ("Package", false),
            ("Version", false),
            ("Licence", false),
            ("Verdict", false),
            ("Reason", false),
        ],
        "Every component's licence is allowed.",
    );
    let mut changes = Table::new(
        "SBOM changes",
        &[
            ("Project", false),
            ("Versions", false),
            ("Change", false),
            ("Item", false),
        ],
        "No project has two versions to compare.",
    );
    for p in &s.projects {
        let mut row = vec![
            p.name.clone(),
            p.version.to_string(),
            thousands(p.components),
        ];
        row.extend(SEVERITIES.iter().map(|sev| thousands(p.severity(sev))));
        row.push(thousands(p.fixable));
        row.push(thousands(p.verdicts.denied));
        row.push(thousands(p.verdicts.review));
        overview.rows.push(row);
        for f in &p.findings {
            vulns.rows.push(vec![
                p.name.clone(),
                f.package.clone(),
                f.version.clone(),
                f.id.clone(),
                f.severity.clone(),
                f.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                f.fixed.clone().unwrap_or_else(|| "no fix".to_owned()),
                f.summary.clone(),
            ]);
        }
        for l in &p.licences {
            licences.rows.push(vec![
                p.name.clone(),
                l.licence.clone(),
                thousands(l.components),
                l.verdict.clone(),
            ]);
        }
        for i in &p.licence_issues {
            issues.rows.push(vec![
                p.name.clone(),
                i.package.clone(),
                i.version.clone(),
                i.licences.clone(),
                i.verdict.clone(),
                i.reason.clone(),
            ]);
        }
        if let Some(c) = &p.changes {
            let versions = format!("{} -> {}", c.from, c.to);
            for (what, items) in [
                ("added", &c.added),
                ("removed", &c.removed),
                ("upgraded", &c.upgraded),
                ("downgraded", &c.downgraded),
                ("new vulnerability", &c.new_vulnerabilities),
                ("fixed vulnerability", &c.fixed_vulnerabilities),
            ] {
                for item in items {
                    changes.rows.push(vec![
                        p.name.clone(),
                        versions.clone(),
                        what.to_owned(),
                        item.clone(),
                    ]);
                }
            }
        }
    }
    out.extend([overview, vulns, licences, issues, changes]);
}
