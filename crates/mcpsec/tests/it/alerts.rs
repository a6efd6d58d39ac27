//! Detection in `serve`: demo alerts, triage, rule deployment without restart, backtests,
//! tenant isolation and exactly-once alerts across a kill -9.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const RULE_ID: &str = "0c0ffee0-1234-4abc-8def-000000000001";

fn rule_yaml(title: &str, needle: &str) -> String {
    format!(
        "title: {title}\nid: {RULE_ID}\nstatus: test\nlevel: high\ntags: [attack.t1204]\n\
         logsource: {{product: test}}\ndetection:\n  sel:\n    message|contains: '{needle}'\n  condition: sel\n"
    )
}

fn get(s: &Server, key: &str, path: &str) -> (u16, Value) {
    call(s, key, reqwest::Method::GET, path, None)
}

/// Waits until `path`'s `total` reaches `want`; returns the last answer.
fn wait_total(s: &Server, key: &str, path: &str, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = get(s, key, path);
        if v["total"].as_u64().unwrap_or(0) >= want || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn demo_alerts_can_be_triaged_and_stay_in_their_tenant() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    let all = wait_total(&s, TOKEN, "/api/v1/alerts", 23);
    assert_eq!(all["total"], 23, "{all}");
    let high = get(&s, TOKEN, "/api/v1/alerts?min_level=high").1;
    assert_eq!(high["total"], 4, "{high}");
    let brute = &get(
        &s,
        TOKEN,
        "/api/v1/alerts?rule=6f0c4a57-3f1e-4f7a-9a51-0d3c2b7e8a09",
    )
    .1["alerts"][0];
    assert_eq!(brute["kind"], "correlation", "{brute}");
    assert_eq!(brute["event_count"], 10);
    assert_eq!(brute["group"]["by"]["IpAddress"], "203.0.113.45");
    let crit = &get(&s, TOKEN, "/api/v1/alerts?level=critical").1["alerts"][0];
    assert_eq!(
        crit["rule_title"],
        "LSASS memory dumped through comsvcs.dll"
    );
    assert_eq!(crit["techniques"], json!(["T1003.001"]));
    assert_eq!(crit["host"], "WS042.corp.example");
    let id = crit["id"].as_str().expect("id").to_owned();

    let (st, after) = call(
        &s,
        TOKEN,
        reqwest::Method::PATCH,
        &format!("/api/v1/alerts/{id}"),
        Some(json!({"status": "acknowledged", "comment": "isolating WS042"})),
    );
    assert_eq!(st, 200, "{after}");
    assert_eq!(after["status"], "acknowledged");
    assert_eq!(after["status_by"], "env-admin");
    let hist = get(&s, TOKEN, &format!("/api/v1/alerts/{id}/history")).1;
    assert_eq!(hist["changes"][0]["comment"], "isolating WS042");
    assert_eq!(get(&s, TOKEN, "/api/v1/alerts?status=open").1["total"], 22);
    let bad = call(
        &s,
        TOKEN,
        reqwest::Method::PATCH,
        &format!("/api/v1/alerts/{id}"),
        Some(json!({"status": "done"})),
    );
    assert_eq!(bad.0, 400, "{}", bad.1);
    assert_eq!(get(&s, TOKEN, "/api/v1/alerts?min_level=urgent").0, 400);

    let low: Vec<String> = get(&s, TOKEN, "/api/v1/alerts?level=low&limit=100").1["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    let mut ids = low.clone();
    ids.push("01NOSUCHALERT0000000000000".into());
    let (st, bulk) = call(
        &s,
        TOKEN,
        reqwest::Method::POST,
        "/api/v1/alerts/status",
        Some(json!({"ids": ids, "status": "false_positive"})),
    );
    assert_eq!(st, 200, "{bulk}");
    assert_eq!(bulk["updated"].as_array().map(Vec::len), Some(low.len()));
    assert_eq!(bulk["missing"], json!(["01NOSUCHALERT0000000000000"]));

    // Another tenant sees nothing and cannot touch the default tenant's alerts.
    let other = tenant_key(&data, "globex", "analyst");
    assert_eq!(get(&s, &other, "/api/v1/alerts").1["total"], 0);
    assert_eq!(get(&s, &other, &format!("/api/v1/alerts/{id}")).0, 404);
    let (st, _) = call(
        &s,
        &other,
        reqwest::Method::PATCH,
        &format!("/api/v1/alerts/{id}"),
        Some(json!({"status": "closed"})),
    );
    assert_eq!(st, 404);
    // A viewer reads but may not triage.
    let viewer = tenant_key(&data, "default", "viewer");
    assert_eq!(get(&s, &viewer, "/api/v1/alerts").0, 200);
    let (st, _) = call(
        &s,
        &viewer,
        reqwest::Method::PATCH,
        &format!("/api/v1/alerts/{id}"),
        Some(json!({"status": "closed"})),
    );
    assert_eq!(st, 403);
    let summary = get(&s, TOKEN, "/api/v1/alerts/summary").1;
    assert_eq!(summary["total"], 23);
    assert_eq!(summary["by_level"][0], json!(["critical", 1]));

    // GraphQL: the same alerts, and triage needs the same right.
    let gql = |key: &str, query: &str| {
        call(
            &s,
            key,
            reqwest::Method::POST,
            "/graphql",
            Some(json!({"query": query})),
        )
        .1
    };
    let q = gql(
        TOKEN,
        r#"{ alerts(minLevel: "high") { total alerts { ruleTitle level techniques } } }"#,
    );
    assert_eq!(q["data"]["alerts"]["total"], 4, "{q}");
    let m = format!(
        r#"mutation {{ setAlertStatus(id: "{id}", status: "closed", comment: "done") {{ status statusBy }} }}"#
    );
    let denied = gql(&viewer, &m);
    assert!(denied["errors"][0]["message"].is_string(), "{denied}");
    let done = gql(TOKEN, &m);
    assert_eq!(done["data"]["setAlertStatus"]["status"], "closed", "{done}");
    let none = gql(&other, &format!(r#"{{ alert(id: "{id}") {{ id }} }}"#));
    assert!(none["data"]["alert"].is_null(), "{none}");
}

#[test]
fn rules_deploy_version_and_backtest_without_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut s = Server::start(&data);
    let key = tenant_key(&data, "acme", "analyst");
    let other = tenant_key(&data, "globex", "analyst");
    let post = |key: &str, lines: &str| {
        let r = client()
            .post(s.url("/api/v1/events"))
            .bearer_auth(key)
            .header("content-type", "application/x-ndjson")
            .body(lines.to_owned())
            .send()
            .expect("post");
        assert_eq!(r.status().as_u16(), 200);
    };
    post(
        &key,
        "{\"message\": \"old evil-tool run\"}\n{\"message\": \"benign\"}\n",
    );
    s.wait_count_as(&key, "benign", 1);

    // Validate reports errors with lines; nothing is deployed.
    let (st, v) = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules/validate",
        Some(json!({"yaml": rule_yaml("Evil", "evil").replace("contains", "containz")})),
    );
    assert_eq!(st, 200);
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("containz"),
        "{v}"
    );

    // Backtest over stored events before deploying.
    let (st, bt) = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules/backtest",
        Some(json!({"yaml": rule_yaml("Evil", "evil-tool"), "from": "now-1h"})),
    );
    assert_eq!(st, 200, "{bt}");
    assert_eq!(
        (bt["scanned"].as_u64(), bt["matched"].as_u64()),
        (Some(2), Some(1)),
        "{bt}"
    );
    assert_eq!(
        bt["events"][0]["event"]["fields"]["message"],
        "old evil-tool run"
    );
    let (st, capped) = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules/backtest",
        Some(json!({"yaml": rule_yaml("Evil", "evil-tool"), "max_events": 1})),
    );
    assert_eq!(st, 200, "{capped}");
    assert_eq!(
        (capped["scanned"].as_u64(), capped["truncated"].as_bool()),
        (Some(1), Some(true)),
        "{capped}"
    );

    // Deploy: events arriving afterwards raise alerts; the other tenant is unaffected.
    let (st, created) = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules",
        Some(json!({"yaml": rule_yaml("Evil", "evil-tool")})),
    );
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["rule"]["version"], 1);
    let dup = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules",
        Some(json!({"yaml": rule_yaml("Evil", "x")})),
    );
    assert_eq!(dup.0, 409);
    post(&key, "{\"message\": \"new evil-tool run\"}\n");
    post(&other, "{\"message\": \"new evil-tool run\"}\n");
    let alerts = wait_total(&s, &key, "/api/v1/alerts", 1);
    assert_eq!(alerts["total"], 1, "{alerts}");
    assert_eq!(alerts["alerts"][0]["rule_version"], 1);
    assert_eq!(get(&s, &other, "/api/v1/alerts").1["total"], 0);
    assert_eq!(get(&s, &other, &format!("/api/v1/rules/{RULE_ID}")).0, 404);

    // Update with a stale version conflicts; with the current one it deploys version 2.
    let stale = call(
        &s,
        &key,
        reqwest::Method::PUT,
        &format!("/api/v1/rules/{RULE_ID}"),
        Some(json!({"yaml": rule_yaml("Evil v2", "evil"), "version": 0})),
    );
    assert_eq!(stale.0, 409, "{}", stale.1);
    let (st, upd) = call(
        &s,
        &key,
        reqwest::Method::PUT,
        &format!("/api/v1/rules/{RULE_ID}"),
        Some(json!({"yaml": rule_yaml("Evil v2", "evil"), "version": 1})),
    );
    assert_eq!(st, 200, "{upd}");
    post(&key, "{\"message\": \"evil again\"}\n");
    let alerts = wait_total(&s, &key, "/api/v1/alerts", 2);
    assert_eq!(alerts["alerts"][0]["rule_title"], "Evil v2");
    assert_eq!(alerts["alerts"][0]["rule_version"], 2);

    // Disabled rules stop at once; the history keeps every version.
    let (st, _) = call(
        &s,
        &key,
        reqwest::Method::POST,
        &format!("/api/v1/rules/{RULE_ID}/disable"),
        None,
    );
    assert_eq!(st, 204);
    post(&key, "{\"message\": \"evil while disabled\"}\n");
    s.wait_count_as(&key, "disabled", 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(&s, &key, "/api/v1/alerts").1["total"], 2);
    let versions = get(&s, &key, &format!("/api/v1/rules/{RULE_ID}/versions")).1;
    let changes: Vec<&str> = versions["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["change"].as_str())
        .collect();
    assert_eq!(changes, ["created", "updated", "disabled"]);
    let listed = get(&s, &key, "/api/v1/rules?source=api").1;
    assert_eq!(listed["rules"][0]["enabled"], false);
    assert_eq!(listed["rules"][0]["stats"]["matches"], 2);

    // Rule changes are audited.
    let acme_admin = tenant_key(&data, "acme", "admin");
    let audit = get(&s, &acme_admin, "/api/v1/audit?limit=1000").1;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in ["rules.created", "rules.updated", "rules.disabled"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let default_audit = get(&s, TOKEN, "/api/v1/audit?limit=1000").1.to_string();
    assert!(
        !default_audit.contains("rules.created"),
        "audit entries stay in their tenant"
    );
    let viewer_denied = tenant_key(&data, "acme", "viewer");
    let (st, _) = call(
        &s,
        &viewer_denied,
        reqwest::Method::DELETE,
        &format!("/api/v1/rules/{RULE_ID}"),
        None,
    );
    assert_eq!(st, 403);
    let (st, _) = call(
        &s,
        &key,
        reqwest::Method::DELETE,
        &format!("/api/v1/rules/{RULE_ID}"),
        None,
    );
    assert_eq!(st, 204);
    assert_eq!(get(&s, &key, &format!("/api/v1/rules/{RULE_ID}")).0, 404);

    // A huge rule text is refused before it is parsed.
    let huge = "x".repeat(2 << 20);
    let (st, _) = call(
        &s,
        &key,
        reqwest::Method::POST,
        "/api/v1/rules/validate",
        Some(json!({"yaml": huge})),
    );
    assert!(st == 413, "got {st}");
    assert_eq!(s.terminate(), Some(0));
}

#[test]
fn alerts_survive_kill9_without_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut s = Server::start_with(&data, &["--demo"], &[]);
    let before = wait_total(&s, TOKEN, "/api/v1/alerts", 23)["total"].clone();
    assert_eq!(before, 23);
    s.kill9();
    let s = Server::start_with(&data, &["--demo"], &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(&s, TOKEN, "/api/v1/alerts").1["total"], 23);
}

