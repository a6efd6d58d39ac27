//! Response playbooks in `serve`: alert triggers, the REST API with tenant isolation and
//! approvals (REST and CLI), resume after kill -9 without repeating a step, and the
//! `mcpsec playbook` commands.

use crate::common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request the local server received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    key: Option<String>,
    body: String,
}

/// A blocking HTTP server on 127.0.0.1: records requests; the first request to a path
/// in `hang` gets no answer for a minute.
fn local_server(hang: &'static [&'static str]) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let seen = s2.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().expect("clone"));
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let (mut len, mut key) = (0usize, None);
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap_or((h, ""));
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if k.eq_ignore_ascii_case("idempotency-key") {
                            key = Some(v.trim().to_owned());
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let first = {
                        let mut s = seen.lock().expect("lock");
                        let first = !s.iter().any(|x| x.path == path);
                        s.push(Seen {
                            path: path.clone(),
                            key,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        first
                    };
                    if first && hang.contains(&path.as_str()) {
                        std::thread::sleep(Duration::from_secs(60));
                        return;
                    }
                    let _ = conn.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
                    );
                }
            });
        }
    });
    (url, seen)
}

fn count(seen: &Arc<Mutex<Vec<Seen>>>, path: &str) -> usize {
    seen.lock()
        .expect("lock")
        .iter()
        .filter(|s| s.path == path)
        .count()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn get(s: &Server, key: &str, path: &str) -> (u16, Value) {
    call(s, key, reqwest::Method::GET, path, None)
}

fn post(s: &Server, key: &str, path: &str, body: Value) -> (u16, Value) {
    call(s, key, reqwest::Method::POST, path, Some(body))
}

fn wait_run(s: &Server, key: &str, run: &str, status: &str) -> Value {
    let mut last = Value::Null;
    wait_until(&format!("run {run} to be {status}"), || {
        last = get(s, key, &format!("/api/v1/runs/{run}")).1;
        last["run"]["status"] == status
    });
    last
}

fn write_config(dir: &Path, playbook: &str) -> std::path::PathBuf {
    let pb = dir.join("playbook.yml");
    std::fs::write(&pb, playbook).expect("write playbook");
    let cfg = dir.join("mcpsec.toml");
    std::fs::write(
        &cfg,
        format!(
            "[respond]\nplaybook_paths = [{:?}]\n",
            pb.display().to_string()
        ),
    )
    .expect("write config");
    cfg
}

#[test]
fn a_killed_run_resumes_without_repeating_finished_steps() {
    let (url, seen) = local_server(&["/slow"]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &format!(
            "id: durable\nname: durable\nsteps:\n  - id: one\n    action: http.request\n    with: {{url: '{url}/one'}}\n  - id: slow\n    action: http.request\n    timeout: 5m\n    with: {{url: '{url}/slow'}}\n  - id: three\n    action: http.request\n    with: {{url: '{url}/three'}}\n"
        ),
    );
    let cfg_s = cfg.display().to_string();
    let mut s = Server::start_with(&data, &[], &[("MCPSEC_CONFIG", &cfg_s)]);
    let (st, started) = post(&s, TOKEN, "/api/v1/playbooks/durable/run", json!({}));
    assert_eq!(st, 202, "{started}");
    let run = started["run_id"].as_str().expect("run id").to_owned();
    wait_until("the slow step's request", || count(&seen, "/slow") == 1);
    s.kill9();
    assert_eq!(count(&seen, "/one"), 1);
    assert_eq!(count(&seen, "/three"), 0);

    let s = Server::start_with(&data, &[], &[("MCPSEC_CONFIG", &cfg_s)]);
    let detail = wait_run(&s, TOKEN, &run, "succeeded");
    assert_eq!(
        count(&seen, "/one"),
        1,
        "finished before the kill: not repeated"
    );
    assert_eq!(count(&seen, "/three"), 1);
    assert_eq!(
        count(&seen, "/slow"),
        2,
        "the step cut off by the kill is called again"
    );
    let keys: Vec<Option<String>> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|x| x.path == "/slow")
        .map(|x| x.key.clone())
        .collect();
    assert!(
        keys[0].is_some() && keys[0] == keys[1],
        "same idempotency key: {keys:?}"
    );
    let steps = detail["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3, "{detail}");
    assert!(
        steps
            .iter()
            .all(|s| s["status"] == "succeeded" && s["duration_ms"].is_u64())
    );
}

#[test]
fn new_alerts_start_matching_playbooks_and_runs_link_to_them() {
    let (url, seen) = local_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &format!(
            "id: on-critical\nname: on critical\ntriggers:\n  - alert: {{min_level: critical}}\nsteps:\n  - id: tell\n    action: http.request\n    with: {{url: '{url}/alert', body: {{id: '{{{{ alert.id }}}}', rule: '{{{{ alert.rule_title }}}}'}}}}\n"
        ),
    );
    let s = Server::start_with(
        &data,
        &["--demo"],
        &[("MCPSEC_CONFIG", &cfg.display().to_string())],
    );
    wait_until("the playbook's request", || count(&seen, "/alert") >= 1);
    let crit = get(&s, TOKEN, "/api/v1/alerts?level=critical").1;
    let n = crit["total"].as_u64().expect("total") as usize;
    assert!(n >= 1);
    wait_until("one request per critical alert", || {
        count(&seen, "/alert") == n
    });
    let body: Value = serde_json::from_str(&seen.lock().expect("lock")[0].body).expect("json");
    let id = body["id"].as_str().expect("alert id").to_owned();
    let runs = get(&s, TOKEN, &format!("/api/v1/runs?alert={id}")).1;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs["runs"][0]["trigger"], "alert");
    assert_eq!(runs["runs"][0]["playbook_id"], "on-critical");
    // Lower-level alerts started nothing (the demo's own manual run is another playbook's).
    let all = get(&s, TOKEN, "/api/v1/runs?playbook=on-critical&limit=500").1;
    assert_eq!(all["runs"].as_array().map(Vec::len), Some(n));
    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains("mcpsec_playbook_runs_total"),
        "runs are counted"
    );
}

