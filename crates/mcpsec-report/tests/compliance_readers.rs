//! The compliance report in every format, each opened by a real reader: `pdftotext` and
//! `pdftoppm` for PDF, openpyxl for XLSX; HTML, Markdown, CSV and JSON read as text.

use chrono::{TimeZone, Utc};
use common::{artifacts, pdf_text, run, write};
use mcpsec_report::{
    AlertTally, Evidence, EvidenceStatus, Format, ReportData, SummaryBuilder, Templates, assess,
    render,
};
use std::process::Command;

mod common;

fn report(framework: &str, evidence: Vec<Evidence>) -> ReportData {
    let at = Utc.timestamp_opt(1_763_700_000, 0).single().expect("t");
    let mut r = SummaryBuilder::new(None, None).finish(
        "compliance",
        "Compliance mapping",
        "acme",
        AlertTally::default().finish(),
        at,
    );
    r.compliance = Some(assess(framework, evidence).expect("assess"));
    r
}

fn some_evidence() -> Vec<Evidence> {
    use EvidenceStatus::*;
    vec![
        Evidence::new(
            "audit_log",
            Present,
            "412 entries in the period",
            "/api/v1/audit",
        ),
        Evidence::new(
            "tls",
            Present,
            "the API is served over TLS",
            "config [server.tls]",
        ),
        Evidence::new(
            "access_control",
            Partial,
            "3 usable keys (admin 3), 0 revoked or expired",
            "/api/v1/me",
        ),
        // Hostile text from tenant data must stay text in every format.
        Evidence::new(
            "detection_rules",
            Present,
            "=cmd()|<script>alert(1)</script>",
            "/api/v1/rules",
        ),
    ]
}

fn text(r: &ReportData, f: Format) -> String {
    String::from_utf8(render(r, f, &Templates::embedded()).expect("render")).expect("utf-8")
}

#[test]
fn compliance_pdf_names_controls_evidence_and_scope() {
    let path = write(
        "compliance.pdf",
        &report("all", some_evidence()),
        Format::Pdf,
    );
    let t = pdf_text(&path);
    for needle in [
        "Compliance mapping",
        "Evidence present",
        "SOC 2 controls",
        "ISO 27001 Annex A controls",
        "NIST SP 800-53 controls",
        "CIS Controls controls",
        "CC6.7",
        "A.8.15",
        "AU-9",
        "Out of scope",
        "Physical security perimeters",
        "/api/v1/audit",
        "lacking",
    ] {
        assert!(t.contains(needle), "{needle:?} missing from:\n{t}");
    }
    let prefix = artifacts().join("compliance-page");
    run(Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "2"])
        .arg(&path)
        .arg(&prefix));
    assert!(
        std::fs::read_dir(artifacts())
            .expect("ls")
            .filter_map(|e| e.ok())
            .any(|e| e
                .file_name()
                .to_string_lossy()
                .starts_with("compliance-page")),
        "pdftoppm rendered no page"
    );
}

#[test]
fn compliance_xlsx_opens_in_openpyxl_with_a_sheet_per_framework() {
    let path = write(
        "compliance.xlsx",
        &report("all", some_evidence()),
        Format::Xlsx,
    );
    let script = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print("|".join(wb.sheetnames))
for row in wb["Evidence"].iter_rows(min_row=2, values_only=True):
    print("ev", row)
for row in wb["SOC 2 controls"].iter_rows(min_row=2, values_only=True):
    print("soc2", row)
"#;
    let out = run(Command::new("python3").args(["-c", script]).arg(&path));
    assert!(
        out.contains(
            "Summary|Evidence|SOC 2 controls|ISO 27001 Annex A controls|NIST SP 800-53 controls|CIS Controls controls|Out of scope"
        ),
        "{out}"
    );
    assert!(
        out.contains("ev ('TLS on the API', 'present', 'the API is served over TLS'"),
        "{out}"
    );
    assert!(out.contains("'=cmd()|<script>"), "stays text: {out}");
    assert!(
        out.contains("soc2 ('CC6.7', 'Data in transit is protected', 'evidenced'"),
        "{out}"
    );
}

#[test]
fn compliance_text_formats_carry_the_verdicts_safely() {
    let r = report("soc2", some_evidence());
    let md = text(&r, Format::Markdown);
    assert!(md.contains("## SOC 2 controls"), "{md}");
    assert!(
        !md.contains("## CIS Controls controls"),
        "one framework asked for"
    );
    assert!(
        md.contains(
            "| CC6.1 | Logical access to systems is restricted and authenticated | partial |"
        ),
        "{md}"
    );
    assert!(md.contains("=cmd()\\|<script>"), "pipes escaped: {md}");
    let html = text(&r, Format::Html);
    assert!(!html.contains("<script>alert"), "escaped");
    assert!(html.contains("CC9.2"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "self-contained"
    );
    let csv = text(&r, Format::Csv);
    assert!(csv.contains("report,kind,compliance"), "{csv}");
    assert!(
        csv.contains("SOC 2 controls: Status,CC6.7,evidenced"),
        "{csv}"
    );
    assert!(csv.contains("'=cmd()"), "formula defused: {csv}");
    let json: serde_json::Value = serde_json::from_str(&text(&r, Format::Json)).expect("json");
    assert_eq!(json["compliance"]["framework"], "soc2");
    assert_eq!(json["compliance"]["frameworks"][0]["id"], "soc2");
    assert_eq!(json["compliance"]["evidence"][0]["kind"], "audit_log");
    assert_eq!(json["compliance"]["evidence"][0]["status"], "present");
    assert!(render(&r, Format::Sarif, &Templates::embedded()).is_err());
}

#[test]
fn an_empty_tenant_reads_as_all_missing_in_every_format() {
    let r = report("all", Vec::new());
    let c = r.compliance.as_ref().expect("compliance");
    assert!(
        c.frameworks
            .iter()
            .all(|f| f.evidenced == 0 && f.partial == 0)
    );
    let md = text(&r, Format::Markdown);
    assert!(md.contains("| Evidence present | 0 of 15 |"), "{md}");
    assert!(
        md.contains(
            "| SOC 2 controls evidenced | 0 of 19 (0 partial, 19 lacking, 5 out of scope) |"
        ),
        "{md}"
    );
    let t = run(Command::new("pdftotext")
        .arg(write("compliance-empty.pdf", &r, Format::Pdf))
        .arg("-"));
    assert!(t.contains("not measured here"), "{t}");
    for f in [Format::Html, Format::Csv, Format::Json, Format::Xlsx] {
        render(&r, f, &Templates::embedded()).expect("renders");
    }
}
