//! The `compliance` report over `serve --demo`: every format over HTTP, the framework
//! parameter checked, `audit.read` required, a job through `POST /api/v1/reports`, the
//! CLI on the same data dir, another tenant's evidence kept apart and an empty tenant
//! reported as lacking everything.

use crate::common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

fn evidence(report: &Value, kind: &str) -> (String, String) {
    let e = report["compliance"]["evidence"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} in {report}"));
    (
        e["status"].as_str().unwrap_or_default().to_owned(),
        e["figure"].as_str().unwrap_or_default().to_owned(),
    )
}

fn json_report(s: &Server, key: &str, query: &str) -> Value {
    let (st, body) = get_bytes(
        s,
        key,
        &format!("/api/v1/reports/compliance?format=json{query}"),
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("json")
}

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(["report", "generate", "compliance", "--data-dir"])
        .arg(data)
        .args(args)
        .output()
        .expect("mcpsec report")
}

#[test]
fn compliance_report_maps_each_tenants_own_evidence_in_every_format() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    assert!(s.wait_for("*", 47) >= 47, "demo data indexed");

    // The demo's playbook run shows once the responder started it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let v = json_report(&s, TOKEN, "");
        if evidence(&v, "response_playbooks").0 == "present" {
            break v;
        }
        assert!(Instant::now() < deadline, "the demo run never showed: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(report["kind"], "compliance");
    assert_eq!(report["compliance"]["framework"], "all");
    assert_eq!(
        report["compliance"]["frameworks"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        evidence(&report, "event_collection").0,
        "present",
        "{report}"
    );
    assert_eq!(
        evidence(&report, "detection_rules").0,
        "present",
        "{report}"
    );
    assert_eq!(evidence(&report, "audit_log").0, "present", "{report}");
    assert_ne!(
        evidence(&report, "audit_integrity").0,
        "missing",
        "{report}"
    );
    assert_eq!(
        evidence(&report, "tls").0,
        "missing",
        "served over plain HTTP"
    );
    assert_eq!(evidence(&report, "sso").0, "missing", "no OIDC issuer");
    assert_eq!(
        evidence(&report, "approvals").0,
        "partial",
        "one pending approval"
    );
    assert!(report["period"]["from"].is_string(), "30 days by default");

    // Answering an alert is triage evidence, with the time it took.
    let (st, body) = get_bytes(&s, TOKEN, "/api/v1/alerts?level=critical");
    assert_eq!(st, 200);
    let alerts: Value = serde_json::from_slice(&body).expect("json");
    let id = alerts["alerts"][0]["id"]
        .as_str()
        .expect("an alert")
        .to_owned();
    let r = client()
        .patch(s.url(&format!("/api/v1/alerts/{id}")))
        .bearer_auth(TOKEN)
        .json(&json!({"status": "acknowledged"}))
        .send()
        .expect("patch");
    assert_eq!(r.status().as_u16(), 200);
    let v = json_report(&s, TOKEN, "");
    let (status, figure) = evidence(&v, "alert_triage");
    assert_eq!(
        status, "partial",
        "one of the demo's alerts answered: {figure}"
    );
    assert!(
        !figure.starts_with("0 of") && figure.contains("MTTA") && !figure.ends_with("MTTA –"),
        "{figure}"
    );

    // Every format, read back.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    for (format, magic) in [
        ("pdf", &b"%PDF-"[..]),
        ("xlsx", b"PK"),
        ("html", b"<!doctype html>"),
        ("md", b"# Compliance mapping"),
        ("csv", b"section,name,value"),
    ] {
        let (st, body) = get_bytes(
            &s,
            TOKEN,
            &format!("/api/v1/reports/compliance?format={format}"),
        );
        assert_eq!(st, 200, "{format}: {}", String::from_utf8_lossy(&body));
        assert!(body.starts_with(magic), "{format}");
        std::fs::write(out.join(format!("compliance.{format}")), &body).expect("write");
    }
    let pdf = Command::new("pdftotext")
        .arg(out.join("compliance.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext (see .ci/run)");
    let text = String::from_utf8_lossy(&pdf.stdout);
    for needle in [
        "Compliance mapping",
        "SOC 2 controls",
        "CC7.4",
        "Out of scope",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from the PDF:\n{text}"
        );
    }
    let xlsx = Command::new("python3")
        .args([
            "-c",
            "import sys, openpyxl; print('|'.join(openpyxl.load_workbook(sys.argv[1]).sheetnames))",
        ])
        .arg(out.join("compliance.xlsx"))
        .output()
        .expect("python3 (see .ci/run)");
    assert!(
        String::from_utf8_lossy(&xlsx.stdout).contains("Evidence|SOC 2 controls"),
        "{}",
        String::from_utf8_lossy(&xlsx.stderr)
    );

    // The framework parameter, checked.
    let one = json_report(&s, TOKEN, "&framework=ISO27001");
    assert_eq!(one["compliance"]["frameworks"][0]["id"], "iso27001");
    assert_eq!(
        one["compliance"]["frameworks"].as_array().map(Vec::len),
        Some(1)
    );
    let (st, body) = get_bytes(&s, TOKEN, "/api/v1/reports/compliance?framework=pci-dss");
    let msg = String::from_utf8_lossy(&body);
    assert_eq!(st, 400, "{msg}");
    assert!(msg.contains("soc2, iso27001, nist80053, cis8"), "{msg}");
    let (st, _) = get_bytes(&s, TOKEN, "/api/v1/reports/triage?framework=soc2");
    assert_eq!(st, 400, "framework belongs to the compliance report");

    // audit.read is needed besides what the endpoint asks.
    let analyst = tenant_key(&data, "default", "analyst");
    let (st, body) = get_bytes(&s, &analyst, "/api/v1/reports/compliance");
    assert_eq!(st, 403, "{}", String::from_utf8_lossy(&body));
    let auditor = tenant_key(&data, "default", "auditor");
    assert_eq!(get_bytes(&s, &auditor, "/api/v1/reports/compliance").0, 200);

    // Another tenant sees its own evidence only.
    let other = tenant_key(&data, "tenant-b", "admin");
    let b = json_report(&s, &other, "");
    assert_eq!(evidence(&b, "event_collection").0, "missing", "{b}");
    assert_eq!(evidence(&b, "alert_triage").0, "missing", "{b}");
    assert_eq!(evidence(&b, "response_playbooks").0, "missing", "{b}");
    assert_eq!(evidence(&b, "approvals").0, "missing", "{b}");
    assert_eq!(
        evidence(&b, "access_control").1,
        "1 usable key (admin 1), 0 revoked or expired",
        "only tenant-b's own key"
    );

    // A job through POST /api/v1/reports keeps its framework.
    let post = |body: Value| {
        let r = client()
            .post(s.url("/api/v1/reports"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .expect("post");
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (st, err) = post(json!({"kind": "compliance", "framework": "hipaa"}));
    assert_eq!(st, 400, "{err}");
    let (st, _) = post(json!({"kind": "supply", "framework": "soc2"}));
    assert_eq!(st, 400);
    let (st, job) = post(json!({"kind": "compliance", "format": "md", "framework": "nist80053"}));
    assert_eq!(st, 202, "{job}");
    assert_eq!(job["framework"], "nist80053");
    let id = job["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let md = loop {
        let (st, body) = get_bytes(&s, TOKEN, &format!("/api/v1/reports/jobs/{id}/file"));
        if st == 200 {
            break String::from_utf8(body).expect("utf-8");
        }
        assert!(Instant::now() < deadline, "job not done: {st}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(md.contains("## NIST SP 800-53 controls"), "{md}");
    assert!(!md.contains("## SOC 2 controls"), "{md}");

    // A schedule keeps its framework for every run.
    let schedule = |body: Value| {
        let r = client()
            .post(s.url("/api/v1/reports/schedules"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .expect("post");
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let every_second = |framework: &str, kind: &str| {
        json!({"name": "controls", "kind": kind, "format": "md", "cron": "* * * * * *",
               "framework": framework})
    };
    assert_eq!(schedule(every_second("hipaa", "compliance")).0, 400);
    assert_eq!(schedule(every_second("soc2", "triage")).0, 400);
    let (st, made) = schedule(every_second("ISO27001", "compliance"));
    assert_eq!(
        (st, &made["framework"]),
        (201, &json!("iso27001")),
        "{made}"
    );
    let path = format!(
        "/api/v1/reports/schedules/{}",
        made["id"].as_str().expect("id")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let md = loop {
        let (_, body) = get_bytes(&s, TOKEN, "/api/v1/reports/schedules");
        let list = serde_json::from_slice::<Value>(&body).unwrap_or_default();
        let job = list["schedules"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["id"] == made["id"]))
            .map(|x| x["last_job"].clone())
            .unwrap_or_default();
        if let Some(job) = job.as_str() {
            let (st, body) = get_bytes(&s, TOKEN, &format!("/api/v1/reports/jobs/{job}/file"));
            if st == 200 {
                break String::from_utf8(body).expect("utf-8");
            }
        }
        assert!(Instant::now() < deadline, "no scheduled run after 60 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(md.contains("## ISO 27001 Annex A controls"), "{md}");
    assert!(!md.contains("## SOC 2 controls"), "{md}");
    let r = client()
        .delete(s.url(&path))
        .bearer_auth(TOKEN)
        .send()
        .expect("delete");
    assert!(r.status().is_success(), "{}", r.status());

    // The CLI on the same data dir, beside the running server.
    let out = cli(&data, &["--framework", "cis8", "--format", "md"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(md.contains("## CIS Controls controls"), "{md}");
    assert!(
        md.contains("| TLS on the API | missing | the API is served over plain HTTP |"),
        "{md}"
    );
    let bad = cli(&data, &["--framework", "bogus"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown compliance framework"));
    let bad = Command::new(bin())
        .args([
            "report",
            "generate",
            "triage",
            "--framework",
            "soc2",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("report");
    assert!(!bad.status.success(), "--framework belongs to compliance");

    // A tenant with no data: everything it could show is missing, and it says so.
    assert!(
        admin(&data, &["tenant", "create", "empty-co"])
            .status
            .success()
    );
    let out = cli(&data, &["--tenant", "empty-co", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: Value = serde_json::from_slice(&out.stdout).expect("json");
    for item in e["compliance"]["evidence"].as_array().expect("evidence") {
        let kind = item["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "audit_log" | "audit_integrity") {
            assert_eq!(item["status"], "missing", "{item}");
        }
    }
    // Creating the tenant was audited, so only audit controls can be evidenced.
    for f in e["compliance"]["frameworks"]
        .as_array()
        .expect("frameworks")
    {
        for c in f["controls"].as_array().expect("controls") {
            if c["status"] != "lacking" {
                let kinds = c["evidence"].as_array().expect("kinds");
                assert!(
                    kinds
                        .iter()
                        .any(|k| k == "audit_log" || k == "audit_integrity"),
                    "{c}"
                );
            }
        }
    }

    // An edited audit entry: the chain no longer verifies, and the report says so
    // (over HTTP and from the command line) without naming anyone's entries.
    let conn = rusqlite::Connection::open(data.join("state.db")).expect("open db");
    conn.execute_batch("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;")
        .expect("tamper");
    let v = json_report(&s, TOKEN, "");
    let (status, figure) = evidence(&v, "audit_integrity");
    assert_eq!(status, "missing", "{figure}");
    assert!(figure.contains("FAILED"), "{figure}");
    let out = cli(&data, &["--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(evidence(&v, "audit_integrity").0, "missing", "{v}");
}

/// A CycloneDX 1.5 SBOM of npm packages.
fn sbom(components: &[(&str, &str)]) -> String {
    let comps: Vec<Value> = components
        .iter()
        .map(|(n, v)| {
            json!({"type": "library", "bom-ref": format!("{n}@{v}"), "name": n,
            "version": v, "purl": format!("pkg:npm/{n}@{v}")})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps})
        .to_string()
}

#[test]
fn compliance_report_counts_sboms_scans_and_open_critical_findings() {
    use crate::projects::{CRITICAL, advisory, create_project, import, upload};
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    import(
        &data,
        &dir.path().join("adv"),
        &[(
            "express",
            advisory("GHSA-express-0001", &[], "express", "4.5.0", CRITICAL),
        )],
    );
    let s = Server::start(&data);
    let id = create_project(&s, TOKEN, "storefront");
    create_project(&s, TOKEN, "not-yet");
    let (st, up) = upload(
        &s,
        TOKEN,
        &id,
        &sbom(&[("express", "4.0.0"), ("lodash", "4.17.21")]),
        "",
        "application/json",
    );
    assert_eq!(st, 201, "{up}");

    let v = json_report(&s, TOKEN, "&framework=cis8");
    let (status, figure) = evidence(&v, "sbom_inventory");
    assert_eq!(status, "partial", "{figure}");
    assert_eq!(figure, "1 of 2 projects have an SBOM (1 version kept)");
    let (status, figure) = evidence(&v, "vuln_scanning");
    assert_eq!(status, "present", "{figure}");
    let (status, figure) = evidence(&v, "vuln_remediation");
    assert_eq!(status, "partial", "{figure}");
    assert_eq!(figure, "1 open critical finding (1 with a fix)");
    let link = v["compliance"]["evidence"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "vuln_remediation"))
        .map(|e| e["link"].clone())
        .expect("link");
    assert_eq!(link, format!("/api/v1/projects/{id}/findings"));
    let (st, _) = get_bytes(&s, TOKEN, link.as_str().expect("str"));
    assert_eq!(st, 200, "the link answers");

    // The fixed version: nothing critical is left open.
    let (st, up) = upload(
        &s,
        TOKEN,
        &id,
        &sbom(&[("express", "4.5.0"), ("lodash", "4.17.21")]),
        "",
        "application/json",
    );
    assert_eq!(st, 201, "{up}");
    let v = json_report(&s, TOKEN, "");
    assert_eq!(evidence(&v, "vuln_remediation").0, "present", "{v}");
    assert!(evidence(&v, "sbom_inventory").1.contains("2 versions kept"));

    // Another tenant has no project at all.
    let other = tenant_key(&data, "tenant-b", "admin");
    let b = json_report(&s, &other, "");
    for kind in ["sbom_inventory", "vuln_scanning", "vuln_remediation"] {
        assert_eq!(evidence(&b, kind).0, "missing", "{kind}: {b}");
    }
    assert!(
        evidence(&b, "sbom_inventory")
            .1
            .starts_with("0 of 0 projects")
    );
}
