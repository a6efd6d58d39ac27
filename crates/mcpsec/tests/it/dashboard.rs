//! The dashboard end to end: headless Chromium (Debian `chromium` + `chromium-driver`,
//! driven by Selenium from `tests/fixtures/dashboard_e2e.py`) against a real
//! `serve --demo`. Screenshots land in `<target>/test-artifacts/dashboard/`. The alert
//! queue and rules pages have their own run (`tests/fixtures/dashboard_alerts_e2e.py`),
//! and so do the projects, risk and playbooks pages (`dashboard_pages_e2e.py`); both
//! also run axe-core when `AXE_CORE_JS` names its `axe.min.js`.

use crate::common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// One browser at a time: two headless Chromiums beside the rest of the suite load a
/// small machine enough to slow every server's detector.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn one_browser() -> std::sync::MutexGuard<'static, ()> {
    BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

/// `<target>/test-artifacts/<name>`: the test binary lives in `<target>/<profile>/deps/`.
pub(crate) fn artifacts(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("test-artifacts").join(name);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Runs the browser script `tests/fixtures/<script>` with `args`; what it saw is the
/// JSON it prints, also saved as `<save>` among the artifacts when given.
pub(crate) fn run_script(script: &str, args: &[&std::ffi::OsStr], save: Option<&str>) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let python = std::env::var("MCP_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(path)
        .args(args)
        .output()
        .expect("python3 (see .ci/run: selenium, chromium, chromium-driver)");
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("script JSON");
    if let Some(name) = save {
        std::fs::write(artifacts("dashboard").join(name), seen.to_string())
            .expect("save what was seen");
    }
    seen
}

/// Polls the API as `key` until `ready` (given a GET that answers JSON, `Null` on any
/// error) says the demo data is there; fails after 120 s with what `ready` last said.
pub(crate) fn wait_until(
    server: &Server,
    key: &str,
    ready: impl Fn(&dyn Fn(&str) -> Value) -> Result<(), String>,
) {
    let get = |path: &str| {
        client()
            .get(server.url(path))
            .bearer_auth(key)
            .send()
            .and_then(|r| r.json::<Value>())
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match ready(&get) {
            Ok(()) => return,
            Err(state) => assert!(
                std::time::Instant::now() < deadline,
                "not ready after 120 s: {state}"
            ),
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn dashboard_is_public_and_its_assets_are_strict() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    for (path, kind) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/ui/alerts.js", "text/javascript"),
        ("/ui/rules.js", "text/javascript"),
        ("/ui/reports.js", "text/javascript"),
        ("/ui/projects.js", "text/javascript"),
        ("/ui/risk.js", "text/javascript"),
        ("/ui/playbooks.js", "text/javascript"),
    ] {
        let r = client().get(server.url(path)).send().expect("get");
        assert_eq!(r.status().as_u16(), 200, "{path} needs no key");
        let h = r.headers();
        let ct = h["content-type"].to_str().unwrap_or("");
        assert!(ct.starts_with(kind), "{path}: {ct}");
        let csp = h["content-security-policy"].to_str().unwrap_or("");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        let body = r.text().expect("body");
        for external in ["http://", "https://", "//cdn", "@import"] {
            let allowed = body.matches("http://www.w3.org/2000/svg").count();
            assert!(
                external != "http://" && !body.contains(external)
                    || external == "http://" && body.matches(external).count() == allowed,
                "{path} refers to something external: {external}"
            );
        }
    }
    let r = client()
        .get(server.url("/api/v1/reports/executive"))
        .send()
        .expect("get");
    assert_eq!(
        r.status().as_u16(),
        401,
        "the APIs behind it still need a key"
    );
}

#[test]
fn headless_chromium_logs_in_opens_the_overview_and_searches() {
    let _browser = one_browser();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert!(
        server.wait_for("\"Failed password\"", 1) >= 1,
        "demo data indexed"
    );
    let key = tenant_key(&data, "default", "viewer");
    let other = tenant_key(&data, "tenant-b", "viewer");
    let shots = artifacts("dashboard");
    let report_html = shots.join("executive.html");
    let out = Command::new(bin())
        .args(["report", "generate", "executive", "--output"])
        .arg(&report_html)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = run_script(
        "dashboard_e2e.py",
        &[
            server.base.as_ref(),
            key.as_ref(),
            shots.as_os_str(),
            other.as_ref(),
            report_html.as_os_str(),
        ],
        None,
    );
    let cards = seen["cards"].to_string();
    assert!(cards.contains("47 events"), "overview counts: {cards}");
    assert!(
        seen["top_hosts"]
            .as_str()
            .unwrap_or("")
            .contains("DC01.corp.example"),
        "{seen}"
    );
    assert!(seen["overview_bars"].as_u64().unwrap_or(0) > 0, "{seen}");
    assert!(seen["search_rows"].as_u64().unwrap_or(0) >= 3, "{seen}");
    assert!(seen["search_bars"].as_u64().unwrap_or(0) > 0, "{seen}");
    assert!(
        seen["first_row"]
            .as_str()
            .unwrap_or("")
            .contains("Failed password"),
        "{seen}"
    );
    assert!(
        seen["wrong_key_message"]
            .as_str()
            .unwrap_or("")
            .contains("not accepted"),
        "{seen}"
    );
    assert_eq!(seen["theme"], "dark");
    assert_eq!(
        seen["query_after_shortcut"], "\"Failed password\"",
        "a page shortcut's key must not be typed into the field the page focuses"
    );
    assert_eq!(seen["viewer_report_form"], false, "{seen}");
    assert!(s(&seen["viewer_who"]).contains("viewer"), "{seen}");
    let other_cards = seen["other_cards"].to_string();
    assert!(
        other_cards.contains("0 events"),
        "tenant-b's overview: {seen}"
    );
    assert_eq!(seen["other_who"], "Tenant tenant-b · viewer");
    assert!(
        !seen["other_hosts"].as_str().unwrap_or("").contains("DC01"),
        "LEAK of the demo tenant's hosts into tenant-b's overview: {seen}"
    );
    assert_eq!(
        seen["report_resources"],
        serde_json::json!([]),
        "the HTML report loaded something: {seen}"
    );
    assert!(seen["report_charts"].as_u64().unwrap_or(0) >= 3, "{seen}");
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    for s in seen["screenshots"].as_array().expect("screenshots") {
        let path = s.as_str().expect("path");
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {path} is empty");
    }
}

pub(crate) fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

#[test]
fn headless_chromium_triages_alerts_live_and_manages_rules() {
    let _browser = one_browser();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert!(
        server.wait_for("\"Failed password\"", 1) >= 1,
        "demo data indexed"
    );
    let key = tenant_key(&data, "default", "analyst");
    let other = tenant_key(&data, "tenant-b", "analyst");
    // The demo rules raise 23 alerts once the detector has caught up (slow when the
    // whole suite shares the machine).
    wait_until(
        &server,
        &key,
        |get| match get("/api/v1/alerts/summary")["total"].as_u64().unwrap_or(0) {
            23 => Ok(()),
            n => Err(format!("{n} of the 23 demo alerts")),
        },
    );
    let shots = artifacts("dashboard");
    let seen = run_script(
        "dashboard_alerts_e2e.py",
        &[
            server.base.as_ref(),
            key.as_ref(),
            shots.as_os_str(),
            other.as_ref(),
        ],
        Some("alerts-run.json"),
    );

    // Overview: alert counts from /alerts/summary.
    let levels = s(&seen["overview_alert_levels"]);
    assert!(
        levels.contains("critical 1") && levels.contains("low 16"),
        "{levels}"
    );
    assert!(
        s(&seen["overview_top_rules"]).contains("Account discovery with whoami"),
        "{seen}"
    );
    assert!(
        seen["overview_cards"].to_string().contains("23 alerts"),
        "{seen}"
    );

    // Queue, filter, detail, single triage checked through the API.
    assert_eq!(s(&seen["queue_status"]), "23 alerts match.");
    assert_eq!(seen["queue_rows"], 23);
    assert_eq!(s(&seen["future_period"]), "0 alerts match.");
    assert_eq!(seen["critical_rows"], 1);
    assert!(
        s(&seen["detail_title"]).contains("LSASS memory dumped through comsvcs.dll"),
        "{seen}"
    );
    assert!(s(&seen["detail_attack"]).contains("T1003.001"), "{seen}");
    assert_eq!(seen["detail_events"], 1);
    assert_eq!(
        seen["detail_focus"], "ad-title",
        "focus moves to the opened alert"
    );
    assert_eq!(seen["ack_rest"]["status"], "acknowledged");
    let by = s(&seen["ack_rest"]["status_by"]);
    assert!(!by.is_empty() && by != "null", "status_by recorded: {seen}");
    assert!(
        s(&seen["detail_history"]).contains(&by),
        "the history names who: {seen}"
    );
    assert_eq!(seen["ack_history"][0]["comment"], "isolating WS042");
    assert_eq!(seen["ack_history"][0]["to"], "acknowledged");

    // Bulk close of the 16 low alerts.
    assert_eq!(seen["low_rows"], 16);
    assert_eq!(s(&seen["selected"]), "16 selected");
    assert_eq!(s(&seen["bulk_status"]), "16 alerts set to Closed.");
    assert_eq!(
        seen["rows_after_bulk"], 0,
        "closed alerts leave the active queue"
    );
    assert_eq!(seen["low_total"], 16);
    assert_eq!(seen["low_statuses"], serde_json::json!(["closed"]));

    // A correlation shows what it grouped by.
    assert_eq!(seen["correlation_rows"], 1);
    let group = s(&seen["correlation_group"]);
    assert!(
        group.contains("by IpAddress") && group.contains("203.0.113.45"),
        "{group}"
    );
    assert!(
        group.contains("value") && group.contains("window start"),
        "{group}"
    );
    assert_eq!(s(&seen["correlation_events_h"]), "Events (1 of 10)");

    // Live, and hostile markup shown as text.
    assert!(s(&seen["live_first_row"]).contains("LSASS"), "{seen}");
    let row = seen["report_row"].as_str().unwrap_or_default();
    assert!(row.contains("triage") && row.contains("done"), "{seen}");
    assert!(
        seen["share_link"]
            .as_str()
            .is_some_and(|l| l.contains("/share/reports/")),
        "{seen}"
    );
    assert!(
        s(&seen["shared_text_start"]).starts_with("# Alert triage\n\nTenant **default**"),
        "the link works without a key: {seen}"
    );
    assert!(
        s(&seen["live_status"]).starts_with("New critical alert"),
        "{seen}"
    );
    assert_eq!(seen["hostile_text_shown"], true, "{seen}");
    assert_eq!(seen["hostile_imgs"], 0, "event markup became HTML: {seen}");
    assert_eq!(seen["no_dialog"], true, "an alert() dialog opened: {seen}");
    assert_eq!(s(&seen["page1"]), "1–10 of 24");
    assert!(
        s(&seen["j_focus"]).contains("LSASS"),
        "j focuses the first alert: {seen}"
    );
    assert_eq!(s(&seen["x_selected"]), "1 selected");
    assert_eq!(s(&seen["page2"]), "11–20 of 24");
    assert_eq!(s(&seen["new_button"]), "1 new — show");
    assert_eq!(seen["page2"], seen["page2_after"], "page 2 stays put");
    assert_eq!(s(&seen["page_after_new"]), "1–10 of 25");
    assert_eq!(seen["new_button_after"], false);
    assert!(
        s(&seen["reconnecting"]).starts_with("Reconnecting in 1 s"),
        "{seen}"
    );
    assert_eq!(s(&seen["badge"]), "1 new");
    assert_eq!(seen["badge_after_open"], false);
    assert!(s(&seen["help"]).contains("Keyboard shortcuts"), "{seen}");

    // Rules: validate, backtest, deploy, conflict, switch.
    assert!(seen["rules_rows"].as_u64().unwrap_or(0) >= 8, "{seen}");
    let errors = s(&seen["validate_errors"]);
    assert!(
        errors.contains("Line "),
        "validation errors carry a line: {errors}"
    );
    assert_eq!(
        s(&seen["line_numbers"]),
        "10",
        "the editor numbers its lines (9 and the empty last one)"
    );
    assert!(s(&seen["backtest"]).contains("matched"), "{seen}");
    assert!(seen["backtest_events"].as_u64().unwrap_or(0) >= 1, "{seen}");
    assert!(s(&seen["deploy"]).contains("version 1"), "{seen}");
    assert_eq!(seen["versions_rows"], 1);
    assert_eq!(
        seen["deployed_rest"],
        serde_json::json!({"version": 1, "enabled": true})
    );
    assert_eq!(seen["other_put"], 200);
    assert!(s(&seen["conflict"]).contains("Conflict (409)"), "{seen}");
    assert_eq!(seen["disabled_rest"], false);

    // Tenant isolation.
    assert_eq!(s(&seen["other_queue"]), "0 alerts match.");
    assert_eq!(seen["other_rows"], 0);
    assert_eq!(
        seen["other_has_rule"], false,
        "LEAK: tenant-b lists the rule"
    );
    assert_eq!(seen["other_rest_rule"], 404);
    assert_eq!(seen["tenant_a_alert_stored"], true, "{seen}");
    assert_eq!(
        seen["other_live_rows"], 0,
        "LEAK: tenant-b was streamed an alert"
    );
    assert_eq!(
        seen["other_new_shown"], false,
        "LEAK: tenant-b counted an alert"
    );
    assert_eq!(seen["other_rest_alert"], 404);

    // Accessibility (when axe-core is at hand) and a clean console.
    for (page, result) in seen["axe"].as_object().expect("axe") {
        if let Some(violations) = result.as_array() {
            let bad: Vec<_> = violations
                .iter()
                .filter(|v| v["impact"] == "critical" || v["impact"] == "serious")
                .collect();
            assert!(bad.is_empty(), "axe-core on {page}: {bad:?}");
        }
    }
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    for shot in seen["screenshots"].as_array().expect("screenshots") {
        let path = shot.as_str().expect("path");
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {path} is empty");
    }
}

#[test]
fn headless_chromium_uploads_an_sbom_reads_risk_and_approves_a_playbook_step() {
    let _browser = one_browser();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    // Risk snapshots every second, so the trend chart has points at once.
    let server = Server::start_with(
        &data,
        &["--demo"],
        &[("MCPSEC_RISK__SNAPSHOT_INTERVAL_SECS", "1")],
    );
    let analyst = tenant_key(&data, "default", "analyst");
    let responder = tenant_key(&data, "default", "responder");
    let viewer = tenant_key(&data, "default", "viewer");
    let other = tenant_key(&data, "tenant-b", "responder");
    // The demo alerts are scored, and a snapshot holds them, before the browser starts.
    wait_until(&server, &analyst, |get| {
        let alerts = get("/api/v1/alerts/summary")["total"].as_u64().unwrap_or(0);
        let trend = get("/api/v1/risk/trends")["buckets"][0]["max"]
            .as_f64()
            .unwrap_or(0.0);
        if alerts >= 23 && trend > 0.0 {
            Ok(())
        } else {
            Err(format!(
                "demo alerts ({alerts}) and a risk snapshot ({trend})"
            ))
        }
    });
    let shots = artifacts("dashboard");
    let sbom = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dashboard/shop-frontend-3.cdx.json");
    let seen = run_script(
        "dashboard_pages_e2e.py",
        &[
            server.base.as_ref(),
            analyst.as_ref(),
            responder.as_ref(),
            viewer.as_ref(),
            other.as_ref(),
            shots.as_os_str(),
            sbom.as_os_str(),
        ],
        Some("pages-run.json"),
    );

    // Overview: all 23 demo alerts over time, and where they fired most.
    assert!(
        s(&seen["alert_chart_label"]).starts_with("Alerts over time: 23 alerts"),
        "{seen}"
    );
    assert!(
        s(&seen["alert_hosts"]).contains("DC01.corp.example"),
        "{seen}"
    );

    // Projects: the demo project, its findings with the version to upgrade to, the diff.
    assert!(
        s(&seen["projects_rows"]).contains("shop-frontend"),
        "{seen}"
    );
    assert_eq!(seen["versions"], serde_json::json!(["2", "1"]));
    assert!(
        s(&seen["findings_status"]).starts_with("Version 2: 3 findings in 7 components."),
        "{seen}"
    );
    assert_eq!(s(&seen["findings_page"]), "1–3 of 3");
    assert_eq!(seen["first_finding"]["id"], "MCPSEC-DEMO-2025-0001");
    assert_eq!(seen["first_finding"]["fixed"], "4.17.21");
    assert_eq!(seen["first_finding"]["vex"], "none");
    assert_eq!(s(&seen["components_status"]), "7 of 7 components shown.");
    assert!(
        s(&seen["component_filtered"]).starts_with("lodash 4.17.20"),
        "{seen}"
    );
    let diff = s(&seen["diff"]);
    assert!(
        diff.contains("1 added, 1 removed, 3 upgraded, 0 downgraded; 0 new and 2 fixed"),
        "{diff}"
    );
    assert!(
        diff.contains("left-pad 1.3.0") && diff.contains("express 4.18.2 → 4.19.2"),
        "{diff}"
    );
    // The upload through the file input became version 3, checked through REST too.
    assert!(
        s(&seen["upload_status"]).contains(
            "stored as version 3 (CycloneDX 1.5 JSON, 8 components): 1 finding, 1 critical or high"
        ),
        "{seen}"
    );
    assert_eq!(
        seen["findings_v3_ids"],
        serde_json::json!(["MCPSEC-DEMO-2025-0005"])
    );
    assert_eq!(seen["rest_latest"], 3);
    assert_eq!(seen["hostile_text_shown"], true, "{seen}");
    assert_eq!(
        seen["hostile_imgs"], 0,
        "a project name became HTML: {seen}"
    );
    assert_eq!(seen["no_dialog"], true);
    assert!(s(&seen["empty_project_versions"]).contains("No SBOM uploaded yet."));

    // Risk: the tenant's figures, the trend, the assets and their factors.
    let cards = seen["risk_cards"].to_string();
    assert!(
        cards.contains("tenant risk (") && cards.contains("alerts counted"),
        "{cards}"
    );
    assert!(
        seen["risk_top_factors"].as_u64().unwrap_or(0) >= 1,
        "{seen}"
    );
    assert!(
        seen["risk_chart_points"].as_u64().unwrap_or(0) >= 2,
        "{seen}"
    );
    assert!(
        s(&seen["risk_chart_label"]).starts_with("Tenant risk: "),
        "{seen}"
    );
    let hosts = s(&seen["risk_hosts"]);
    assert!(
        hosts.contains("DC01.corp.example") && hosts.contains("web-1"),
        "{hosts}"
    );
    assert_eq!(s(&seen["risk_detail_title"]), "host DC01.corp.example");
    assert_eq!(seen["risk_detail_focus"], "rk-d-title");
    let detail = s(&seen["risk_detail"]);
    assert!(
        detail.contains("in the inventory") && detail.contains("top alert"),
        "{detail}"
    );

    // Playbooks: read only for an analyst; a responder approves and starts.
    assert_eq!(seen["analyst_approve_buttons"], 0);
    assert_eq!(seen["analyst_run_form"], false);
    assert!(
        s(&seen["playbooks_rows"]).contains("demo-contain-host"),
        "{seen}"
    );
    assert!(
        s(&seen["approval_row"]).contains("approve-isolation"),
        "{seen}"
    );
    assert!(
        s(&seen["approve_status"]).contains("approval recorded, request approved"),
        "{seen}"
    );
    assert!(s(&seen["run_facts"]).contains("Succeeded"), "{seen}");
    assert_eq!(
        seen["run_steps"],
        serde_json::json!([
            ["record", "step st-succeeded"],
            ["approve-isolation", "step st-succeeded"],
            ["contained", "step st-succeeded"]
        ]),
        "the timeline, in order: {seen}"
    );
    assert_eq!(seen["rest_run"], "succeeded");
    assert_eq!(seen["approvals_after"], 0);
    assert!(
        s(&seen["start_status"]).contains("of demo-contain-host started"),
        "{seen}"
    );
    assert_eq!(seen["started_is_new"], true);
    assert_eq!(seen["started_rest"]["trigger"], "manual");
    assert_eq!(seen["started_rest"]["status"], "waiting");
    assert_eq!(
        seen["started_rest"]["record"],
        serde_json::json!([{"host": "web-1", "reason": "web shell"}])
    );

    // A viewer: no playbooks link, no upload, the key for it does nothing.
    assert_eq!(
        seen["viewer_nav"],
        serde_json::json!([
            "Overview", "Search", "Alerts", "Rules", "Reports", "Projects", "Risk"
        ])
    );
    assert_eq!(seen["viewer_upload"], false);
    assert_eq!(seen["viewer_new_project"], false);
    assert_eq!(seen["viewer_after_b"], "#/projects");

    // Another tenant sees none of it.
    assert_eq!(s(&seen["other_projects"]), "0 projects.");
    assert_eq!(seen["other_rest_project"], 404);
    assert_eq!(seen["other_risk_rows"], 0, "LEAK: tenant-b lists assets");
    assert_eq!(seen["other_approvals"], 0, "LEAK: tenant-b sees approvals");
    assert_eq!(seen["other_runs"], 0, "LEAK: tenant-b sees runs");

    for (page, result) in seen["axe"].as_object().expect("axe") {
        if let Some(violations) = result.as_array() {
            let bad: Vec<_> = violations
                .iter()
                .filter(|v| v["impact"] == "critical" || v["impact"] == "serious")
                .collect();
            assert!(bad.is_empty(), "axe-core on {page}: {bad:?}");
        }
    }
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    for shot in seen["screenshots"].as_array().expect("screenshots") {
        let path = shot.as_str().expect("path");
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {path} is empty");
    }
}
