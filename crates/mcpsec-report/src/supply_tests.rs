//! The supply report in every format, SARIF included, from sample and empty data.

use crate::{
    Count, Format, LicenceIssue, LicenceUse, LicenceVerdicts, ProjectPosture, ReportData,
    SEVERITIES, SbomChanges, SummaryBuilder, Supply, SupplyFinding, Templates, render,
};
use chrono::{TimeZone, Utc};

fn finding(id: &str, package: &str, severity: &str, fixed: Option<&str>) -> SupplyFinding {
    SupplyFinding {
        id: id.into(),
        aliases: vec![format!("CVE-{id}")],
        package: package.into(),
        version: "1.0.0".into(),
        purl: format!("pkg:npm/{package}@1.0.0"),
        severity: severity.into(),
        score: (severity == "critical").then_some(9.8),
        fixed: fixed.map(Into::into),
        summary: format!("{package} <b>is</b> vulnerable"),
        url: None,
        known_exploited: false,
        location: "/components/0".into(),
    }
}

pub(crate) fn supply(projects: Vec<ProjectPosture>) -> ReportData {
    let at = Utc.timestamp_opt(1_700_100_000, 0).single().expect("t");
    let mut r = SummaryBuilder::new(None, None).finish(
        "supply",
        crate::title("supply"),
        "acme",
        Default::default(),
        at,
    );
    r.supply = Some(Supply {
        policy: "built-in default".into(),
        projects,
    });
    r
}

pub(crate) fn project() -> ProjectPosture {
    let by = [1, 1, 0, 0, 0];
    ProjectPosture {
        id: "01PROJ".into(),
        name: "shop|<web>".into(),
        version: 2,
        file_name: "bom v2.json".into(),
        format: "CycloneDX 1.5 JSON".into(),
        components: 3,
        vulndb_generation: Some(4),
        by_severity: SEVERITIES
            .iter()
            .zip(by)
            .map(|(s, n)| Count {
                name: (*s).into(),
                count: n,
            })
            .collect(),
        fixable: 1,
        suppressed: 0,
        findings: vec![
            finding("GHSA-crit", "left-pad", "critical", Some("1.3.0")),
            finding("GHSA-high", "=cmd|' /C calc'!A0", "high", None),
        ],
        verdicts: LicenceVerdicts {
            allowed: 2,
            denied: 1,
            ..LicenceVerdicts::default()
        },
        licences: vec![
            LicenceUse {
                licence: "MIT".into(),
                components: 2,
                verdict: "allow".into(),
            },
            LicenceUse {
                licence: "AGPL-3.0-only".into(),
                components: 1,
                verdict: "deny".into(),
            },
        ],
        licence_issues: vec![LicenceIssue {
            package: "copyleft-lib".into(),
            version: "2.0.0".into(),
            licences: "AGPL-3.0-only".into(),
            verdict: "deny".into(),
            reason: "AGPL-3.0-only: network-copyleft family denied".into(),
        }],
        changes: Some(SbomChanges {
            from: 1,
            to: 2,
            added: vec!["copyleft-lib@2.0.0".into()],
            upgraded: vec!["left-pad 0.9.0 -> 1.0.0".into()],
            new_vulnerabilities: vec!["GHSA-crit (left-pad)".into()],
            ..SbomChanges::default()
        }),
        warnings: vec![],
    }
}

fn text(r: &ReportData, f: Format) -> String {
    String::from_utf8(render(r, f, &Templates::embedded()).expect("render")).expect("utf-8")
}

#[test]
fn supply_renders_in_every_format() {
    let r = supply(vec![project()]);
    let html = text(&r, Format::Html);
    assert!(!html.contains("<web>") && !html.contains("<b>"), "escaped");
    assert!(html.contains("GHSA-crit") && html.contains("Licence policy issues"));
    for external in ["https://", "src=\"", "href=", "url(", "@import"] {
        assert!(!html.contains(external), "external reference {external:?}");
    }
    let md = text(&r, Format::Markdown);
    assert!(
        md.contains("| shop\\|<web> | 2 | 3 | 1 | 1 | 0 | 0 | 0 | 1 | 1 | 0 |"),
        "{md}"
    );
    assert!(md.contains("| Critical | 1 |"), "{md}");
    assert!(md.contains("no fix"), "{md}");
    let csv = text(&r, Format::Csv);
    assert!(
        !csv.contains("\n=cmd") && !csv.contains(",=cmd"),
        "formulas defused"
    );
    assert!(csv.contains("Licences: Components,shop|<web>,1"), "{csv}");
    let pdf = render(&r, Format::Pdf, &Templates::embedded()).expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let xlsx = render(&r, Format::Xlsx, &Templates::embedded()).expect("xlsx");
    assert!(xlsx.starts_with(b"PK"));
    let json: serde_json::Value = serde_json::from_str(&text(&r, Format::Json)).expect("json");
    assert_eq!(json["supply"]["projects"][0]["fixable"], 1);
    assert_eq!(json["supply"]["projects"][0]["changes"]["from"], 1);
}

#[test]
fn sarif_has_one_rule_per_id_and_one_result_per_component() {
    let mut p = project();
    let mut again = p.findings[0].clone();
    again.package = "other".into();
    again.purl = "pkg:npm/other@1.0.0".into();
    p.findings.push(again);
    let r = supply(vec![p]);
    let log: serde_json::Value = serde_json::from_str(&text(&r, Format::Sarif)).expect("sarif");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(2)
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[2]["ruleIndex"], 0, "same id, same rule");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "bom%20v2.json"
    );
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "9.8"
    );
    assert_eq!(
        results[1]["properties"]["fixedVersion"],
        serde_json::Value::Null
    );
}