#[test]
fn risk_alerts_start_playbooks_with_a_risk_trigger() {
    let (url, seen) = local_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &format!(
            "id: on-risk\nname: on risk\ntriggers:\n  - risk: {{min_score: 1, kinds: [threshold]}}\nsteps:\n  - id: page\n    action: http.request\n    with: {{url: '{url}/risk', body: {{rule: '{{{{ alert.rule_id }}}}', score: '{{{{ alert.events[0].tenant_risk.score }}}}'}}}}\n"
        ),
    );
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str("[risk]\nsnapshot_interval_secs = 1\nalert_threshold = 1\nwindow_days = 366\n");
    std::fs::write(&cfg, text).expect("config");
    let s = Server::start_with(
        &data,
        &["--demo"],
        &[("MCPSEC_CONFIG", &cfg.display().to_string())],
    );
    wait_until("the risk playbook's request", || count(&seen, "/risk") >= 1);
    let body: Value = serde_json::from_str(&seen.lock().expect("lock")[0].body).expect("json");
    assert_eq!(body["rule"], "mcpsec-risk-threshold", "{body}");
    assert!(body["score"].as_u64().is_some_and(|n| n >= 1), "{body}");
    let runs = get(&s, TOKEN, "/api/v1/runs?playbook=on-risk").1;
    let run = &runs["runs"][0];
    assert_eq!(run["trigger"], "alert", "{runs}");
    let alert = run["alert_id"].as_str().expect("linked to the risk alert");
    let a = get(&s, TOKEN, &format!("/api/v1/alerts/{alert}")).1;
    assert_eq!(a["rule_id"], "mcpsec-risk-threshold", "{a}");
    // Detection alerts of the demo do not start it.
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads update frames until one matches `want`; returns every frame read.
async fn read_until(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    use futures_util::StreamExt;
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no matching update; got {seen:?}"));
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = msg else {
            panic!("stream ended: {msg:?} after {seen:?}");
        };
        let v: Value = serde_json::from_str(&t).expect("json frame");
        let hit = want(&v);
        seen.push(v);
        if hit {
            return seen;
        }
    }
}

