//! The `supply` report over real projects: findings matched against an imported
//! vulnerability database, licences judged by a policy file, the diff of the two latest
//! SBOM versions; through `GET /api/v1/reports/supply`, a background job and
//! `mcpsec report generate`, read back by pdftotext, openpyxl and the SARIF validator,
//! and kept to its tenant.

use crate::common::*;
use crate::projects::{CRITICAL, HIGH, advisory, create_project, import, upload};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A CycloneDX 1.5 SBOM of npm packages with their licence ids ("" for none).
fn sbom(components: &[(&str, &str, &str)]) -> String {
    let comps: Vec<Value> = components
        .iter()
        .map(|(n, v, l)| {
            let mut c = json!({"type": "library", "bom-ref": format!("{n}@{v}"), "name": n,
                "version": v, "purl": format!("pkg:npm/{n}@{v}")});
            if !l.is_empty() {
                c["licenses"] = json!([{"license": {"id": l}}]);
            }
            c
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps})
        .to_string()
}

/// An advisory with no fixed version.
fn unfixed(id: &str, package: &str) -> String {
    json!({
        "id": id, "modified": "2025-06-01T00:00:00Z", "summary": format!("{package} was backdoored"),
        "affected": [{"package": {"ecosystem": "npm", "name": package},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]
    })
    .to_string()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes));
    })
}

/// Validates a SARIF file with Microsoft's validator when `.ci/run` installed it.
fn validate_sarif(path: &Path) {
    let Some(multitool) = std::env::var_os("SARIF_MULTITOOL") else {
        println!(
            "SKIPPED: SARIF_MULTITOOL is not set (npm missing?); {} was not validated",
            path.display()
        );
        return;
    };
    let log = path.with_extension("validation.sarif");
    let out = tool(
        Command::new(multitool)
            .arg("validate")
            .arg(path)
            .arg("--output")
            .arg(&log)
            .args(["--log", "ForceOverwrite"]),
    );
    let v = json_of(&std::fs::read(&log).expect("validation log"));
    let errors: Vec<&Value> = v["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "error")
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF validator errors: {errors:#?}\n{out}"
    );
}

fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    import(
        &data,
        &dir.join("adv"),
        &[
            (
                "lodash",
                advisory("GHSA-lodash-0001", &[], "lodash", "4.17.21", HIGH),
            ),
            (
                "express",
                advisory("GHSA-express-0001", &[], "express", "4.5.0", CRITICAL),
            ),
            ("evs", unfixed("MAL-evs-0001", "event-stream")),
        ],
    );
    let policy = dir.join("licences.toml");
    std::fs::write(
        &policy,
        "allow_families = [\"permissive\"]\ndeny_families = [\"strong-copyleft\"]\n",
    )
    .expect("policy");
    (data, policy)
}

