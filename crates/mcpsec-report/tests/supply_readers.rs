//! The supply report read back by real readers: `pdftotext` for PDF, openpyxl for XLSX,
//! and Microsoft's SARIF validator (`@microsoft/sarif-multitool`, which `.ci/run`
//! installs from npm and names in `SARIF_MULTITOOL`) for SARIF. Without npm the SARIF
//! check is skipped and says why.

use chrono::{TimeZone, Utc};
use common::{artifacts, pdf_text, run};
use mcpsec_report::{
    Count, Format, LicenceIssue, LicenceVerdicts, ProjectPosture, ReportData, SEVERITIES,
    SbomChanges, SummaryBuilder, Supply, SupplyFinding,
};
use std::path::PathBuf;
use std::process::Command;

mod common;

fn finding(id: &str, package: &str, severity: &str, score: Option<f64>) -> SupplyFinding {
    SupplyFinding {
        id: id.into(),
        aliases: vec![format!("CVE-2025-{}", id.len())],
        package: package.into(),
        version: "1.0.0".into(),
        purl: format!("pkg:npm/{package}@1.0.0"),
        severity: severity.into(),
        score,
        fixed: score.map(|_| "1.0.1".to_owned()),
        summary: format!("{package} mishandles input"),
        url: Some(format!("https://osv.dev/vulnerability/{id}")),
        known_exploited: severity == "critical",
        location: "/components/1".into(),
    }
}

fn data() -> ReportData {
    let at = Utc.timestamp_opt(1_763_700_000, 0).single().expect("t");
    let mut r = SummaryBuilder::new(None, None).finish(
        "supply",
        mcpsec_report::title("supply"),
        "default",
        Default::default(),
        at,
    );
    let findings = vec![
        finding("GHSA-aaaa-bbbb-cccc", "lodash", "critical", Some(9.8)),
        finding("GHSA-dddd-eeee-ffff", "minimist", "medium", None),
    ];
    let counts = [1, 0, 1, 0, 0];
    r.supply = Some(Supply {
        policy: "built-in default".into(),
        projects: vec![ProjectPosture {
            id: "01JPROJECT".into(),
            name: "storefront".into(),
            version: 3,
            file_name: "bom.cdx.json".into(),
            format: "CycloneDX 1.5 JSON".into(),
            components: 42,
            vulndb_generation: Some(1),
            by_severity: SEVERITIES
                .iter()
                .zip(counts)
                .map(|(s, count)| Count {
                    name: (*s).into(),
                    count,
                })
                .collect(),
            fixable: 1,
            suppressed: 0,
            findings,
            verdicts: LicenceVerdicts {
                allowed: 41,
                review: 1,
                ..LicenceVerdicts::default()
            },
            licences: vec![],
            licence_issues: vec![LicenceIssue {
                package: "mystery".into(),
                version: "0.1.0".into(),
                licences: String::new(),
                verdict: "review".into(),
                reason: "no licence data (review)".into(),
            }],
            changes: Some(SbomChanges {
                from: 2,
                to: 3,
                removed: vec!["request@2.88.2".into()],
                ..SbomChanges::default()
            }),
            warnings: vec![],
        }],
    });
    r
}

fn write(name: &str, f: Format) -> PathBuf {
    common::write(name, &data(), f)
}

#[test]
fn supply_pdf_and_xlsx_read_back() {
    let pdf = write("supply.pdf", Format::Pdf);
    let text = pdf_text(&pdf);
    for needle in [
        "Supply-chain posture",
        "storefront",
        "GHSA-aaaa-bbbb-cccc",
        "Licence policy issues",
        "request@2.88.2",
        "no fix",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let xlsx = write("supply.xlsx", Format::Xlsx);
    let script = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print("|".join(wb.sheetnames))
print([r for r in wb["Projects"].iter_rows(min_row=2, values_only=True)])
print([r[3] for r in wb["Vulnerable components"].iter_rows(min_row=2, values_only=True)])
"#;
    let out = run(Command::new("python3").args(["-c", script]).arg(&xlsx));
    assert!(
        out.contains(
            "Summary|Projects|Vulnerable components|Licences|Licence policy issues|SBOM changes"
        ),
        "{out}"
    );
    assert!(
        out.contains("('storefront', 3, 42, 1, 0, 1, 0, 0, 1, 0, 1)"),
        "{out}"
    );
    assert!(out.contains("GHSA-dddd-eeee-ffff"), "{out}");
}

#[test]
fn supply_sarif_passes_the_sarif_validator() {
    let path = write("supply.sarif", Format::Sarif);
    let Some(tool) = std::env::var_os("SARIF_MULTITOOL") else {
        println!(
            "SKIPPED: SARIF_MULTITOOL is not set (.ci/run installs @microsoft/sarif-multitool when npm is present); {} was not validated",
            path.display()
        );
        return;
    };
    let out = artifacts().join("supply.sarif.validation.sarif");
    let _ = std::fs::remove_file(&out);
    let cmd = run(Command::new(&tool)
        .arg("validate")
        .arg(&path)
        .arg("--output")
        .arg(&out)
        .args(["--log", "ForceOverwrite"]));
    // The validator's own log is SARIF: schema and rule violations are its results, at
    // level `error`; advice (a region for each location) comes as warnings.
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("validation log")).expect("json");
    let bad: Vec<&serde_json::Value> = log["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "error")
        .collect();
    assert!(bad.is_empty(), "validator errors: {bad:#?}\n{cmd}");
    assert!(cmd.contains("Analysis completed successfully"), "{cmd}");
}