#[test]
fn new_alerts_stream_to_their_tenant_only() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    wait_total(&s, TOKEN, "/api/v1/alerts", 23);
    let other = tenant_key(&data, "globex", "viewer");
    let ws = s.base.replace("http://", "ws://");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let (mut mine, _) = tokio_tungstenite::connect_async(format!(
            "{ws}/api/v1/alerts/stream?min_level=high&access_token={TOKEN}"
        ))
        .await
        .expect("connect");
        let (mut theirs, _) = tokio_tungstenite::connect_async(format!(
            "{ws}/api/v1/alerts/stream?access_token={other}"
        ))
        .await
        .expect("connect other");
        let bad = tokio_tungstenite::connect_async(format!(
            "{ws}/api/v1/alerts/stream?min_level=urgent&access_token={TOKEN}"
        ))
        .await;
        assert!(bad.is_err(), "unknown level refused before the upgrade");
        // One low (whoami) and one critical (comsvcs) process creation.
        let lines = [
            ("cmd.exe /c whoami", "C:\\Windows\\System32\\cmd.exe"),
            ("rundll32 comsvcs.dll MiniDump 1 x full", "C:\\Windows\\System32\\rundll32.exe"),
        ]
        .iter()
        .map(|(cmd, img)| {
            json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "ws9"}, "EventData": {"CommandLine": cmd, "Image": img}}})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
        let url = s.url("/api/v1/events");
        tokio::task::spawn_blocking(move || {
            client().post(url).bearer_auth(TOKEN).body(lines).send().expect("post")
        })
        .await
        .expect("join");
        let msg = tokio::time::timeout(Duration::from_secs(20), mine.next())
            .await
            .expect("no alert streamed")
            .expect("stream ended")
            .expect("frame");
        let alert: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        assert_eq!(alert["level"], "critical", "min_level filters: {alert}");
        assert_eq!(alert["host"], "ws9");
        let quiet = tokio::time::timeout(Duration::from_millis(700), theirs.next()).await;
        assert!(quiet.is_err(), "another tenant hears nothing: {quiet:?}");
    });
}

