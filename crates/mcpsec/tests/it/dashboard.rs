//! The dashboard end to end: headless Chromium (Debian `chromium` + `chromium-driver`,
//! driven by Selenium from `tests/fixtures/dashboard_e2e.py`) against a real
//! `serve --demo`. Screenshots land in `<target>/test-artifacts/dashboard/`.

use crate::common::*;
use std::path::PathBuf;
use std::process::Command;

/// `<target>/test-artifacts/<name>`: the test binary lives in `<target>/<profile>/deps/`.
fn artifacts(name: &str) -> PathBuf {
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

#[test]
fn dashboard_is_public_and_its_assets_are_strict() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    for (path, kind) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
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
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dashboard_e2e.py"
    );
    let python = std::env::var("MCP_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(script)
        .arg(&server.base)
        .arg(&key)
        .arg(&shots)
        .arg(&other)
        .arg(&report_html)
        .output()
        .expect("python3 (see .ci/run: selenium, chromium, chromium-driver)");
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("script JSON");
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
    let other_cards = seen["other_cards"].to_string();
    assert!(
        other_cards.contains("0 events"),
        "tenant-b's overview: {seen}"
    );
    assert_eq!(seen["other_who"], "Tenant tenant-b");
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