#[test]
fn supply_report_over_api_job_and_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, policy) = setup(dir.path());
    let env = [(
        "MCPSEC_REPORT__LICENSE_POLICY",
        policy.to_str().expect("utf-8"),
    )];
    let s = Server::start_with(&data, &[], &env);
    let id = create_project(&s, TOKEN, "storefront");
    create_project(&s, TOKEN, "not-yet");
    let v1 = sbom(&[
        ("lodash", "4.17.20", "MIT"),
        ("request", "2.88.2", "Apache-2.0"),
    ]);
    let v2 = sbom(&[
        ("lodash", "4.17.20", "MIT"),
        ("express", "4.0.0", "MIT"),
        ("event-stream", "3.3.6", ""),
        ("gpl-thing", "1.0.0", "GPL-3.0-only"),
    ]);
    for body in [&v1, &v2] {
        let (st, up) = upload(&s, TOKEN, &id, body, "", "application/json");
        assert_eq!(st, 201, "{up}");
    }

    let (st, body) = get_bytes(&s, TOKEN, "/api/v1/reports/supply");
    assert_eq!(st, 200);
    let r = json_of(&body);
    let projects = r["supply"]["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 2, "{r}");
    assert_eq!(r["supply"]["policy"], "licences.toml");
    let p = projects
        .iter()
        .find(|p| p["name"] == "storefront")
        .expect("storefront");
    assert_eq!(p["version"], 2);
    let ids: Vec<&str> = p["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3, "{p}");
    assert!(ids.contains(&"GHSA-express-0001") && ids.contains(&"MAL-evs-0001"));
    assert_eq!(p["fixable"], 2, "lodash and express have fixes: {p}");
    let sev = |name: &str| {
        p["by_severity"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == name))
            .map(|c| c["count"].clone())
    };
    assert_eq!(sev("critical"), Some(json!(1)));
    assert_eq!(sev("high"), Some(json!(1)));
    assert_eq!(p["verdicts"]["denied"], 1, "GPL denied by the policy: {p}");
    assert_eq!(p["verdicts"]["review"], 1, "no licence data: {p}");
    assert_eq!(p["licence_issues"][0]["package"], "gpl-thing");
    let changes = &p["changes"];
    assert_eq!(
        (changes["from"].as_u64(), changes["to"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(changes["removed"], json!(["request@2.88.2"]));
    assert!(
        changes["new_vulnerabilities"]
            .as_array()
            .expect("new")
            .contains(&json!("GHSA-express-0001 (express)")),
        "{changes}"
    );
    let empty = projects.iter().find(|p| p["name"] == "not-yet").expect("p");
    assert_eq!(empty["warnings"], json!(["no SBOM uploaded yet"]));

    // One project by name, as SARIF, valid for Microsoft's validator.
    let (st, sarif) = get_bytes(
        &s,
        TOKEN,
        "/api/v1/reports/supply?project=storefront&format=sarif",
    );
    assert_eq!(st, 200);
    let log = json_of(&sarif);
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    let path = dir.path().join("supply.sarif");
    std::fs::write(&path, &sarif).expect("write");
    validate_sarif(&path);

    // Clear refusals.
    for (q, want) in [
        ("/api/v1/reports/supply?project=nope", 404),
        ("/api/v1/reports/triage?project=storefront", 400),
        ("/api/v1/reports/executive?format=sarif", 400),
    ] {
        let (st, body) = get_bytes(&s, TOKEN, q);
        assert_eq!(st, want, "{q}: {}", String::from_utf8_lossy(&body));
    }

    // Another tenant sees none of it, even by id.
    let other = tenant_key(&data, "tenant-b", "admin");
    let (st, _) = get_bytes(&s, &other, &format!("/api/v1/reports/supply?project={id}"));
    assert_eq!(st, 404);
    let (_, body) = get_bytes(&s, &other, "/api/v1/reports/supply");
    assert_eq!(json_of(&body)["supply"]["projects"], json!([]));

    // A key scoped to events only may not read projects through a report.
    let out = admin(
        &data,
        &[
            "key",
            "create",
            "--tenant",
            "default",
            "--role",
            "analyst",
            "--scope",
            "events.read",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events_only = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(get_bytes(&s, &events_only, "/api/v1/reports/supply").0, 403);
    assert_eq!(get_bytes(&s, &events_only, "/api/v1/reports/risk").0, 403);
    assert_eq!(
        get_bytes(&s, &events_only, "/api/v1/reports/executive").0,
        200
    );

    job_as_xlsx(&s, dir.path(), &id);
    scheduled(&s);
    cli_as_pdf(&data, dir.path(), &env);
}

/// `POST /api/v1/reports` keeps the project with the job; the workbook opens.
fn job_as_xlsx(s: &Server, dir: &Path, id: &str) {
    let r = client()
        .post(s.url("/api/v1/reports"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "supply", "format": "xlsx", "project": id}))
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().expect("job");
    assert_eq!(job["project"], id);
    let job_id = job["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let download = loop {
        let (_, body) = get_bytes(s, TOKEN, &format!("/api/v1/reports/jobs/{job_id}"));
        let j = json_of(&body);
        match j["status"].as_str() {
            Some("done") => break j["download"].as_str().expect("download").to_owned(),
            Some("failed") => panic!("job failed: {j}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "job not done: {j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (st, xlsx) = get_bytes(s, TOKEN, &download);
    assert_eq!(st, 200);
    let path = dir.join("supply.xlsx");
    std::fs::write(&path, xlsx).expect("write");
    let out = tool(Command::new("python3").args([
        "-c",
        "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); print(wb.sheetnames); \
         print([r[3] for r in wb['Vulnerable components'].iter_rows(min_row=2, values_only=True)]); \
         print([r[:2] for r in wb['Projects'].iter_rows(min_row=2, values_only=True)])",
        path.to_str().expect("utf-8"),
    ]));
    assert!(out.contains("'Licence policy issues'"), "{out}");
    assert!(out.contains("'GHSA-express-0001'"), "{out}");
    assert!(
        out.contains("[('storefront', 2)]"),
        "one project only: {out}"
    );
}

/// `mcpsec report generate supply` reads the same data dir next to the running server.
fn cli_as_pdf(data: &Path, dir: &Path, env: &[(&str, &str)]) {
    let pdf = dir.join("supply.pdf");
    let out = Command::new(bin())
        .args([
            "report",
            "generate",
            "supply",
            "--project",
            "storefront",
            "--data-dir",
        ])
        .arg(data)
        .arg("--output")
        .arg(&pdf)
        .envs(env.iter().copied())
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = tool(Command::new("pdftotext").arg("-layout").arg(&pdf).arg("-"));
    for needle in [
        "Supply-chain posture",
        "GHSA-express-0001",
        "gpl-thing",
        "deny",
        "request@2.88.2",
        "licences.toml",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let refused = Command::new(bin())
        .args([
            "report",
            "generate",
            "triage",
            "--format",
            "sarif",
            "--data-dir",
        ])
        .arg(data)
        .output()
        .expect("report");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only the supply report"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// A schedule keeps its project and hands it to the job of each run; a project with
/// another kind is refused.
fn scheduled(s: &Server) {
    let post = |path: &str, body: Value| {
        let r = client()
            .post(s.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let (st, bad) = post(
        "/api/v1/reports/schedules",
        json!({"name": "x", "kind": "triage", "project": "storefront", "cron": "@daily"}),
    );
    assert_eq!(st, 400, "{bad}");
    let (st, sched) = post(
        "/api/v1/reports/schedules",
        json!({"name": "nightly supply", "kind": "supply", "format": "sarif",
               "project": "storefront", "cron": "@daily"}),
    );
    assert_eq!(st, 201, "{sched}");
    assert_eq!(sched["project"], "storefront");
    let sid = sched["id"].as_str().expect("id");
    let (st, run) = post(&format!("/api/v1/reports/schedules/{sid}/run"), json!({}));
    assert_eq!(st, 202, "{run}");
    let job = run["job"].as_str().expect("job");
    let (_, body) = get_bytes(s, TOKEN, &format!("/api/v1/reports/jobs/{job}"));
    let j = json_of(&body);
    assert_eq!(
        (j["project"].as_str(), j["format"].as_str()),
        (Some("storefront"), Some("sarif")),
        "{j}"
    );
}
