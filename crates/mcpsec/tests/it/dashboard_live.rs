//! The dashboard's live pages end to end (`tests/fixtures/dashboard_live_e2e.py` in
//! headless Chromium against a real `serve --demo`): playbook runs and approvals that
//! follow the run stream without a reload, and a VEX upload on the projects page.

use crate::common::*;
use crate::dashboard::{artifacts, one_browser, run_script, s, wait_until};
use serde_json::json;
use std::path::PathBuf;

#[test]
fn headless_chromium_follows_runs_live_and_uploads_vex() {
    let _browser = one_browser();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    let analyst = tenant_key(&data, "default", "analyst");
    let responder = tenant_key(&data, "default", "responder");
    let viewer = tenant_key(&data, "default", "viewer");
    let other = tenant_key(&data, "tenant-b", "responder");
    // The demo's waiting run and its project are there before the browser starts.
    wait_until(&server, &responder, |get| {
        let count = |path: &str, list: &str| get(path)[list].as_array().map_or(0, Vec::len);
        let waiting = count("/api/v1/approvals", "approvals");
        let projects = count("/api/v1/projects", "projects");
        if waiting == 1 && projects == 1 {
            Ok(())
        } else {
            Err(format!("demo run ({waiting}) and project ({projects})"))
        }
    });
    let shots = artifacts("dashboard");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboard");
    let (openvex, cdx_vex, sbom) = (
        fixtures.join("shop-frontend.openvex.json"),
        fixtures.join("shop-frontend.vex.cdx.json"),
        fixtures.join("shop-frontend-3.cdx.json"),
    );
    let seen = run_script(
        "dashboard_live_e2e.py",
        &[
            server.base.as_ref(),
            analyst.as_ref(),
            responder.as_ref(),
            viewer.as_ref(),
            other.as_ref(),
            shots.as_os_str(),
            openvex.as_os_str(),
            cdx_vex.as_os_str(),
            sbom.as_os_str(),
        ],
        Some("live-run.json"),
    );

    // The stream is on and says so; a rejection needs a reason.
    assert_eq!(seen["live_indicator"], "● Live");
    assert!(
        s(&seen["demo_approval"]).contains("approve-isolation"),
        "{seen}"
    );
    assert!(
        s(&seen["reject_without_reason"]).starts_with("Give a reason to reject"),
        "{seen}"
    );
    assert_eq!(seen["reason_focused"], "pb-comment");
    assert_eq!(seen["still_pending"], "pending", "nothing was sent");

    // Approved from the page: the open run's status and steps change by themselves,
    // through the stream (no polling timer), and the request leaves the list.
    assert!(
        s(&seen["detail_before"]).contains("Waiting for approval"),
        "{seen}"
    );
    assert!(s(&seen["detail_after"]).contains("Succeeded"), "{seen}");
    assert_eq!(
        seen["steps_after"],
        json!([
            ["record", "step st-succeeded"],
            ["approve-isolation", "step st-succeeded"],
            ["contained", "step st-succeeded"]
        ])
    );
    assert_eq!(seen["polling_timer"], serde_json::Value::Null);
    assert_eq!(seen["rest_demo_run"], "succeeded");

    // Another client's run and decision show up live, without a reload.
    assert!(
        s(&seen["api_run_row"]).contains("Waiting for approval"),
        "{seen}"
    );
    assert_eq!(seen["api_run_approval"], true);
    let news = s(&seen["api_run_news"]);
    assert!(
        news.starts_with("demo-contain-host run ") && news.contains(": Waiting for approval"),
        "the change is announced: {news}"
    );
    assert_eq!(seen["api_reject"], json!([200, "rejected"]));
    let after = s(&seen["api_run_row_after"]);
    assert!(
        after.contains("Failed: step approve-isolation: rejected")
            && after.contains("web-1 is a honeypot"),
        "{after}"
    );
    assert_eq!(seen["hostile_reason_as_text"], true, "{seen}");
    assert_eq!(seen["hostile_imgs"], 0, "a reason became HTML: {seen}");
    assert_eq!(seen["no_reload"], true, "the page was reloaded");

    // A dropped stream says so, comes back, and shows what it missed.
    assert!(
        s(&seen["offline_indicator"]).starts_with("○ Offline: retrying in 1 s"),
        "{seen}"
    );
    assert_eq!(seen["offline_class"], "live-state live-off");
    assert!(
        s(&seen["away_run_row"]).contains("Waiting for approval"),
        "{seen}"
    );
    assert_eq!(seen["no_reload_after_reconnect"], true);
    // Rejected from the page with a reason.
    assert!(
        s(&seen["page_reject_status"]).contains("rejection recorded, request rejected"),
        "{seen}"
    );
    assert!(
        s(&seen["page_reject_row"]).contains("Failed: step approve-isolation: rejected")
            && s(&seen["page_reject_row"]).contains("not needed: lab host"),
        "{seen}"
    );
    assert_eq!(seen["page_reject_rest"], "failed");
    // Elsewhere in the dashboard the Playbooks link counts what waits for this key.
    assert_eq!(seen["badge_before"], false);
    assert_eq!(seen["badge"], "1 waiting");
    assert_eq!(seen["nav_name"], json!(["Playbooks", "b", "1", "waiting"]));
    assert_eq!(seen["badge_gone"], true);
    assert_eq!(seen["no_reload_badge"], true);
    // The demo playbook's defaults fill what the input leaves out.
    assert_eq!(
        seen["away_run_record"],
        json!([{"host": "WS042.corp.example", "reason": "credential dumping seen"}])
    );
    assert_eq!(
        seen["fresh_record"],
        json!([{"host": "app-3", "reason": "credential dumping seen"}])
    );

    // An analyst follows along but decides nothing; another tenant sees nothing.
    assert_eq!(seen["analyst_not_yours"], "");
    assert_eq!(seen["analyst_badge"], false, "an analyst decides nothing");
    assert_eq!(seen["analyst_reason_field"], false);
    assert_eq!(seen["analyst_sees_new_run"], true);
    assert_eq!(seen["analyst_buttons_after"], 0);
    assert_eq!(seen["other_runs"], 0, "LEAK: tenant-b lists runs");
    assert_eq!(seen["other_approvals"], 0, "LEAK: tenant-b sees approvals");

    // VEX: the upload suppresses one finding and marks another, on the page and in REST.
    assert!(
        s(&seen["vexdocs_before"]).contains("No VEX document"),
        "{seen}"
    );
    assert_eq!(
        seen["vex_before"],
        json!({"MCPSEC-DEMO-2025-0001": "none", "MCPSEC-DEMO-2025-0004": "none", "MCPSEC-DEMO-2025-0005": "none"})
    );
    assert_eq!(
        s(&seen["vex_status"]),
        "shop-frontend.openvex.json stored: 2 VEX statements, applied to every version of shop-frontend."
    );
    assert_eq!(
        s(&seen["findings_after"]),
        "Version 2: 2 findings in 7 components. 1 suppressed by VEX."
    );
    assert_eq!(
        seen["vex_after"],
        json!({"MCPSEC-DEMO-2025-0004": "under investigation", "MCPSEC-DEMO-2025-0005": "none"})
    );
    assert!(
        s(&seen["vexdocs_after"]).contains("shop-frontend.openvex.json 2 "),
        "{seen}"
    );
    assert_eq!(
        seen["suppressed_vex"],
        json!([
            "not affected",
            "vulnerable_code_not_in_execute_path: shop-frontend never calls the affected template function"
        ])
    );
    assert_eq!(
        seen["suppressed_vex_cell"],
        "not affected\nvulnerable code not in execute path"
    );
    assert_eq!(
        seen["rest_vex"],
        json!({"MCPSEC-DEMO-2025-0001": "not_affected", "MCPSEC-DEMO-2025-0004": "under_investigation", "MCPSEC-DEMO-2025-0005": null})
    );
    // A CycloneDX VEX document (analysis state `exploitable`) marks another finding.
    assert_eq!(
        s(&seen["cdx_vex_status"]),
        "shop-frontend.vex.cdx.json stored: 1 VEX statement, applied to every version of shop-frontend."
    );
    assert_eq!(
        seen["cdx_vex_cell"],
        json!([
            "affected",
            "reachable from the chat socket; upgrade planned"
        ])
    );
    assert!(
        s(&seen["findings_after_cdx"]).ends_with("1 suppressed by VEX (shown)."),
        "{seen}"
    );
    // Not a VEX document: refused with the reason, nothing stored.
    assert!(
        s(&seen["not_vex_status"]).contains("no usable VEX statement"),
        "{seen}"
    );
    assert_eq!(seen["vexdocs_after_refusal"], 2);
    assert_eq!(seen["rest_vexdocs"], 2);
    assert_eq!(seen["refused_upload_logged"], 1);
    assert_eq!(seen["viewer_vexdocs"], 2);
    assert_eq!(seen["viewer_vex_form"], false);

    for (page, result) in seen["axe"].as_object().expect("axe") {
        if let Some(violations) = result.as_array() {
            let bad: Vec<_> = violations
                .iter()
                .filter(|v| v["impact"] == "critical" || v["impact"] == "serious")
                .collect();
            assert!(bad.is_empty(), "axe-core on {page}: {bad:?}");
        }
    }
    assert_eq!(seen["console_errors"], json!([]), "{seen}");
    for shot in seen["screenshots"].as_array().expect("screenshots") {
        let path = shot.as_str().expect("path");
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {path} is empty");
    }
}