#[test]
fn mcp_clients_read_and_triage_alerts_within_their_rights() {
    let python = std::env::var("MCP_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_sdk = std::process::Command::new(&python)
        .args(["-c", "import mcp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sdk {
        eprintln!("SKIPPED: the official MCP SDK is not importable (pip install mcp)");
        assert!(std::env::var("CI").is_err(), "CI must have the MCP SDK");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    wait_total(&s, TOKEN, "/api/v1/alerts", 23);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_client.py");
    let run = |key: &str| -> Value {
        let out = std::process::Command::new(&python)
            .args([script, "http", &s.url("/mcp"), key, "whoami"])
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("client JSON")
    };
    let viewer = run(&tenant_key(&data, "default", "viewer"));
    assert_eq!(viewer["high_alerts"], 4, "{viewer}");
    assert_eq!(viewer["alert_total"], 23);
    assert_eq!(
        viewer["set_alert_status_ok"], false,
        "a viewer may not triage"
    );
    let analyst = run(&tenant_key(&data, "default", "analyst"));
    assert_eq!(analyst["set_alert_status_ok"], true, "{analyst}");
    assert_eq!(
        get(&s, TOKEN, "/api/v1/alerts?status=acknowledged").1["total"],
        1
    );
    let stranger = run(&tenant_key(&data, "globex", "analyst"));
    assert_eq!(stranger["alert_total"], 0, "LEAK over MCP: {stranger}");
    // The stdio server reads the same alerts from the data dir of the running serve.
    let out = std::process::Command::new(&python)
        .args([script, "stdio", bin()])
        .arg(&data)
        .args(["default", "whoami"])
        .output()
        .expect("python");
    let stdio: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
    assert_eq!(
        stdio["alert_total"],
        23,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rule_files_from_the_command_line_reload_on_sighup() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("one.yml"), rule_yaml("First", "needle-one")).expect("write");
    std::fs::write(rules.join("broken.yml"), "title: [").expect("write");
    let s = Server::start_with(&data, &["--rules", rules.to_str().expect("utf8")], &[]);
    assert!(
        s.log_text().contains("broken.yml"),
        "a bad file is reported by name"
    );
    assert_eq!(s.post_ndjson("{\"message\": \"needle-one\"}\n").0, 200);
    assert_eq!(wait_total(&s, TOKEN, "/api/v1/alerts", 1)["total"], 1);

    let second =
        rule_yaml("Second", "needle-two").replace(RULE_ID, "0c0ffee0-1234-4abc-8def-000000000002");
    std::fs::write(rules.join("two.yml"), second).expect("write");
    let pid = s.child.as_ref().expect("child").id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.log_text().contains("rule files reloaded") {
        assert!(Instant::now() < deadline, "no reload: {}", s.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s.post_ndjson("{\"message\": \"needle-two\"}\n").0, 200);
    let got = wait_total(&s, TOKEN, "/api/v1/alerts", 2);
    assert_eq!(got["alerts"][0]["rule_title"], "Second", "{got}");
}

#[test]
fn graphql_subscriptions_deliver_new_alerts() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    wait_total(&s, TOKEN, "/api/v1/alerts", 23);
    let ws = s.base.replace("http://", "ws://");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let mut req = format!("{ws}/graphql/ws?access_token={TOKEN}")
            .into_client_request()
            .expect("req");
        req.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("hdr"),
        );
        let (mut sock, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
        let text = |v: Value| Message::Text(v.to_string().into());
        sock.send(text(json!({"type": "connection_init"}))).await.expect("init");
        let ack = tokio::time::timeout(Duration::from_secs(20), sock.next())
            .await
            .expect("timeout")
            .expect("ended")
            .expect("frame");
        let ack: Value = serde_json::from_str(ack.to_text().unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(ack["type"], "connection_ack");
        sock.send(text(json!({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { alerts(minLevel: \"critical\") { ruleTitle level host } }"}})))
            .await
            .expect("subscribe");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let body = json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "ws5"}, "EventData": {"CommandLine": "rundll32 comsvcs.dll MiniDump 1 x full",
            "Image": "C:\\Windows\\System32\\rundll32.exe"}}})
        .to_string();
        let url = s.url("/api/v1/events");
        tokio::task::spawn_blocking(move || client().post(url).bearer_auth(TOKEN).body(body).send().expect("post"))
            .await
            .expect("join");
        let m = tokio::time::timeout(Duration::from_secs(20), sock.next())
            .await
            .expect("no alert")
            .expect("ended")
            .expect("frame");
        let v: Value = serde_json::from_str(m.to_text().expect("text")).expect("json");
        assert_eq!(v["type"], "next", "{v}");
        assert_eq!(v["payload"]["data"]["alerts"]["level"], "critical");
        assert_eq!(v["payload"]["data"]["alerts"]["host"], "ws5");
    });
    // Without a key the upgrade is refused.
    let refused = client().get(s.url("/graphql/ws")).send().expect("get");
    assert_eq!(refused.status().as_u16(), 401);
}

