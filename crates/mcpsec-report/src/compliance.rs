//! The compliance report: which controls of SOC 2, ISO 27001 Annex A, NIST SP 800-53
//! and the CIS Controls the platform's own data gives evidence for, with a link to
//! where a reader can check each piece.
//!
//! The control catalogues are data files (`frameworks/*.toml`, embedded): per control an
//! id, a short title and the evidence kinds that show it operating. The caller (the
//! server, which can read the tenant's data) measures each evidence kind of
//! [`EVIDENCE_KINDS`] as an [`Evidence`]; [`assess`] maps them onto the controls.
//! A control is `evidenced` when every evidence kind it names is present, `partial` when
//! some are present or partial, and `lacking` when none is. Controls the platform can
//! never give evidence for are listed per framework as out of scope, with why.

use crate::error::ReportError;
use crate::sections::Table;
use crate::templates::thousands;
use serde::{Deserialize, Serialize};

/// The frameworks, by the id the `framework` parameter takes.
pub const FRAMEWORKS: &[&str] = &["soc2", "iso27001", "nist80053", "cis8"];

/// The catalogue files, embedded.
const CATALOGUES: &[(&str, &str)] = &[
    ("soc2", include_str!("../frameworks/soc2.toml")),
    ("iso27001", include_str!("../frameworks/iso27001.toml")),
    ("nist80053", include_str!("../frameworks/nist80053.toml")),
    ("cis8", include_str!("../frameworks/cis8.toml")),
];

/// The evidence kinds a catalogue may name, with their names for people, in the order
/// the report lists them.
pub const EVIDENCE_KINDS: &[(&str, &str)] = &[
    ("audit_log", "Audit log recorded"),
    ("audit_integrity", "Audit hash chain verifies"),
    ("event_collection", "Security events collected"),
    ("detection_rules", "Detection rules deployed"),
    ("attack_coverage", "ATT&CK techniques covered"),
    ("alert_triage", "Alerts triaged"),
    ("vuln_scanning", "Projects scanned for vulnerabilities"),
    ("vuln_remediation", "No open critical vulnerabilities"),
    ("sbom_inventory", "SBOMs kept"),
    ("response_playbooks", "Response playbooks enabled and run"),
    ("approvals", "Approvals recorded"),
    ("scheduled_reports", "Reports scheduled"),
    ("access_control", "API keys with roles"),
    ("sso", "Single sign-on (OIDC)"),
    ("tls", "TLS on the API"),
];

/// The name of an evidence kind (the id itself when unknown).
pub fn evidence_name(kind: &str) -> &str {
    EVIDENCE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, n)| n)
}

/// Whether a piece of evidence is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceStatus {
    /// Fully shown by the data.
    Present,
    /// Shown in part (some projects, some alerts…).
    Partial,
    /// Not shown.
    Missing,
}

impl EvidenceStatus {
    /// `present`, `partial` or `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceStatus::Present => "present",
            EvidenceStatus::Partial => "partial",
            EvidenceStatus::Missing => "missing",
        }
    }
}

/// One evidence kind as measured over the tenant's period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The kind (`audit_log`…), one of [`EVIDENCE_KINDS`].
    pub kind: String,
    /// Its name for people.
    pub name: String,
    /// Whether it is there.
    pub status: EvidenceStatus,
    /// What was measured, for people (`12 rules enabled, 9 techniques`).
    pub figure: String,
    /// Where to check it: an API path (`/api/v1/rules`).
    pub link: String,
}

impl Evidence {
    /// Evidence of `kind` (its name from [`EVIDENCE_KINDS`]).
    pub fn new(
        kind: &str,
        status: EvidenceStatus,
        figure: impl Into<String>,
        link: impl Into<String>,
    ) -> Self {
        Evidence {
            kind: kind.to_owned(),
            name: evidence_name(kind).to_owned(),
            status,
            figure: figure.into(),
            link: link.into(),
        }
    }
}

/// How well a control is evidenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlStatus {
    /// Every evidence kind it names is present.
    Evidenced,
    /// Some are present or partial.
    Partial,
    /// None is.
    Lacking,
}

impl ControlStatus {
    /// `evidenced`, `partial` or `lacking`.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Evidenced => "evidenced",
            ControlStatus::Partial => "partial",
            ControlStatus::Lacking => "lacking",
        }
    }
}

