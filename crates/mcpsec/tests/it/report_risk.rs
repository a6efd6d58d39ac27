//! The `risk` report over `serve --demo` (events of 2026-11-20) with risk snapshots
//! every second: the tenant's
//! score as `/api/v1/risk/assets` gives it, the trend from the snapshots, the
//! highest-risk alerts with their factors; JSON and PDF over HTTP, XLSX from the
//! command; another tenant gets an empty report.

use crate::common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn json(s: &Server, key: &str, path: &str) -> Value {
    let (st, body) = get_bytes(s, key, path);
    assert_eq!(st, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("json")
}

#[test]
fn risk_report_shows_score_trend_and_factors() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(
        &data,
        &["--demo"],
        &[("MCPSEC_RISK__SNAPSHOT_INTERVAL_SECS", "1")],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let trend = json(&s, TOKEN, "/api/v1/risk/trends?bucket=hour");
        let alerts = json(&s, TOKEN, "/api/v1/alerts")["total"]
            .as_u64()
            .unwrap_or(0);
        if alerts >= 23 && trend["buckets"].as_array().is_some_and(|b| !b.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no alerts or snapshots: {trend}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The snapshot after the alerts landed.
    std::thread::sleep(Duration::from_millis(1500));

    let r = json(&s, TOKEN, "/api/v1/reports/risk?from=2026-11-19T00:00:00Z");
    let risk = &r["risk"];
    let assets = json(&s, TOKEN, "/api/v1/risk/assets");
    assert_eq!(risk["now"]["score"], assets["tenant"]["score"], "{risk}");
    assert!(risk["now"]["score"].as_u64() > Some(0), "{risk}");
    assert_eq!(risk["bucket"], "day");
    assert!(
        risk["tenant_trend"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{risk}"
    );
    assert!(
        risk["top_assets"].as_array().is_some_and(|t| !t.is_empty()),
        "{risk}"
    );
    let top = risk["top_alerts"].as_array().expect("alerts");
    assert_eq!(top.len(), 10, "{risk}");
    let scores: Vec<u64> = top.iter().filter_map(|a| a["score"].as_u64()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(
        top[0]["factors"].as_array().is_some_and(|f| f
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.starts_with("severity")))),
        "{}",
        top[0]
    );
    let first_rule = top[0]["rule"].as_str().expect("rule").to_owned();

    let (st, pdf) = get_bytes(
        &s,
        TOKEN,
        "/api/v1/reports/risk?format=pdf&from=2026-11-19T00:00:00Z",
    );
    assert_eq!(st, 200);
    let path = dir.path().join("risk.pdf");
    std::fs::write(&path, pdf).expect("write");
    let text = tool(Command::new("pdftotext").arg("-layout").arg(&path).arg("-"));
    for needle in [
        "Risk trends",
        "Tenant risk now",
        "Tenant risk over time",
        "Highest-risk alerts",
        // Long cells are shortened to fit the page's grid.
        &first_rule.chars().take(20).collect::<String>(),
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }

    let other = tenant_key(&data, "tenant-b", "analyst");
    let theirs = json(&s, &other, "/api/v1/reports/risk");
    assert_eq!(
        theirs["risk"]["top_alerts"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(theirs["risk"]["now"]["score"], 0);

    let xlsx = dir.path().join("risk.xlsx");
    let out = Command::new(bin())
        .args([
            "report",
            "generate",
            "risk",
            "--from",
            "2026-11-19T00:00:00Z",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--output")
        .arg(&xlsx)
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sheets = tool(Command::new("python3").args([
        "-c",
        "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); print(wb.sheetnames); \
         print(len(list(wb['Highest-risk alerts'].iter_rows(min_row=2))))",
        xlsx.to_str().expect("utf-8"),
    ]));
    assert!(
        sheets.contains(
            "'Tenant risk over time', 'Assets with the highest risk', 'Highest-risk alerts'"
        ),
        "{sheets}"
    );
    assert!(sheets.trim_end().ends_with("10"), "{sheets}");
}
