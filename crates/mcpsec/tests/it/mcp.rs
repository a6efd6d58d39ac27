//! The MCP tools and resources beyond search, driven by the official MCP Python SDK over
//! streamable HTTP and stdio: explain an alert, look a vulnerability up, scan a lockfile
//! given as text, read rules (the demo rules too over stdio) and reports, assess an alert
//! and read risk, list playbook runs and approvals.

use crate::common::*;
use serde_json::Value;
use std::process::Command;

fn python() -> Option<String> {
    let python = std::env::var("MCP_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import mcp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: the official MCP SDK is not importable (pip install mcp)");
        assert!(std::env::var("CI").is_err(), "CI must have the MCP SDK");
    }
    ok.then_some(python)
}

/// Imports the RustSec advisories of the shared test data into the data dir.
fn import_rustsec(data: &std::path::Path) -> bool {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/osv/rustsec-osv/crates");
    if !src.is_dir() {
        eprintln!("SKIPPED: {} not present", src.display());
        return false;
    }
    let out = Command::new(bin())
        .args(["vulndb", "import"])
        .arg(&src)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("vulndb import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

fn run(python: &str, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_client.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client JSON")
}

fn check_supply_tools(got: &Value) {
    let lookup = &got["lookup"];
    assert_eq!(lookup["found"], 1, "{lookup}");
    let adv = &lookup["advisories"][0];
    assert_eq!(adv["id"], "RUSTSEC-2019-0009");
    assert!(
        adv["aliases"]
            .as_array()
            .is_some_and(|a| a.contains(&"CVE-2019-15551".into()))
    );
    assert_eq!(adv["cvss"]["score"], 9.8);
    assert_eq!(adv["severity"], "critical");
    assert_eq!(adv["affected"][0]["package"], "smallvec");
    assert_eq!(adv["affected"][0]["fixed_versions"][0], "0.6.10");
    assert!(adv["references"].as_array().is_some_and(|r| !r.is_empty()));

    let scan = &got["scan"];
    assert_eq!(scan["format"], "Cargo.lock", "{scan}");
    assert_eq!(scan["components"], 2);
    assert_eq!(scan["truncated"], false);
    let ids: Vec<&str> = scan["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"RUSTSEC-2019-0009"), "{ids:?}");
    let f = scan["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "RUSTSEC-2019-0009"))
        .expect("finding");
    assert_eq!(f["package"], "smallvec");
    assert_eq!(f["version"], "0.6.9");
    assert!(f["fixed_version"].as_str().is_some_and(|v| v >= "0.6.10"));
    assert!(
        got["scan_huge"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most 2097152 bytes")),
        "{}",
        got["scan_huge"]
    );
    assert!(
        got["scan_junk"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not recognised")),
        "{}",
        got["scan_junk"]
    );
}

/// `assess_alert` and `get_risk` as an analyst sees them: a deterministic assessment with
/// its factors (no model configured), then the alert's risk listing that assessment.
fn check_risk_tools(got: &Value) {
    let a = &got["assess"];
    assert_eq!(a["source"], "deterministic", "{a}");
    assert!(
        a["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("no model provider configured")),
        "{a}"
    );
    let score = a["score"].as_u64().expect("score");
    assert!((1..=100).contains(&score), "{a}");
    let factors = a["factors"].as_array().expect("factors");
    assert!(factors.iter().any(|f| f["name"] == "severity"), "{a}");
    assert!(a["verdict"]["severity"].is_string(), "{a}");
    assert!(a["assessment_id"].is_string(), "{a}");
    let r = &got["alert_risk"];
    assert_eq!(r["scope"], "alert", "{r}");
    assert_eq!(r["alert_id"], a["alert_id"]);
    assert_eq!(r["score"], a["score"], "the same model, the same score");
    assert!(
        r["assessments"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["id"] == a["assessment_id"])),
        "the kept assessment is listed: {r}"
    );
    assert!(
        got["assess_missing"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no such alert")),
        "{}",
        got["assess_missing"]
    );
    let t = &got["tenant_risk"];
    assert_eq!(t["scope"], "tenant", "{t}");
    assert!(t["tenant_risk"]["score"].as_u64().is_some(), "{t}");
    assert!(
        t["top_assets"].is_array() && t["trend_daily"].is_array(),
        "{t}"
    );
    assert!(
        got["bad_scope"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown scope")),
        "{}",
        got["bad_scope"]
    );
    // serve --demo leaves one run of demo-contain-host waiting for a responder
    assert!(
        got["runs"]["runs"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["playbook_id"] == "demo-contain-host")),
        "{}",
        got["runs"]
    );
    assert_eq!(got["approvals"]["pending"], 1, "{}", got["approvals"]);
    assert_eq!(
        got["approvals"]["approvals"][0]["playbook_id"], "demo-contain-host",
        "{}",
        got["approvals"]
    );
}

#[test]
fn the_official_mcp_client_explains_alerts_scans_sboms_and_reads_rules_and_reports() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r: Value = client()
            .get(s.url("/api/v1/alerts"))
            .bearer_auth(TOKEN)
            .send()
            .and_then(|r| r.json())
            .unwrap_or_default();
        if r["total"].as_u64().unwrap_or(0) >= 23 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "demo alerts: {r}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let have_db = import_rustsec(&data);
    let url = s.url("/mcp");
    let analyst = tenant_key(&data, "default", "analyst");
    let got = run(&python, &["http", &url, &analyst, "whoami"]);
    let tools: Vec<&str> = got["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    for t in [
        "explain_alert",
        "scan_sbom",
        "lookup_vulnerability",
        "assess_alert",
        "get_risk",
        "list_playbook_runs",
        "get_playbook_run",
        "list_pending_approvals",
        "decide_approval",
    ] {
        assert!(tools.contains(&t), "{t} missing: {tools:?}");
    }
    if have_db {
        check_supply_tools(&got);
    }
    // The newest high alert, explained by its (demo) rule.
    let ex = &got["explain"];
    assert!(
        ["high", "critical"].contains(&ex["alert"]["level"].as_str().unwrap_or_default()),
        "{ex}"
    );
    assert_eq!(ex["rule"]["source"], "file", "{ex}");
    assert!(
        ex["rule"]["meta"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(ex["rule"]["meta"]["attack"]["techniques"].is_array());
    assert!(
        ex["events"]
            .as_array()
            .is_some_and(|e| (1..=5).contains(&e.len()))
    );
    assert!(
        ex["rule_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("mcpsec://rules/"))
    );
    // Resources: the reports and the demo rules; both read.
    let uris: Vec<&str> = got["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|u| u.as_str())
        .collect();
    assert!(uris.contains(&"mcpsec://reports/executive"), "{uris:?}");
    assert!(
        uris.contains(&ex["rule_uri"].as_str().unwrap_or_default()),
        "the explained rule is a resource: {uris:?}"
    );
    let reads = got["reads"].as_object().expect("reads");
    let md = &reads["mcpsec://reports/executive"];
    assert_eq!(md["mime"], "text/markdown");
    assert!(
        md["text"].as_str().is_some_and(|t| t.starts_with('#')),
        "{md}"
    );
    let json = &reads["mcpsec://reports/executive?format=json"];
    let report: Value =
        serde_json::from_str(json["text"].as_str().unwrap_or_default()).expect("report JSON");
    assert_eq!(report["tenant"], "default", "{report}");
    // The risk report is built from the state store, not from the events.
    let risk: Value = serde_json::from_str(
        reads["mcpsec://reports/risk?format=json"]["text"]
            .as_str()
            .unwrap_or_default(),
    )
    .expect("risk JSON");
    assert_eq!(risk["kind"], "risk", "{risk}");
    assert!(risk["risk"]["now"]["score"].is_u64(), "{risk}");
    let rule = reads
        .iter()
        .find(|(k, _)| k.starts_with("mcpsec://rules/"))
        .map(|(_, v)| v)
        .expect("a rule read");
    assert_eq!(rule["mime"], "application/yaml");
    assert!(
        rule["text"]
            .as_str()
            .is_some_and(|t| t.contains("detection:")),
        "{rule}"
    );
    assert_eq!(got["missing_rule_refused"], true);
    let templates = got["templates"].to_string();
    assert!(templates.contains("mcpsec://rules/{id}"), "{templates}");

    check_risk_tools(&got);
    // The analyst's triage and assessment over MCP are in the audit log, like REST changes.
    assert_eq!(got["set_alert_status_ok"], true, "{got}");
    let audit = client()
        .get(s.url("/api/v1/audit?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .and_then(|r| r.text())
        .expect("audit");
    assert!(
        audit.contains("alerts.status") && audit.contains("\"transport\":\"mcp\""),
        "{audit}"
    );
    assert!(audit.contains("\"action\":\"risk.assess\""), "{audit}");
    // GraphQL lists the same file rules, with their YAML read back.
    let r: Value = client()
        .post(s.url("/graphql"))
        .bearer_auth(&analyst)
        .json(&serde_json::json!({"query":
            "{ rules(source: \"file\", limit: 3) { total rules { id title source enabled yaml tags } } }"}))
        .send()
        .and_then(|r| r.json())
        .expect("graphql");
    let page = &r["data"]["rules"];
    assert!(page["total"].as_u64().is_some_and(|n| n >= 3), "{r}");
    assert_eq!(page["rules"].as_array().map(Vec::len), Some(3));
    for rule in page["rules"].as_array().into_iter().flatten() {
        assert!(
            rule["yaml"]
                .as_str()
                .is_some_and(|y| y.contains("detection:")),
            "{rule}"
        );
    }
    // A viewer may explain alerts and read reports, but not read rules.
    let viewer = run(
        &python,
        &[
            "http",
            &url,
            &tenant_key(&data, "default", "viewer"),
            "whoami",
        ],
    );
    assert!(viewer["explain"]["rule"].is_object());
    // ... and read risk, but not assess (risk.assess).
    assert!(
        viewer["assess"]["refused"]
            .as_str()
            .is_some_and(|e| e.contains("may not risk.assess")),
        "{}",
        viewer["assess"]
    );
    assert_eq!(viewer["tenant_risk"]["scope"], "tenant");
    let vuris = viewer["resources"].to_string();
    assert!(vuris.contains("mcpsec://reports/executive"));
    assert!(!vuris.contains("mcpsec://rules/"), "{vuris}");

    // Over stdio the same tools answer from the data dir.
    if have_db {
        let stdio = run(
            &python,
            &[
                "stdio",
                bin(),
                data.to_str().expect("utf8"),
                "default",
                "whoami",
            ],
        );
        check_supply_tools(&stdio);
        assert!(stdio["explain"]["alert"]["id"].is_string(), "{stdio}");
        // The demo rules `serve --demo` runs are resources over stdio too, and the
        // explained alert's rule is one of them.
        let suris = stdio["resources"].to_string();
        assert!(
            stdio["explain"]["rule"]["source"] == "file"
                && suris.contains(stdio["explain"]["rule_uri"].as_str().unwrap_or("none")),
            "{stdio}"
        );
        assert_eq!(
            stdio["resources"].as_array().map(|u| u
                .iter()
                .filter(|u| u.to_string().contains("mcpsec://rules/"))
                .count()),
            got["resources"].as_array().map(|u| u
                .iter()
                .filter(|u| u.to_string().contains("mcpsec://rules/"))
                .count()),
            "stdio lists the rules the server runs"
        );
        check_risk_tools(&stdio);
        assert_eq!(stdio["set_alert_status_ok"], true);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let audit = client()
                .get(s.url("/api/v1/audit?limit=1000"))
                .bearer_auth(TOKEN)
                .send()
                .and_then(|r| r.text())
                .expect("audit");
            if audit.contains("\"actor\":\"mcp-stdio\"") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "stdio triage not audited: {audit}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
