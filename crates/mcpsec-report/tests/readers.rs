//! Every format opened by a real reader: `pdftotext` and `pdftoppm` (poppler-utils) for
//! PDF, Python's openpyxl for XLSX. `.ci/run` installs them; a missing tool fails the
//! test rather than skipping it.

use chrono::{TimeZone, Utc};
use common::{artifacts, pdf_text, run, write};
use mcpsec_core::{Event, EventFormat, SourceInfo, TenantId};
use mcpsec_report::{AlertTally, Format, ReportData, SummaryBuilder};
use std::process::Command;

mod common;

fn data(events: i64, alerts: bool) -> ReportData {
    let mut b = SummaryBuilder::new(None, None);
    for i in 0..events {
        let mut fields = serde_json::Map::new();
        let host = ["DC01.corp.example", "web-1", "db-1", "Zürich-gw"][i as usize % 4];
        fields.insert("host".into(), serde_json::json!({ "name": host }));
        let mut ev = Event::new(
            TenantId::default_tenant(),
            SourceInfo::new(if i % 3 == 0 { "syslog-udp" } else { "http" }, "10.0.0.1"),
            if i % 2 == 0 {
                EventFormat::Windows
            } else {
                EventFormat::Syslog5424
            },
            fields,
        );
        ev.time = Utc
            .timestamp_opt(1_763_625_600 + i * 97, 0)
            .single()
            .expect("time");
        b.add(&ev);
    }
    let mut a = AlertTally::default();
    if alerts {
        a.add("high", "Brute force against administrator");
    }
    let at = Utc.timestamp_opt(1_763_700_000, 0).single().expect("t");
    b.finish("executive", "Executive summary", "default", a.finish(), at)
}

#[test]
fn pdf_text_extracts_and_pages_render() {
    let path = write("executive.pdf", &data(2_000, true), Format::Pdf);
    let text = pdf_text(&path);
    for needle in [
        "Executive summary",
        "Key figures",
        "Events over time",
        "DC01.corp.example",
        "Zürich-gw",
        "Brute force against administrator",
        "2,000",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(text.split_whitespace().count() > 60);
    let prefix = artifacts().join("executive-page");
    run(Command::new("pdftoppm")
        .args(["-png", "-r", "60"])
        .arg(&path)
        .arg(&prefix));
    let pages = std::fs::read_dir(artifacts())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("executive-page")
        })
        .count();
    assert!(pages >= 1, "pdftoppm rendered no page");
}

#[test]
fn empty_pdf_still_reads_and_says_so() {
    let path = write("empty.pdf", &data(0, false), Format::Pdf);
    let text = pdf_text(&path);
    assert!(text.contains("No events in this period"), "{text}");
    assert!(text.contains("No alerts in this period"), "{text}");
}

#[test]
fn xlsx_opens_in_openpyxl() {
    let path = write("executive.xlsx", &data(500, false), Format::Xlsx);
    let script = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print("|".join(wb.sheetnames))
s = wb["Summary"]
print(s["A1"].value)
for row in s.iter_rows(min_row=3, values_only=True):
    print(row[0], "=", row[1])
print("hosts:", [r for r in wb["Top hosts"].iter_rows(min_row=2, values_only=True)])
print("alerts:", wb["Alerts by level"]["A2"].value)
"#;
    let out = run(Command::new("python3").args(["-c", script]).arg(&path));
    assert!(out.contains("Summary|Timeline|Sources"), "{out}");
    assert!(out.contains("Events = 500"), "{out}");
    assert!(out.contains("('web-1', 125)"), "{out}");
    assert!(out.contains("alerts: No alerts in this period."), "{out}");
}

#[test]
fn html_and_markdown_are_written_for_inspection() {
    let r = data(300, true);
    let html = std::fs::read_to_string(write("executive.html", &r, Format::Html)).expect("read");
    assert!(html.contains("Zürich-gw"));
    let md = std::fs::read_to_string(write("executive.md", &r, Format::Markdown)).expect("read");
    assert!(md.contains("| Zürich-gw | 75 |"), "{md}");
}
