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