#[test]
fn empty_supply_says_so() {
    let r = supply(vec![]);
    let md = text(&r, Format::Markdown);
    assert!(
        md.contains("No project in this tenant has an SBOM."),
        "{md}"
    );
    let log: serde_json::Value = serde_json::from_str(&text(&r, Format::Sarif)).expect("sarif");
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    for f in [Format::Pdf, Format::Xlsx, Format::Html, Format::Csv] {
        render(&r, f, &Templates::embedded()).expect("renders");
    }
}

#[test]
fn many_findings_render_in_bounded_time_and_space() {
    let mut p = project();
    p.findings = (0..20_000)
        .map(|i| finding(&format!("GHSA-{i}"), &format!("pkg-{i}"), "medium", None))
        .collect();
    let r = supply(vec![p]);
    let pdf = render(&r, Format::Pdf, &Templates::embedded()).expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let sarif = text(&r, Format::Sarif);
    assert!(sarif.contains("GHSA-19999"));
}

#[test]
fn risk_renders_in_every_format() {
    use crate::{AssetTrend, Risk, RiskBucketRow, RiskNow, RiskyAlert};
    let mut r = supply(vec![]);
    r.kind = "risk".into();
    r.title = crate::title("risk").into();
    r.supply = None;
    r.risk = Some(Risk {
        now: RiskNow {
            score: 72,
            band: "high".into(),
            assets_at_risk: 2,
            alerts: 5,
        },
        bucket: "day".into(),
        tenant_trend: vec![RiskBucketRow {
            start: "2026-11-20T00:00:00Z".into(),
            max: 72.0,
            avg: 50.5,
        }],
        top_assets: vec![AssetTrend {
            kind: "host".into(),
            name: "dc|01".into(),
            peak: 80.0,
            mean: 61.25,
            latest: 70.0,
        }],
        top_alerts: vec![RiskyAlert {
            id: "01A".into(),
            rule: "<b>LSASS</b> dump".into(),
            level: "critical".into(),
            status: "open".into(),
            host: Some("dc|01".into()),
            score: 91,
            band: "critical".into(),
            factors: vec!["severity critical: +45".into(), "asset tier-0: x1.2".into()],
        }],
    });
    let md = text(&r, Format::Markdown);
    assert!(md.contains("| Tenant risk now | 72 (high) |"), "{md}");
    assert!(
        md.contains("| host | dc\\|01 | 80.0 | 61.2 | 70.0 |"),
        "{md}"
    );
    assert!(
        md.contains("severity critical: +45; asset tier-0: x1.2"),
        "{md}"
    );
    let html = text(&r, Format::Html);
    assert!(!html.contains("<b>LSASS"), "escaped");
    let csv = text(&r, Format::Csv);
    assert!(
        csv.contains("Highest-risk alerts: Score,<b>LSASS</b> dump,91"),
        "{csv}"
    );
    for f in [Format::Pdf, Format::Xlsx, Format::Json] {
        render(&r, f, &Templates::embedded()).expect("renders");
    }
    assert!(render(&r, Format::Sarif, &Templates::embedded()).is_err());
}

#[test]
fn response_renders_in_every_format() {
    use crate::{ApprovalRow, FailedRun, PlaybookActivity, Response};
    let mut r = supply(vec![]);
    r.kind = "response".into();
    r.title = crate::title("response").into();
    r.supply = None;
    r.response = Some(Response {
        runs: 3,
        succeeded: 1,
        failed: 1,
        in_progress: 1,
        by_playbook: vec![PlaybookActivity {
            playbook: "contain|host".into(),
            runs: 3,
            succeeded: 1,
            failed: 1,
            in_progress: 1,
            median_seconds: Some(185.0),
        }],
        failures: vec![FailedRun {
            run_id: "01R".into(),
            playbook: "contain|host".into(),
            started: "2026-11-20T08:00:00Z".into(),
            trigger: "alert".into(),
            error: "<script>jira answered 503</script>".into(),
        }],
        approvals: vec![ApprovalRow {
            run_id: "01S".into(),
            playbook: "contain|host".into(),
            step: "isolate".into(),
            status: "approved".into(),
            waited_seconds: 3_900.0,
            escalated: true,
        }],
        approval_median_seconds: Some(3_900.0),
        truncated: false,
    });
    let md = text(&r, Format::Markdown);
    assert!(md.contains("| Playbook runs | 3 |"), "{md}");
    assert!(md.contains("| Median approval wait | 1 h 5 min |"), "{md}");
    assert!(
        md.contains("| contain\\|host | 3 | 1 | 1 | 1 | 3 min 5 s |"),
        "{md}"
    );
    assert!(
        md.contains("| contain\\|host | isolate | approved | 1 h 5 min | yes | 01S |"),
        "{md}"
    );
    let html = text(&r, Format::Html);
    assert!(!html.contains("<script>jira"), "escaped");
    assert!(html.contains("jira answered 503"), "{html}");
    let csv = text(&r, Format::Csv);
    assert!(csv.contains("Failed runs"), "{csv}");
    for f in [Format::Pdf, Format::Xlsx, Format::Json] {
        render(&r, f, &Templates::embedded()).expect("renders");
    }
    assert!(render(&r, Format::Sarif, &Templates::embedded()).is_err());
    let empty = ReportData {
        response: Some(Response::default()),
        ..r.clone()
    };
    let md = text(&empty, Format::Markdown);
    assert!(md.contains("No playbook ran in this period."), "{md}");
}
