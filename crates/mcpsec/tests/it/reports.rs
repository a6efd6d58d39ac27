//! `mcpsec report generate` over the data dir of a running `serve`, every format opened
//! by a real reader (pdftotext/pdftoppm, openpyxl), and reports kept to one tenant.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Output};

fn report(data: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(["report", "generate", "executive", "--data-dir"])
        .arg(data)
        .args(args)
        .output()
        .expect("mcpsec report")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_format_of_a_running_serves_data_reads_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client()
        .get(server.url("/api/v1/alerts"))
        .bearer_auth(TOKEN)
        .send()
        .ok()
        .and_then(|r| r.json::<serde_json::Value>().ok())
        .and_then(|v| v["total"].as_u64())
        .unwrap_or(0)
        < 23
    {
        assert!(std::time::Instant::now() < deadline, "demo alerts stored");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    for f in ["pdf", "xlsx", "html", "md", "csv", "json"] {
        let path = out.join(format!("r.{f}"));
        ok(&report(
            &data,
            &["--format", f, "--output", path.to_str().expect("utf-8")],
        ));
        assert!(path.exists(), "{f} written");
    }
    let text = tool(Command::new("pdftotext").arg(out.join("r.pdf")).arg("-"));
    assert!(text.split_whitespace().count() >= 30, "{text}");
    for needle in [
        "Executive summary",
        "DC01.corp.example",
        "47",
        "Failed network logon",
        "critical",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} not in the PDF text:\n{text}"
        );
    }
    tool(
        Command::new("pdftoppm")
            .args(["-png", "-r", "40", "-f", "1", "-l", "1"])
            .arg(out.join("r.pdf"))
            .arg(out.join("page")),
    );
    assert!(out.join("page-1.png").exists(), "first page rendered");
    let xlsx = tool(Command::new("python3").args([
        "-c",
        "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); \
         s = wb['Summary']; print(wb.sheetnames); \
         print([r for r in s.iter_rows(values_only=True) if r[0] == 'Events'])",
        out.join("r.xlsx").to_str().expect("utf-8"),
    ]));
    assert!(
        xlsx.contains("'Timeline'") && xlsx.contains("('Events', 47)"),
        "{xlsx}"
    );
    let html = std::fs::read_to_string(out.join("r.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("DC01.corp.example"));
    assert!(!html.contains("https://") && !html.contains(" src=") && !html.contains("href="));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("r.json")).expect("json")).expect("parse");
    assert_eq!(json["events"]["total"], 47);
    assert_eq!(json["alerts"]["total"], 23);
    assert_eq!(json["alerts"]["by_level"][0]["name"], "critical");
    let csv = std::fs::read_to_string(out.join("r.csv")).expect("csv");
    assert!(csv.contains("totals,events,47"), "{csv}");
    let md = std::fs::read_to_string(out.join("r.md")).expect("md");
    assert!(md.contains("| Events | 47 |"), "{md}");
    // Standard output when no --output; the format follows --format.
    let stdout = ok(&report(
        &data,
        &[
            "--format",
            "csv",
            "--from",
            "2026-11-20T09:00:00Z",
            "--to",
            "2026-11-20T10:00:00Z",
        ],
    ));
    assert!(stdout.starts_with("section,name,value"), "{stdout}");
    assert!(stdout.contains("top_hosts,web-1,"), "{stdout}");
    assert!(
        !stdout.contains("DC01.corp.example"),
        "period respected: {stdout}"
    );
    triage_and_coverage(&server, &data, &out);
    drop(server);
}