#[test]
fn run_updates_stream_over_the_websocket_to_their_tenant_only() {
    use futures_util::StreamExt;
    let (url, _seen) = local_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let a = tenant_key(&data, "tenant-a", "responder");
    let b = tenant_key(&data, "tenant-b", "responder");
    let viewer = tenant_key(&data, "tenant-a", "viewer");
    let s = Server::start(&data);
    let yaml = format!(
        "id: live\nname: live\ntriggers: [manual]\nsteps:\n  - id: ask\n    action: noop\n    approval: {{role: responder, deadline: 1h}}\n  - id: call\n    action: http.request\n    with: {{url: '{url}/live'}}\n"
    );
    assert_eq!(
        post(&s, &a, "/api/v1/playbooks", json!({"yaml": yaml})).0,
        201
    );
    let ws_base = s.base.replace("http://", "ws://");
    let stream = |key: &str, extra: &str| {
        format!("{ws_base}/api/v1/stream?topic=runs{extra}&access_token={key}")
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (mut wa, mut wb) = rt.block_on(async {
        let err = tokio_tungstenite::connect_async(stream(&viewer, ""))
            .await
            .expect_err("viewer");
        assert!(err.to_string().contains("403"), "{err}");
        let err =
            tokio_tungstenite::connect_async(stream(&a, "").replace("topic=runs", "topic=nope"))
                .await
                .expect_err("bad topic");
        assert!(err.to_string().contains("400"), "{err}");
        let (wa, _) = tokio_tungstenite::connect_async(stream(&a, ""))
            .await
            .expect("a");
        let (wb, _) = tokio_tungstenite::connect_async(stream(&b, ""))
            .await
            .expect("b");
        (wa, wb)
    });
    let run = post(&s, &a, "/api/v1/playbooks/live/run", json!({})).1["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    let first = rt.block_on(read_until(&mut wa, |v| {
        v["kind"] == "approval" && v["status"] == "pending"
    }));
    assert!(
        first
            .iter()
            .any(|v| v["kind"] == "run" && v["status"] == "running" && v["run_id"] == run.as_str()),
        "{first:?}"
    );
    let (st, v) = post(
        &s,
        &a,
        &format!("/api/v1/runs/{run}/steps/ask/approve"),
        json!({}),
    );
    assert_eq!(st, 200, "{v}");
    let rest = rt.block_on(read_until(&mut wa, |v| {
        v["kind"] == "run" && v["status"] == "succeeded"
    }));
    for (kind, step, status) in [
        ("approval", "ask", "approved"),
        ("step", "call", "running"),
        ("step", "call", "succeeded"),
    ] {
        assert!(
            rest.iter()
                .any(|v| v["kind"] == kind && v["step_id"] == step && v["status"] == status),
            "{kind} {step} {status} in {rest:?}"
        );
    }
    assert!(
        rest.iter()
            .chain(&first)
            .all(|v| v["run_id"] == run.as_str())
    );
    // Tenant B, following the same stream, saw nothing of A's run.
    rt.block_on(async {
        let got = tokio::time::timeout(Duration::from_millis(500), wb.next()).await;
        assert!(got.is_err(), "tenant B got {got:?}");
    });
}

