//! Rendering every format from sample and empty data.

use crate::summary::tests::event;
use crate::{AlertTally, Format, ReportData, SummaryBuilder, Templates, render};
use chrono::{TimeZone, Utc};

pub(crate) fn sample(alerts: bool) -> ReportData {
    let mut b = SummaryBuilder::new(None, None);
    for i in 0..120 {
        let host = ["web-1", "db-1", "<img src=x onerror=alert(1)>"][i as usize % 3];
        b.add(&event(
            i,
            Some(host),
            if i % 4 == 0 { "syslog-udp" } else { "http" },
        ));
    }
    let mut a = AlertTally::default();
    if alerts {
        a.add("high", "Brute force against administrator");
        a.add("medium", "New service installed");
    }
    let at = Utc.timestamp_opt(1_700_100_000, 0).single().expect("t");
    b.finish("executive", "Executive summary", "acme", a.finish(), at)
}

pub(crate) fn empty() -> ReportData {
    let at = Utc.timestamp_opt(1_700_100_000, 0).single().expect("t");
    SummaryBuilder::new(None, None).finish(
        "executive",
        "Executive summary",
        "acme",
        Default::default(),
        at,
    )
}

fn text(r: &ReportData, f: Format) -> String {
    String::from_utf8(render(r, f, &Templates::embedded()).expect("render")).expect("utf-8")
}

#[test]
fn html_is_escaped_and_self_contained() {
    let html = text(&sample(true), Format::Html);
    assert!(html.contains("<svg"), "charts inline");
    assert!(html.contains("&lt;img src=x"), "host names escaped");
    assert!(!html.contains("<img"), "no markup from data");
    for external in ["https://", "src=\"", "href=", "url(", "@import"] {
        assert!(!html.contains(external), "external reference {external:?}");
    }
    // The one http:// is the SVG namespace name, which is never fetched.
    assert_eq!(
        html.matches("http://").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(html.contains("Brute force against administrator"));
}

#[test]
fn empty_reports_say_so_in_every_text_format() {
    let r = empty();
    for f in [Format::Html, Format::Markdown] {
        let t = text(&r, f);
        assert!(t.contains("No events in this period"), "{f:?}: {t}");
        assert!(t.contains("No alerts in this period"), "{f:?}");
    }
    let pdf = render(&r, Format::Pdf, &Templates::embedded()).expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let csv = text(&r, Format::Csv);
    assert!(csv.contains("totals,events,0"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&text(&r, Format::Json)).expect("json");
    assert_eq!(json["events"]["total"], 0);
    let xlsx = render(&r, Format::Xlsx, &Templates::embedded()).expect("xlsx");
    assert!(xlsx.starts_with(b"PK"), "a zip container");
}

#[test]
fn markdown_and_csv_carry_the_tables() {
    let r = sample(false);
    let md = text(&r, Format::Markdown);
    assert!(md.contains("| web-1 | 40 |"), "{md}");
    assert!(md.contains("No alerts in this period"));
    let csv = text(&r, Format::Csv);
    assert!(csv.contains("top_hosts,web-1,40"), "{csv}");
    assert!(csv.contains("events_by_source,http,90"), "{csv}");
}

#[test]
fn a_broken_override_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("mcpsec-bad-tmpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("executive.md"), "ok\n{% for x in %}\n").expect("write");
    let err = render(
        &sample(false),
        Format::Markdown,
        &Templates::with_overrides(&dir),
    )
    .expect_err("syntax error");
    let msg = err.to_string();
    assert!(
        msg.contains("executive.md") && msg.contains("line 2"),
        "{msg}"
    );
    std::fs::write(
        dir.join("executive.md"),
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    .expect("write");
    let err = render(
        &sample(false),
        Format::Markdown,
        &Templates::with_overrides(&dir),
    )
    .expect_err("runaway loop stopped");
    assert!(err.to_string().contains("fuel"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn formats_parse_from_names() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>().expect("parse"), f);
    }
    assert!("docx".parse::<Format>().is_err());
}

/// A triage and a coverage report over the same (hostile-named) alerts.
fn triage_and_coverage() -> Vec<ReportData> {
    use crate::{CoverageBuilder, Timing, Triage, WaitingAlert};
    let at = Utc.timestamp_opt(1_700_100_000, 0).single().expect("t");
    let mut tally = AlertTally::default();
    tally.add("high", "=cmd|' /C calc'!A0");
    tally.add("high", "<script>alert(1)</script>");
    let alerts = tally.finish();
    let mut triage = SummaryBuilder::new(None, None).finish(
        "triage",
        crate::title("triage"),
        "acme",
        alerts.clone(),
        at,
    );
    triage.triage = Some(Triage {
        by_status: vec![crate::Count {
            name: "open".into(),
            count: 2,
        }],
        time_to_answer: Timing {
            count: 1,
            mean_seconds: Some(3725.0),
            median_seconds: Some(3725.0),
            p90_seconds: Some(3725.0),
        },
        oldest_open: vec![WaitingAlert {
            id: "01J".into(),
            rule: "<script>alert(1)</script>".into(),
            level: "high".into(),
            host: Some("web|1".into()),
            created_at: at,
        }],
        ..Triage::default()
    });
    let mut coverage = SummaryBuilder::new(None, None).finish(
        "coverage",
        crate::title("coverage"),
        "acme",
        alerts,
        at,
    );
    let mut b = CoverageBuilder::new(&["execution", "credential-access"]);
    b.add_rule(&["T1059.001".into()], &["execution".into()]);
    b.add_rule(&["T1003".into()], &["credential-access".into()]);
    coverage.coverage = Some(b.finish(&[("T1059.001".into(), 7)]));
    vec![triage, coverage]
}

#[test]
fn triage_and_coverage_render_in_every_format() {
    for r in triage_and_coverage() {
        let html = text(&r, Format::Html);
        assert!(!html.contains("<script>"), "{}: data is escaped", r.kind);
        for external in ["https://", "src=\"", "href=", "url(", "@import"] {
            assert!(!html.contains(external), "external reference {external:?}");
        }
        let md = text(&r, Format::Markdown);
        let csv = text(&r, Format::Csv);
        assert!(!csv.contains("\n=cmd"), "formulas defused");
        let pdf = render(&r, Format::Pdf, &Templates::embedded()).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        let xlsx = render(&r, Format::Xlsx, &Templates::embedded()).expect("xlsx");
        assert!(xlsx.starts_with(b"PK"));
        let json: serde_json::Value =
            serde_json::from_slice(&render(&r, Format::Json, &Templates::embedded()).expect("j"))
                .expect("json");
        if r.kind == "triage" {
            assert!(html.contains("1 h 2 min"), "MTTA shown");
            assert!(md.contains("| Time to answer (MTTA) | 1 | 1 h 2 min |"));
            assert!(md.contains("web\\|1"), "pipes escaped in Markdown");
            assert!(csv.contains("Response times: Mean,Time to answer (MTTA),1 h 2 min"));
            assert_eq!(json["triage"]["time_to_answer"]["mean_seconds"], 3725.0);
        } else {
            assert!(html.contains("class=\"matrix\""), "heat map drawn");
            assert!(html.contains("<strong>T1059</strong> · 1 rule · 7 alerts"));
            assert!(md.contains("| Execution | T1059 | 1 | 7 |"));
            assert!(csv.contains("Techniques: Alerts,Execution,7"));
            assert_eq!(json["coverage"]["techniques_fired"], 1);
        }
    }
}