/// The triage report counts an answered alert and lists the open ones; the coverage
/// report places the demo rules' techniques on the ATT&CK matrix; both read back.
fn triage_and_coverage(server: &Server, data: &Path, out: &Path) {
    let get = |path: &str| {
        client()
            .get(server.url(path))
            .bearer_auth(TOKEN)
            .send()
            .expect("get")
    };
    let crit = get("/api/v1/alerts?level=critical")
        .json::<serde_json::Value>()
        .expect("alerts");
    let id = crit["alerts"][0]["id"].as_str().expect("id").to_owned();
    let r = client()
        .patch(server.url(&format!("/api/v1/alerts/{id}")))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"status": "acknowledged"}))
        .send()
        .expect("patch");
    assert_eq!(r.status(), 200);

    let triage: serde_json::Value = get("/api/v1/reports/triage").json().expect("triage");
    assert_eq!(triage["kind"], "triage");
    assert_eq!(triage["alerts"]["total"], 23, "{triage}");
    assert_eq!(triage["triage"]["time_to_answer"]["count"], 1, "{triage}");
    assert_eq!(
        triage["triage"]["oldest_open"].as_array().map(Vec::len),
        Some(10)
    );
    assert!(
        triage["triage"]["by_status"]
            .as_array()
            .expect("statuses")
            .contains(&serde_json::json!({"name": "open", "count": 22})),
        "{triage}"
    );
    assert!(triage.get("coverage").is_none(), "only its own part");

    let coverage: serde_json::Value = get("/api/v1/reports/coverage").json().expect("coverage");
    let c = &coverage["coverage"];
    assert!(c["rules"].as_u64() >= Some(8), "{coverage}");
    assert!(c["techniques_covered"].as_u64() >= Some(3), "{coverage}");
    let cred = c["tactics"]
        .as_array()
        .expect("tactics")
        .iter()
        .find(|t| t["id"] == "credential-access")
        .expect("a credential-access column");
    assert!(
        cred["techniques"]
            .as_array()
            .expect("cells")
            .iter()
            .any(|t| t["id"] == "T1003" && t["alerts"].as_u64() >= Some(1)),
        "LSASS dump fired: {cred}"
    );

    let pdf = get("/api/v1/reports/triage?format=pdf")
        .bytes()
        .expect("pdf");
    let path = out.join("triage.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let text = tool(Command::new("pdftotext").arg(&path).arg("-"));
    for needle in [
        "Alert triage",
        "Time to answer (MTTA)",
        "Open alerts waiting longest",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let html = get("/api/v1/reports/coverage?format=html")
        .text()
        .expect("html");
    assert!(html.contains("class=\"matrix\"") && html.contains("Credential Access"));

    // The CLI reads the same store; its coverage counts only rules from files and the
    // API (the demo's built-in rules are not files), its triage matches the server's.
    let xlsx = out.join("triage.xlsx");
    Command::new(bin())
        .args(["report", "generate", "triage", "--data-dir"])
        .arg(data)
        .arg("--output")
        .arg(&xlsx)
        .output()
        .map(|o| ok(&o))
        .expect("cli triage");
    let sheets = tool(Command::new("python3").args([
        "-c",
        "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); print(wb.sheetnames); \
         print([r for r in wb['Response times'].iter_rows(values_only=True)][1][:2])",
        xlsx.to_str().expect("utf-8"),
    ]));
    assert!(
        sheets.contains("'Alerts by status'") && sheets.contains("('Time to answer (MTTA)', 1)"),
        "{sheets}"
    );
}

#[test]
fn reports_cover_one_existing_tenant_and_say_so_when_empty() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let a = tenant_key(&data, "tenant-a", "analyst");
    let b = tenant_key(&data, "tenant-b", "viewer");
    let secret = mark();
    let body: String = (0..10)
        .map(|i| format!("{{\"host\":{{\"name\":\"{secret}-host\"}},\"n\":{i}}}\n"))
        .collect();
    let r = client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&a)
        .body(body)
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(server.wait_count_as(&a, "*", 10), 10);

    let own = ok(&report(&data, &["--tenant", "tenant-a", "--format", "md"]));
    assert!(own.contains(&format!("{secret}-host")), "{own}");
    let other = ok(&report(&data, &["--tenant", "tenant-b", "--format", "md"]));
    assert!(
        !other.contains(&secret),
        "LEAK into tenant-b's report: {other}"
    );
    assert!(other.contains("No events in this period"), "{other}");
    assert!(other.contains("No alerts in this period"), "{other}");

    let unknown = report(&data, &["--tenant", "tenant-c"]);
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("no tenant \"tenant-c\""), "{err}");
    let bad = report(&data, &["--from", "now", "--to", "now-1h"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("must be before"));

    // Over HTTP the key decides the tenant; asking for another one is refused plainly.
    let r = client()
        .get(server.url("/api/v1/reports/executive"))
        .bearer_auth(&b)
        .query(&[("tenant", "tenant-a")])
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 403);
    let text = r.text().unwrap_or_default();
    assert!(text.contains("only the key's own tenant"), "{text}");
    let mine: serde_json::Value = client()
        .get(server.url("/api/v1/reports/executive"))
        .bearer_auth(&b)
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(mine["tenant"], "tenant-b");
    assert_eq!(mine["events"]["total"], 0);
    let pdf = client()
        .get(server.url("/api/v1/reports/executive"))
        .bearer_auth(&a)
        .query(&[("format", "pdf")])
        .send()
        .expect("get");
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().expect("body").starts_with(b"%PDF-"));
    let h: serde_json::Value = client()
        .get(server.url("/api/v1/events/histogram"))
        .bearer_auth(&a)
        .query(&[("buckets", "5")])
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(h["total"], 10, "{h}");
    let sum: u64 = h["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(sum, 10, "{h}");
}

#[test]
fn a_data_dir_without_data_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = report(&dir.path().join("nothing"), &["--format", "json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no mcpsec data"), "{err}");
}
