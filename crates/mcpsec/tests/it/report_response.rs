//! The `response` report over `serve --demo` (which leaves one run of
//! `demo-contain-host` waiting for a responder): JSON and PDF over HTTP, the approval and
//! its wait, a key without `playbooks.read` refused, another tenant's report empty.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn response_report_counts_runs_and_approvals_per_tenant() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let (st, body) = get_bytes(&s, TOKEN, "/api/v1/reports/response?format=json");
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).expect("json");
        if v["response"]["runs"].as_u64() >= Some(1) {
            break v;
        }
        assert!(Instant::now() < deadline, "the demo run never showed: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let r = &report["response"];
    assert_eq!(report["kind"], "response");
    assert_eq!(r["in_progress"], 1, "{r}");
    assert_eq!(r["by_playbook"][0]["playbook"], "demo-contain-host", "{r}");
    let approval = &r["approvals"][0];
    assert_eq!(approval["status"], "pending", "{r}");
    assert_eq!(approval["step"], "approve-isolation", "{r}");
    assert!(approval["waited_seconds"].as_f64() >= Some(0.0), "{r}");

    let (st, pdf) = get_bytes(&s, TOKEN, "/api/v1/reports/response?format=pdf");
    assert_eq!(st, 200);
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");

    let auditor = tenant_key(&data, "default", "auditor");
    let (st, body) = get_bytes(&s, &auditor, "/api/v1/reports/response?format=json");
    assert_eq!(
        st,
        403,
        "reports.read alone does not show playbook runs: {}",
        String::from_utf8_lossy(&body)
    );
    let other = tenant_key(&data, "tenant-b", "analyst");
    let (st, body) = get_bytes(&s, &other, "/api/v1/reports/response?format=json");
    assert_eq!(st, 200);
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["response"]["runs"], 0, "{v}");
    assert!(
        !String::from_utf8_lossy(&body).contains("demo-contain-host"),
        "another tenant's runs stay hidden"
    );
}