#[test]
fn playbook_api_is_tenant_scoped_and_approvals_work_over_rest_and_cli() {
    let (url, seen) = local_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let a = tenant_key(&data, "tenant-a", "responder");
    let b = tenant_key(&data, "tenant-b", "responder");
    let viewer = tenant_key(&data, "tenant-a", "viewer");
    let auditor = tenant_key(&data, "tenant-a", "auditor");
    let s = Server::start(&data);
    let yaml = format!(
        "id: gated\nname: gated\ntriggers: [manual]\nsteps:\n  - id: contain\n    action: http.request\n    with: {{url: '{url}/contain'}}\n    approval: {{role: responder, deadline: 1h}}\n  - id: close\n    action: http.request\n    with: {{url: '{url}/close'}}\n    approval: {{approvers: [cli-operator], deadline: 1h}}\n"
    );
    let (st, v) = post(&s, &viewer, "/api/v1/playbooks", json!({"yaml": yaml}));
    assert_eq!(st, 403, "{v}");
    let (st, v) = post(
        &s,
        &a,
        "/api/v1/playbooks",
        json!({"yaml": "id: x\nname: x\nsteps:\n  - id: s\n    action: nope\n"}),
    );
    assert_eq!(st, 400);
    assert!(v.to_string().contains("unknown action 'nope'"), "{v}");
    let (st, v) = post(&s, &a, "/api/v1/playbooks", json!({"yaml": yaml}));
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(get(&s, &a, "/api/v1/playbooks/gated").0, 200);
    assert_eq!(get(&s, &viewer, "/api/v1/playbooks").0, 403);

    // Tenant B sees and runs none of A's playbooks.
    assert_eq!(get(&s, &b, "/api/v1/playbooks").1["playbooks"], json!([]));
    assert_eq!(get(&s, &b, "/api/v1/playbooks/gated").0, 404);
    assert_eq!(
        post(&s, &b, "/api/v1/playbooks/gated/run", json!({})).0,
        404
    );

    let (st, v) = post(
        &s,
        &a,
        "/api/v1/playbooks/gated/run",
        json!({"input": {"why": "test"}}),
    );
    assert_eq!(st, 202, "{v}");
    let run = v["run_id"].as_str().expect("run").to_owned();
    wait_run(&s, &a, &run, "waiting");
    let pending = get(&s, &a, "/api/v1/approvals").1;
    assert_eq!(pending["approvals"][0]["step_id"], "contain", "{pending}");
    assert_eq!(get(&s, &b, "/api/v1/approvals").1["approvals"], json!([]));
    assert_eq!(get(&s, &b, &format!("/api/v1/runs/{run}")).0, 404);
    assert_eq!(get(&s, &b, "/api/v1/runs").1["runs"], json!([]));
    let (st, _) = post(
        &s,
        &b,
        &format!("/api/v1/runs/{run}/steps/contain/approve"),
        json!({}),
    );
    assert_eq!(st, 404, "tenant B cannot approve A's step");
    assert_eq!(
        post(
            &s,
            &viewer,
            &format!("/api/v1/runs/{run}/steps/contain/approve"),
            json!({})
        )
        .0,
        403
    );
    assert_eq!(count(&seen, "/contain"), 0, "nothing before approval");

    let (st, v) = post(
        &s,
        &a,
        &format!("/api/v1/runs/{run}/steps/contain/approve"),
        json!({"comment": "go"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "approved");
    assert_eq!(
        post(
            &s,
            &a,
            &format!("/api/v1/runs/{run}/steps/contain/approve"),
            json!({})
        )
        .0,
        409
    );
    wait_until("the approved step's request", || {
        count(&seen, "/contain") == 1
    });
    wait_until("the second approval request", || {
        get(&s, &a, "/api/v1/approvals").1["approvals"][0]["step_id"] == "close"
    });
    // A responder who is not the named approver may not decide.
    assert_eq!(
        post(
            &s,
            &a,
            &format!("/api/v1/runs/{run}/steps/close/approve"),
            json!({})
        )
        .0,
        403
    );
    // The CLI works on the data dir next to the running server.
    let out = std::process::Command::new(bin())
        .args([
            "playbook",
            "approve",
            &run,
            "close",
            "--as",
            "cli-operator",
            "--comment",
            "ok",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detail = wait_run(&s, &a, &run, "succeeded");
    assert_eq!(count(&seen, "/close"), 1);
    let steps = detail["steps"].as_array().expect("steps");
    let contain = steps
        .iter()
        .find(|x| x["step_id"] == "contain")
        .expect("contain");
    assert!(
        contain["actor"]
            .as_str()
            .expect("actor")
            .contains("approved by"),
        "{contain}"
    );
    let audit = get(&s, &auditor, "/api/v1/audit?limit=1000").1.to_string();
    for action in ["playbooks.write", "playbooks.run", "approvals.approve"] {
        assert!(audit.contains(action), "{action} audited");
    }
    let doc = get(&s, TOKEN, "/api/v1/openapi.json").1;
    assert!(doc["paths"]["/api/v1/runs/{id}/steps/{step}/approve"].is_object());
}

fn send(s: &Server, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
    call(s, key, method, path, body).0
}

#[test]
fn playbooks_are_updated_disabled_and_deleted_while_runs_keep_their_version() {
    use reqwest::Method;
    let (url, seen) = local_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let a = tenant_key(&data, "tenant-a", "responder");
    let b = tenant_key(&data, "tenant-b", "responder");
    let viewer = tenant_key(&data, "tenant-a", "viewer");
    let auditor = tenant_key(&data, "tenant-a", "auditor");
    let s = Server::start(&data);
    let version = |n: u32| {
        format!(
            "id: chg\nname: chg\ntriggers: [manual]\nsteps:\n  - id: ask\n    action: noop\n    approval: {{role: responder, deadline: 1h}}\n  - id: send\n    action: http.request\n    with: {{url: '{url}/v{n}'}}\n"
        )
    };
    let (st, v) = post(&s, &a, "/api/v1/playbooks", json!({"yaml": version(1)}));
    assert_eq!(st, 201, "{v}");
    let run = post(&s, &a, "/api/v1/playbooks/chg/run", json!({})).1["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    wait_run(&s, &a, &run, "waiting");

    // A new version, while the run waits.
    let put = |key: &str, yaml: String| {
        call(
            &s,
            key,
            Method::PUT,
            "/api/v1/playbooks/chg",
            Some(json!({"yaml": yaml})),
        )
    };
    assert_eq!(put(&viewer, version(2)).0, 403);
    assert_eq!(
        put(&b, version(2)).0,
        404,
        "another tenant's playbook is not found"
    );
    let other_id = version(2).replace("id: chg", "id: other");
    let (st, v) = put(&a, other_id);
    assert_eq!(st, 400, "{v}");
    let (st, v) = put(&a, "id: chg\nsteps: [".into());
    assert_eq!(st, 400, "{v}");
    let (st, v) = put(&a, version(2));
    assert_eq!((st, v["version"].clone()), (200, json!(2)), "{v}");
    assert_eq!(
        put(&a, version(2)).1["version"],
        2,
        "unchanged text, same version"
    );
    let detail = get(&s, &a, "/api/v1/playbooks/chg").1;
    assert_eq!(detail["playbook"]["version"], 2);
    assert_eq!(detail["versions"].as_array().map(Vec::len), Some(2));

    // The waiting run finishes on the version it started with.
    let (st, v) = post(
        &s,
        &a,
        &format!("/api/v1/runs/{run}/steps/ask/approve"),
        json!({}),
    );
    assert_eq!(st, 200, "{v}");
    let done = wait_run(&s, &a, &run, "succeeded");
    assert_eq!(done["run"]["playbook_version"], 1);
    assert_eq!((count(&seen, "/v1"), count(&seen, "/v2")), (1, 0));

    // Disable and enable.
    assert_eq!(
        send(
            &s,
            &viewer,
            Method::POST,
            "/api/v1/playbooks/chg/disable",
            None
        ),
        403
    );
    assert_eq!(
        send(&s, &b, Method::POST, "/api/v1/playbooks/chg/disable", None),
        404
    );
    assert_eq!(
        send(&s, &a, Method::POST, "/api/v1/playbooks/chg/disable", None),
        204
    );
    assert_eq!(
        get(&s, &a, "/api/v1/playbooks/chg").1["playbook"]["enabled"],
        false
    );
    assert_eq!(
        send(&s, &a, Method::POST, "/api/v1/playbooks/chg/enable", None),
        204
    );
    assert_eq!(
        get(&s, &a, "/api/v1/playbooks/chg").1["playbook"]["enabled"],
        true
    );
    assert_eq!(
        send(&s, &a, Method::POST, "/api/v1/playbooks/none/enable", None),
        404
    );

    // Delete: gone from the list, its run still readable, a new deployment numbers on.
    assert_eq!(
        send(&s, &viewer, Method::DELETE, "/api/v1/playbooks/chg", None),
        403
    );
    assert_eq!(
        send(&s, &b, Method::DELETE, "/api/v1/playbooks/chg", None),
        404
    );
    assert_eq!(
        send(&s, &a, Method::DELETE, "/api/v1/playbooks/chg", None),
        204
    );
    assert_eq!(
        send(&s, &a, Method::DELETE, "/api/v1/playbooks/chg", None),
        404
    );
    assert_eq!(get(&s, &a, "/api/v1/playbooks/chg").0, 404);
    assert_eq!(put(&a, version(3)).0, 404, "PUT does not create");
    assert_eq!(get(&s, &a, &format!("/api/v1/runs/{run}")).0, 200);
    let (st, v) = post(&s, &a, "/api/v1/playbooks", json!({"yaml": version(3)}));
    assert_eq!((st, v["version"].clone()), (201, json!(3)), "{v}");

    let audit = get(&s, &auditor, "/api/v1/audit?limit=1000").1.to_string();
    for action in [
        "playbooks.update",
        "playbooks.disable",
        "playbooks.enable",
        "playbooks.delete",
    ] {
        assert!(audit.contains(action), "{action} audited");
    }
    let doc = get(&s, TOKEN, "/api/v1/openapi.json").1;
    assert!(doc["paths"]["/api/v1/playbooks/{id}"]["put"].is_object());
    assert!(doc["paths"]["/api/v1/playbooks/{id}"]["delete"].is_object());
    assert!(doc["paths"]["/api/v1/playbooks/{id}/disable"]["post"].is_object());
}

#[test]
fn playbook_commands_validate_import_and_simulate() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "id: p\nname: p\nsteps:\n  - id: a\n    action: noop\n  - id: b\n    action: slak.post\n    needs: [zz]\n").expect("write");
    let out = std::process::Command::new(bin())
        .args(["playbook", "validate"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bad.yml:6: step 'b': unknown action 'slak.post'"),
        "{text}"
    );
    assert!(text.contains("needs unknown step 'zz'"), "{text}");

    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/playbooks/contain-critical.yml"
    );
    let out = std::process::Command::new(bin())
        .args(["playbook", "validate", example])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let alert = dir.path().join("alert.json");
    std::fs::write(
        &alert,
        json!({"id": "01A", "tenant": "acme", "rule_id": "r", "rule_title": "LSASS dump", "level": "critical",
               "host": "ws1", "tags": ["attack.t1003"],
               "events": [{"src_ip": "203.0.113.7"}, {"src_ip": "198.51.100.4"}, {"src_ip": "203.0.113.7"}]})
        .to_string(),
    )
    .expect("write");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[respond.services]\njira_url = \"https://jira.example\"\njira_user = \"bot@example.com\"\nedr_isolate_url = \"https://edr.example/hosts/{{ host }}/isolate\"\nblock_command = [\"/usr/sbin/nft\", \"-f\", \"-\"]\n",
    )
    .expect("write");
    let out = std::process::Command::new(bin())
        .args(["playbook", "test", example, "--alert"])
        .arg(&alert)
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("POST https://slack.com/api/chat.postMessage"),
        "{text}"
    );
    assert!(text.contains("Authorization: Bearer [redacted]"), "{text}");
    assert!(text.contains("Authorization: Basic [redacted]"), "{text}");
    assert!(
        text.contains("add element inet mcpsec blocked_v4 { 203.0.113.7 timeout 24h"),
        "{text}"
    );
    assert!(text.contains("198.51.100.4"), "{text}");
    assert!(
        text.contains("POST https://edr.example/hosts/ws1/isolate"),
        "{text}"
    );
    let json_run = |with_config: bool| -> Value {
        let mut c = std::process::Command::new(bin());
        c.args(["playbook", "test", example, "--format", "json", "--alert"])
            .arg(&alert);
        if with_config {
            c.arg("--config").arg(&cfg);
        }
        serde_json::from_slice(&c.output().expect("run").stdout).expect("json")
    };
    assert_eq!(json_run(true)["status"], "succeeded");
    // Without a Jira URL the simulation says so and stops where a real run would.
    let v = json_run(false);
    assert_eq!(v["status"], "failed");
    assert!(
        v["steps"]
            .to_string()
            .contains("jira_url is not configured"),
        "{v}"
    );

    let cacao = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/cacao/examples/soarca-tests/playbook.json"
    );
    let yml = dir.path().join("imported.yml");
    let out = std::process::Command::new(bin())
        .args(["playbook", "import", cacao, "-o"])
        .arg(&yml)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin())
        .args(["playbook", "validate"])
        .arg(&yml)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