#[test]
fn alert_histogram_counts_each_alert_once_per_tenant_and_refuses_bad_parameters() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &["--demo"], &[]);
    wait_total(&s, TOKEN, "/api/v1/alerts", 23);
    let sum = |h: &Value| -> u64 {
        h["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .map(|b| b["count"].as_u64().expect("count"))
            .sum()
    };
    let (st, h) = get(&s, TOKEN, "/api/v1/alerts/histogram?buckets=12");
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["total"], 23);
    assert_eq!(h["buckets"].as_array().map(Vec::len), Some(12), "{h}");
    assert_eq!(sum(&h), 23, "every alert in exactly one bucket: {h}");
    assert!(h["bucket_seconds"].as_i64() >= Some(1), "{h}");

    let (_, crit) = get(&s, TOKEN, "/api/v1/alerts/histogram?min_level=critical");
    assert_eq!((crit["total"].as_u64(), sum(&crit)), (Some(1), 1), "{crit}");
    let (_, future) = get(
        &s,
        TOKEN,
        "/api/v1/alerts/histogram?from=2099-01-01T00:00:00Z&to=2099-01-02T00:00:00Z",
    );
    assert_eq!(future["total"], 0, "{future}");

    let other = tenant_key(&data, "tenant-b", "viewer");
    let (st, theirs) = get(&s, &other, "/api/v1/alerts/histogram");
    assert_eq!(st, 200);
    assert_eq!(
        (
            theirs["total"].as_u64(),
            theirs["buckets"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "LEAK: tenant-b counts the demo tenant's alerts: {theirs}"
    );
    let auditor = tenant_key(&data, "default", "auditor");
    assert_eq!(get(&s, &auditor, "/api/v1/alerts/histogram").0, 403);
    for bad in [
        "buckets=0",
        "buckets=201",
        "buckets=-1",
        "buckets=99999999999",
        "min_level=urgent",
        "from=yesterday-ish",
        "to=%00",
    ] {
        let (st, e) = get(&s, TOKEN, &format!("/api/v1/alerts/histogram?{bad}"));
        assert_eq!(st, 400, "{bad}: {e}");
    }
}