/// A control in scope and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlResult {
    /// Control id (`CC6.1`, `A.8.15`, `AU-9`, `8.2`).
    pub id: String,
    /// Short title.
    pub title: String,
    /// Verdict.
    pub status: ControlStatus,
    /// The evidence kinds it names.
    pub evidence: Vec<String>,
}

/// A control the platform cannot give evidence for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutOfScope {
    /// Control id.
    pub id: String,
    /// Short title.
    pub title: String,
    /// Why it is out of scope.
    pub reason: String,
}

/// One framework's verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkResult {
    /// Framework id (`soc2`).
    pub id: String,
    /// Name (`SOC 2`).
    pub name: String,
    /// Edition (`Trust Services Criteria 2017`).
    pub version: String,
    /// Controls in scope that are evidenced.
    pub evidenced: u64,
    /// Controls in scope with partial evidence.
    pub partial: u64,
    /// Controls in scope with no evidence.
    pub lacking: u64,
    /// The controls in scope, in catalogue order.
    pub controls: Vec<ControlResult>,
    /// The controls out of scope.
    pub out_of_scope: Vec<OutOfScope>,
}

/// What the compliance report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compliance {
    /// The `framework` asked for (`all` or one id).
    pub framework: String,
    /// The evidence measured, in [`EVIDENCE_KINDS`] order.
    pub evidence: Vec<Evidence>,
    /// The frameworks covered.
    pub frameworks: Vec<FrameworkResult>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    framework: FrameworkHead,
    #[serde(default)]
    control: Vec<ControlEntry>,
    #[serde(default)]
    out_of_scope: Vec<OutOfScope>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkHead {
    id: String,
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlEntry {
    id: String,
    title: String,
    evidence: Vec<String>,
}

/// Checks a `framework` parameter: `None` or empty is `all`; otherwise one of
/// [`FRAMEWORKS`] or `all`, any case. Answers the canonical id.
pub fn parse_framework(value: Option<&str>) -> Result<String, ReportError> {
    let v = value
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if v.is_empty() || v == "all" {
        return Ok("all".to_owned());
    }
    if FRAMEWORKS.contains(&v.as_str()) {
        return Ok(v);
    }
    Err(ReportError::Invalid(format!(
        "unknown compliance framework {:?}: use {} or all",
        value
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect::<String>(),
        FRAMEWORKS.join(", ")
    )))
}

/// Reads and checks one embedded catalogue: unique control ids, only known evidence
/// kinds, at least one evidence kind per control.
fn catalogue(id: &str, text: &str) -> Result<CatalogueFile, ReportError> {
    let broken = |m: String| ReportError::Render(format!("built-in catalogue {id}: {m}"));
    let c: CatalogueFile = toml::from_str(text).map_err(|e| broken(e.to_string()))?;
    if c.framework.id != id {
        return Err(broken(format!("names itself {:?}", c.framework.id)));
    }
    let mut seen = std::collections::BTreeSet::new();
    for ctl in &c.control {
        if !seen.insert(ctl.id.as_str()) {
            return Err(broken(format!("control {} is listed twice", ctl.id)));
        }
        if ctl.evidence.is_empty() {
            return Err(broken(format!("control {} names no evidence", ctl.id)));
        }
        if let Some(bad) = ctl
            .evidence
            .iter()
            .find(|e| !EVIDENCE_KINDS.iter().any(|(k, _)| k == e))
        {
            return Err(broken(format!(
                "control {} names an unknown evidence kind {bad:?}",
                ctl.id
            )));
        }
    }
    for o in &c.out_of_scope {
        if !seen.insert(o.id.as_str()) {
            return Err(broken(format!("control {} is listed twice", o.id)));
        }
    }
    Ok(c)
}

/// Maps measured evidence onto the controls of `framework` (`all` or one of
/// [`FRAMEWORKS`]). Evidence kinds not in `evidence` count as missing ("not measured").
pub fn assess(framework: &str, evidence: Vec<Evidence>) -> Result<Compliance, ReportError> {
    let framework = parse_framework(Some(framework))?;
    let mut measured = Vec::with_capacity(EVIDENCE_KINDS.len());
    for (kind, _) in EVIDENCE_KINDS {
        let e = evidence
            .iter()
            .find(|e| e.kind == *kind)
            .cloned()
            .unwrap_or_else(|| {
                Evidence::new(kind, EvidenceStatus::Missing, "not measured here", "")
            });
        measured.push(e);
    }
    let status_of = |kind: &str| {
        measured
            .iter()
            .find(|e| e.kind == kind)
            .map_or(EvidenceStatus::Missing, |e| e.status)
    };
    let mut frameworks = Vec::new();
    for (id, text) in CATALOGUES {
        if framework != "all" && framework != *id {
            continue;
        }
        let c = catalogue(id, text)?;
        let mut out = FrameworkResult {
            id: c.framework.id,
            name: c.framework.name,
            version: c.framework.version,
            evidenced: 0,
            partial: 0,
            lacking: 0,
            controls: Vec::with_capacity(c.control.len()),
            out_of_scope: c.out_of_scope,
        };
        for ctl in c.control {
            let statuses: Vec<EvidenceStatus> = ctl.evidence.iter().map(|e| status_of(e)).collect();
            let status = if statuses.iter().all(|s| *s == EvidenceStatus::Present) {
                out.evidenced += 1;
                ControlStatus::Evidenced
            } else if statuses.iter().all(|s| *s == EvidenceStatus::Missing) {
                out.lacking += 1;
                ControlStatus::Lacking
            } else {
                out.partial += 1;
                ControlStatus::Partial
            };
            out.controls.push(ControlResult {
                id: ctl.id,
                title: ctl.title,
                status,
                evidence: ctl.evidence,
            });
        }
        frameworks.push(out);
    }
    Ok(Compliance {
        framework,
        evidence: measured,
        frameworks,
    })
}

/// `(name, value)` headline figures.
pub(crate) fn key_figures(c: &Compliance, out: &mut Vec<(String, String)>) {
    let present = c
        .evidence
        .iter()
        .filter(|e| e.status == EvidenceStatus::Present)
        .count() as u64;
    out.push((
        "Evidence present".to_owned(),
        format!(
            "{} of {}",
            thousands(present),
            thousands(c.evidence.len() as u64)
        ),
    ));
    for f in &c.frameworks {
        let total = f.evidenced + f.partial + f.lacking;
        out.push((
            format!("{} controls evidenced", f.name),
            format!(
                "{} of {} ({} partial, {} lacking, {} out of scope)",
                f.evidenced,
                total,
                f.partial,
                f.lacking,
                f.out_of_scope.len()
            ),
        ));
    }
}

/// The tables of a compliance report: the evidence, one table of controls per
/// framework, and the controls out of scope.
pub(crate) fn tables(c: &Compliance, out: &mut Vec<Table>) {
    let mut ev = Table::new(
        "Evidence",
        &[
            ("Evidence", false),
            ("Status", false),
            ("Measured", false),
            ("Check at", false),
        ],
        "No evidence was measured.",
    );
    ev.rows = c
        .evidence
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.status.as_str().to_owned(),
                e.figure.clone(),
                e.link.clone(),
            ]
        })
        .collect();
    out.push(ev);
    // Where to check each evidence kind is in the Evidence table (one link per kind);
    // a control row names its evidence with their statuses, so the table stays narrow
    // enough for an A4 page.
    let find = |kind: &str| c.evidence.iter().find(|e| e.kind == kind);
    for f in &c.frameworks {
        let mut t = Table::new(
            &format!("{} controls", f.name),
            &[
                ("Control", false),
                ("Title", false),
                ("Status", false),
                ("Evidence", false),
            ],
            "This framework lists no control in scope.",
        );
        t.rows = f
            .controls
            .iter()
            .map(|ctl| {
                let names: Vec<String> = ctl
                    .evidence
                    .iter()
                    .map(|kind| {
                        let status = find(kind).map_or("missing", |e| e.status.as_str());
                        format!("{} ({status})", evidence_name(kind))
                    })
                    .collect();
                vec![
                    ctl.id.clone(),
                    ctl.title.clone(),
                    ctl.status.as_str().to_owned(),
                    names.join("; "),
                ]
            })
            .collect();
        out.push(t);
    }
    let mut scope = Table::new(
        "Out of scope",
        &[
            ("Framework", false),
            ("Control", false),
            ("Title", false),
            ("Why", false),
        ],
        "Every control listed is in scope.",
    );
    for f in &c.frameworks {
        for o in &f.out_of_scope {
            scope.rows.push(vec![
                f.name.clone(),
                o.id.clone(),
                o.title.clone(),
                o.reason.clone(),
            ]);
        }
    }
    out.push(scope);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_reads_and_names_known_evidence_only() {
        for (id, text) in CATALOGUES {
            let c = catalogue(id, text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(
                (15..=30).contains(&c.control.len()),
                "{id}: {} controls in scope",
                c.control.len()
            );
            assert!(!c.out_of_scope.is_empty(), "{id} says what is out of scope");
        }
        assert_eq!(CATALOGUES.len(), FRAMEWORKS.len());
        // Every evidence kind serves some control, or measuring it would be waste.
        for (kind, _) in EVIDENCE_KINDS {
            assert!(
                CATALOGUES
                    .iter()
                    .any(|(_, t)| t.contains(&format!("\"{kind}\""))),
                "{kind} is named by no control"
            );
        }
    }

    #[test]
    fn broken_catalogues_are_refused_with_the_reason() {
        let dup = "[framework]\nid='x'\nname='X'\nversion='1'\n\
                   [[control]]\nid='A'\ntitle='a'\nevidence=['tls']\n\
                   [[control]]\nid='A'\ntitle='b'\nevidence=['tls']\n";
        assert!(catalogue("x", dup).is_err_and(|e| e.to_string().contains("twice")));
        let unknown = "[framework]\nid='x'\nname='X'\nversion='1'\n\
                       [[control]]\nid='A'\ntitle='a'\nevidence=['magic']\n";
        assert!(catalogue("x", unknown).is_err_and(|e| e.to_string().contains("magic")));
        let none = "[framework]\nid='x'\nname='X'\nversion='1'\n\
                    [[control]]\nid='A'\ntitle='a'\nevidence=[]\n";
        assert!(catalogue("x", none).is_err_and(|e| e.to_string().contains("no evidence")));
        assert!(catalogue("x", "[framework\n").is_err());
        assert!(catalogue("y", unknown).is_err(), "a file naming another id");
    }

    #[test]
    fn framework_parameter_is_checked() {
        assert_eq!(parse_framework(None).expect("all"), "all");
        assert_eq!(parse_framework(Some("")).expect("all"), "all");
        assert_eq!(parse_framework(Some("SOC2")).expect("soc2"), "soc2");
        assert_eq!(parse_framework(Some(" cis8 ")).expect("cis8"), "cis8");
        let e = parse_framework(Some("pci-dss")).expect_err("unknown");
        assert!(
            e.to_string().contains("soc2, iso27001, nist80053, cis8"),
            "{e}"
        );
        let long = "x".repeat(10_000);
        assert!(
            parse_framework(Some(&long))
                .expect_err("long")
                .to_string()
                .len()
                < 200
        );
    }

    #[test]
    fn controls_are_evidenced_partial_or_lacking() {
        let e = vec![
            Evidence::new("tls", EvidenceStatus::Present, "on", "/api/v1/me"),
            Evidence::new("access_control", EvidenceStatus::Partial, "2 keys", "/x"),
            Evidence::new("sso", EvidenceStatus::Missing, "off", ""),
        ];
        let c = assess("soc2", e).expect("assess");
        assert_eq!(c.frameworks.len(), 1);
        assert_eq!(c.evidence.len(), EVIDENCE_KINDS.len());
        let f = &c.frameworks[0];
        let status = |id: &str| {
            f.controls
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.status)
                .expect("control")
        };
        assert_eq!(status("CC6.7"), ControlStatus::Evidenced, "tls only");
        assert_eq!(
            status("CC6.1"),
            ControlStatus::Partial,
            "keys partial, no sso"
        );
        assert_eq!(status("CC6.6"), ControlStatus::Partial, "tls but no rules");
        assert_eq!(
            status("CC7.3"),
            ControlStatus::Lacking,
            "no triage measured"
        );
        assert_eq!(f.evidenced + f.partial + f.lacking, f.controls.len() as u64);
        let all = assess("all", Vec::new()).expect("all");
        assert_eq!(all.frameworks.len(), 4);
        assert!(
            all.frameworks
                .iter()
                .all(|f| f.evidenced == 0 && f.partial == 0)
        );
        assert!(assess("bogus", Vec::new()).is_err());
    }
}
