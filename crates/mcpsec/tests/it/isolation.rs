//! Walks every REST route of the OpenAPI document and every MCP tool and resource the
//! server lists (so new routes and tools are covered without editing this test) with
//! tenant B's key over tenant A's data: nothing of A leaks, nothing of A changes.

use crate::common::*;

#[test]
fn every_rest_route_keeps_tenant_a_invisible_and_unchanged_for_tenant_b() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let keys = [
        tenant_key(&data, "tenant-a", "admin"),
        tenant_key(&data, "tenant-b", "admin"),
    ];
    let (a, b) = (&keys[0], &keys[1]);
    let secret = mark();
    let body: String = (0..20)
        .map(|i| format!("{{\"secret\":\"{secret}\",\"n\":{i}}}\n"))
        .collect();
    let r = client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(a)
        .body(body)
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let a_count = || server.count_as(a, &secret);
    server.wait_count_as(a, &secret, 20);
    assert_eq!(a_count(), 20);
    let page: serde_json::Value = client()
        .get(server.url("/api/v1/events"))
        .bearer_auth(a)
        .query(&[("q", secret.as_str()), ("limit", "1")])
        .send()
        .expect("get")
        .json()
        .expect("json");
    let a_id = page["events"][0]["id"].as_str().expect("id").to_owned();

    // Tenant A deploys a rule and gets an alert from it.
    let rule_id = "7e57a11e-0000-4000-8000-00000000000a";
    let rule = format!(
        "title: A's rule\nid: {rule_id}\nlevel: high\nlogsource: {{product: t}}\n\
         detection:\n  sel:\n    secret: '{secret}'\n  condition: sel\n"
    );
    let r = client()
        .post(server.url("/api/v1/rules"))
        .bearer_auth(a)
        .json(&serde_json::json!({"yaml": rule}))
        .send()
        .expect("rule");
    assert_eq!(r.status().as_u16(), 201);
    let r = client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(a)
        .body(format!("{{\"secret\":\"{secret}\",\"n\":99}}\n"))
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let alerts_of_a = || -> serde_json::Value {
        client()
            .get(server.url("/api/v1/alerts"))
            .bearer_auth(a)
            .send()
            .expect("alerts")
            .json()
            .expect("json")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while alerts_of_a()["total"] != 1 {
        assert!(std::time::Instant::now() < deadline, "A's alert");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let alert_id = alerts_of_a()["alerts"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(server.wait_count_as(a, &secret, 21), 21);

    // Tenant A makes a report and shares it.
    let job: serde_json::Value = client()
        .post(server.url("/api/v1/reports"))
        .bearer_auth(a)
        .json(&serde_json::json!({"kind": "executive", "format": "json"}))
        .send()
        .expect("report")
        .json()
        .expect("json");
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let job_of_a = || -> serde_json::Value {
        client()
            .get(server.url(&format!("/api/v1/reports/jobs/{job_id}")))
            .bearer_auth(a)
            .send()
            .expect("job")
            .json()
            .expect("json")
    };
    while job_of_a()["status"] != "done" {
        assert!(std::time::Instant::now() < deadline, "A's report");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let share: serde_json::Value = client()
        .post(server.url(&format!("/api/v1/reports/jobs/{job_id}/share")))
        .bearer_auth(a)
        .json(&serde_json::json!({}))
        .send()
        .expect("share")
        .json()
        .expect("json");
    let share_id = share["id"].as_str().expect("share id").to_owned();
    // Tenant A has a project (named after the secret) with an SBOM whose component's
    // name is the secret too.
    let r = client()
        .post(server.url("/api/v1/projects"))
        .bearer_auth(a)
        .json(&serde_json::json!({"name": secret}))
        .send()
        .expect("project");
    assert_eq!(r.status().as_u16(), 201);
    let project: serde_json::Value = r.json().expect("json");
    let project_id = project["id"].as_str().expect("id").to_owned();
    let sbom = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
        "components": [{"type": "library", "name": secret, "version": "1.0.0",
            "purl": format!("pkg:npm/{secret}@1.0.0")}]});
    let r = client()
        .post(server.url(&format!("/api/v1/projects/{project_id}/sboms")))
        .bearer_auth(a)
        .body(sbom.to_string())
        .send()
        .expect("sbom");
    assert_eq!(r.status().as_u16(), 201);
    // Tenant A has a playbook whose run, about A's alert and with the secret as input,
    // waits for approval.
    let playbook = "id: a-gate\nname: a-gate\ntriggers: [manual]\nsteps:\n  - id: hold\n    \
                    action: noop\n    approval: {role: admin, deadline: 1h}\n";
    let r = client()
        .post(server.url("/api/v1/playbooks"))
        .bearer_auth(a)
        .json(&serde_json::json!({"yaml": playbook}))
        .send()
        .expect("playbook");
    assert_eq!(r.status().as_u16(), 201);
    let started: serde_json::Value = client()
        .post(server.url("/api/v1/playbooks/a-gate/run"))
        .bearer_auth(a)
        .json(&serde_json::json!({"alert_id": alert_id, "input": {"why": secret}}))
        .send()
        .expect("run")
        .json()
        .expect("json");
    let run_id = started["run_id"].as_str().expect("run id").to_owned();
    let pending_of_a = || -> serde_json::Value {
        client()
            .get(server.url("/api/v1/approvals"))
            .bearer_auth(a)
            .send()
            .expect("approvals")
            .json()
            .expect("json")
    };
    while pending_of_a()["approvals"][0]["run_id"] != run_id.as_str() {
        assert!(std::time::Instant::now() < deadline, "A's approval request");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let doc: serde_json::Value = client()
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .expect("get")
        .json()
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut walked = 0;
    for (path, ops) in paths {
        let id = if path.contains("/reports/jobs/") {
            job_id.as_str()
        } else if path.contains("/reports/shares/") {
            share_id.as_str()
        } else if path.contains("/alerts/") {
            alert_id.as_str()
        } else if path.contains("/rules/") {
            rule_id
        } else if path.contains("/projects/") {
            project_id.as_str()
        } else if path.contains("/runs/") {
            run_id.as_str()
        } else if path.contains("/playbooks/") {
            "a-gate"
        } else {
            a_id.as_str()
        };
        let url = server.url(
            &path
                .replace("{id}", id)
                .replace("{kind}", "executive")
                .replace("{version}", "1"),
        );
        // Bodies that would succeed on B's own data, so only the tenant scope refuses.
        let json_body = if path.contains("/reports") {
            serde_json::json!({"kind": "executive", "format": "json"})
        } else if path.contains("/alerts") {
            serde_json::json!({"status": "closed", "ids": [alert_id], "comment": "B was here"})
        } else {
            serde_json::json!({"yaml": rule, "version": 1, "enabled": false})
        };
        for (method, _) in ops.as_object().expect("ops") {
            let req = match method.as_str() {
                "get" => client()
                    .get(&url)
                    .query(&[("q", secret.as_str()), ("limit", "10000")]),
                "post" if path.ends_with("/share") => {
                    client().post(&url).json(&serde_json::json!({}))
                }
                "post"
                    if path.contains("/alerts")
                        || path.contains("/rules")
                        || path.contains("/reports") =>
                {
                    client().post(&url).json(&json_body)
                }
                "post" if path == "/api/v1/projects" => client()
                    .post(&url)
                    .json(&serde_json::json!({"name": "b's project"})),
                "post" => client()
                    .post(&url)
                    // B's own data must not contain A's secret, or the leak checks
                    // below could not tell B's data from A's.
                    .body("{\"probe\":\"written by tenant b\"}\n"),
                "delete" => client().delete(&url),
                "put" => client().put(&url).json(&json_body),
                "patch" => client().patch(&url).json(&json_body),
                other => panic!("untested method {other} on {path}: extend this test"),
            };
            let r = req.bearer_auth(b).send().expect("request");
            let status = r.status().as_u16();
            let text = r.text().unwrap_or_default();
            assert!(status < 500, "{method} {path}: {status} {text}");
            assert!(
                !text.contains(&format!("\"{secret}\"")),
                "LEAK: {method} {path} showed tenant A's data to B: {text}"
            );
            assert!(
                !text.contains(&a_id) || path.contains("{id}") && status == 404,
                "LEAK of A's event id via {method} {path}"
            );
            assert!(
                !text.contains(&job_id) && !text.contains(&share_id)
                    || path.contains("{id}") && status == 404,
                "LEAK of A's report via {method} {path}: {text}"
            );
            assert!(
                !text.contains(&project_id) || path.contains("{id}") && status == 404,
                "LEAK of A's project id via {method} {path}: {text}"
            );
            walked += 1;
        }
    }
    assert!(walked >= 8, "only {walked} routes walked");
    let leaks = [
        format!("\"{secret}\""),
        secret.clone(),
        a_id.clone(),
        alert_id.clone(),
        rule_id.to_owned(),
        run_id.clone(),
    ];
    let mcp_walked = walk_mcp(&server, b, &leaks, &a_id, &alert_id, rule_id, &run_id);
    assert!(
        mcp_walked >= 18,
        "only {mcp_walked} MCP tools and resources walked"
    );
    assert_eq!(a_count(), 21, "tenant B changed tenant A's data");
    check_risk_and_playbooks(&server, a, b, &secret, &alert_id, &run_id);
    let after = alerts_of_a();
    assert_eq!(after["total"], 1);
    assert_eq!(
        after["alerts"][0]["status"], "open",
        "B changed A's alert: {after}"
    );
    let rule_now: serde_json::Value = client()
        .get(server.url(&format!("/api/v1/rules/{rule_id}")))
        .bearer_auth(a)
        .send()
        .expect("rule")
        .json()
        .expect("json");
    assert_eq!(
        rule_now["rule"]["version"], 1,
        "B changed A's rule: {rule_now}"
    );
    assert_eq!(rule_now["rule"]["enabled"], true);
    assert_eq!(job_of_a()["status"], "done", "B deleted A's report");
    let playbook_now: serde_json::Value = client()
        .get(server.url("/api/v1/playbooks/a-gate"))
        .bearer_auth(a)
        .send()
        .expect("playbook")
        .json()
        .expect("json");
    assert_eq!(
        (
            &playbook_now["playbook"]["version"],
            &playbook_now["playbook"]["enabled"]
        ),
        (&serde_json::json!(1), &serde_json::json!(true)),
        "B changed, disabled or deleted A's playbook: {playbook_now}"
    );
    let shares: serde_json::Value = client()
        .get(server.url(&format!("/api/v1/reports/jobs/{job_id}/shares")))
        .bearer_auth(a)
        .send()
        .expect("shares")
        .json()
        .expect("json");
    assert!(
        shares["shares"][0]["revoked_at"].is_null(),
        "B revoked A's link: {shares}"
    );
    let project_now: serde_json::Value = client()
        .get(server.url(&format!("/api/v1/projects/{project_id}/sboms")))
        .bearer_auth(a)
        .send()
        .expect("sboms")
        .json()
        .expect("json");
    assert_eq!(
        project_now["versions"].as_array().map(Vec::len),
        Some(1),
        "B changed A's project: {project_now}"
    );
    let vex_now: serde_json::Value = client()
        .get(server.url(&format!("/api/v1/projects/{project_id}/vex")))
        .bearer_auth(a)
        .send()
        .expect("vex")
        .json()
        .expect("json");
    assert_eq!(
        vex_now["documents"],
        serde_json::json!([]),
        "B added VEX to A's project"
    );
    // GraphQL with B's key over A's id and query.
    let q = format!("{{ events(query: \"{secret}\") {{ total }} event(id: \"{a_id}\") {{ id }} }}");
    let r: serde_json::Value = client()
        .post(server.url("/graphql"))
        .bearer_auth(b)
        .json(&serde_json::json!({"query": q}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert_eq!(r["data"]["events"]["total"], 0, "LEAK over GraphQL: {r}");
    assert!(r["data"]["event"].is_null(), "LEAK over GraphQL: {r}");
    let q = format!("{{ projects {{ id name }} project(id: \"{project_id}\") {{ id name }} }}");
    let r: serde_json::Value = client()
        .post(server.url("/graphql"))
        .bearer_auth(b)
        .json(&serde_json::json!({"query": q}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    let text = r.to_string();
    assert!(r["data"]["project"].is_null(), "LEAK over GraphQL: {r}");
    assert!(
        !text.contains(&secret) && !text.contains(&project_id),
        "LEAK over GraphQL: {r}"
    );
    let q = format!("{{ findings(projectId: \"{project_id}\") {{ total }} }}");
    let r: serde_json::Value = client()
        .post(server.url("/graphql"))
        .bearer_auth(b)
        .json(&serde_json::json!({"query": q}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert!(
        r["data"].is_null() || r["data"]["findings"].is_null(),
        "LEAK over GraphQL: {r}"
    );
    assert!(!r.to_string().contains(&secret), "LEAK over GraphQL: {r}");
    // A sees its own project over GraphQL
    let r: serde_json::Value = client()
        .post(server.url("/graphql"))
        .bearer_auth(a)
        .json(&serde_json::json!({"query": "{ projects { name latestVersion } }"}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert_eq!(r["data"]["projects"][0]["name"], secret.as_str(), "{r}");
    // GraphQL rules: A sees its rule and its versions; B sees none of them.
    let q = format!(
        "{{ rules {{ total rules {{ id source yaml tags }} }} rule(id: \"{rule_id}\") {{ id yaml }} \
         ruleVersions(id: \"{rule_id}\") {{ version yaml actor }} }}"
    );
    let gql = |key: &str| -> serde_json::Value {
        client()
            .post(server.url("/graphql"))
            .bearer_auth(key)
            .json(&serde_json::json!({"query": q}))
            .send()
            .expect("gql")
            .json()
            .expect("json")
    };
    let mine = gql(a);
    assert_eq!(mine["data"]["rules"]["total"], 1, "{mine}");
    assert_eq!(mine["data"]["rules"]["rules"][0]["source"], "api");
    assert!(
        mine["data"]["rule"]["yaml"]
            .as_str()
            .is_some_and(|y| y.contains(&secret))
    );
    assert_eq!(mine["data"]["ruleVersions"][0]["version"], 1, "{mine}");
    let theirs = gql(b);
    assert_eq!(
        theirs["data"]["rules"]["total"], 0,
        "LEAK over GraphQL: {theirs}"
    );
    assert!(
        theirs["data"]["rule"].is_null(),
        "LEAK over GraphQL: {theirs}"
    );
    // The REST walk made B write (and delete) a rule of the same id in its own tenant:
    // B sees only those versions, never A's.
    let a_actor = &mine["data"]["ruleVersions"][0]["actor"];
    assert_eq!(
        mine["data"]["ruleVersions"].as_array().map(Vec::len),
        Some(1)
    );
    for v in theirs["data"]["ruleVersions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_ne!(&v["actor"], a_actor, "LEAK of A's rule history: {theirs}");
    }
}

/// A streamable-HTTP MCP session made of plain JSON-RPC requests.
struct Mcp<'a> {
    url: String,
    key: &'a str,
    session: Option<String>,
    version: String,
    next: u64,
}

impl<'a> Mcp<'a> {
    /// An initialized session with `key`.
    fn open(server: &Server, key: &'a str) -> Self {
        let mut m = Mcp {
            url: server.url("/mcp"),
            key,
            session: None,
            version: "2025-06-18".into(),
            next: 0,
        };
        let (init, text) = m.call(
            "initialize",
            serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "isolation-walker", "version": "1"}}),
        );
        assert!(
            init["result"]["capabilities"]["resources"].is_object(),
            "{text}"
        );
        if let Some(v) = init["result"]["protocolVersion"].as_str() {
            m.version = v.to_owned();
        }
        m.post(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        m
    }

    fn post(&mut self, body: serde_json::Value) -> (u16, Option<serde_json::Value>, String) {
        let mut req = client()
            .post(&self.url)
            .bearer_auth(self.key)
            .header("Accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = &self.session {
            req = req
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", &self.version);
        }
        let r = req.send().expect("mcp request");
        if let Some(s) = r.headers().get("mcp-session-id") {
            self.session = Some(s.to_str().expect("ascii").to_owned());
        }
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        // JSON, or server-sent events whose data lines carry the reply.
        let reply = serde_json::from_str(&text).ok().or_else(|| {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
                .find(|v| v.get("id").is_some())
        });
        (status, reply, text)
    }

    fn call(&mut self, method: &str, params: serde_json::Value) -> (serde_json::Value, String) {
        self.next += 1;
        let (status, reply, text) = self.post(
            serde_json::json!({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params}),
        );
        assert!(status < 500, "{method}: {status} {text}");
        (reply.unwrap_or_default(), text)
    }
}

/// Calls every listed MCP tool with arguments that point at A's data, lists and reads
/// every resource B can see and A's rule: no reply may carry anything of A's.
fn walk_mcp(
    server: &Server,
    b: &str,
    leaks: &[String],
    a_event: &str,
    a_alert: &str,
    a_rule: &str,
    a_run: &str,
) -> usize {
    let mut m = Mcp::open(server, b);
    let (tools, text) = m.call("tools/list", serde_json::json!({}));
    let tools = tools["result"]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(tools.len() >= 18, "{text}");
    let secret = &leaks[1];
    let check = |what: &str, text: &str| {
        for l in leaks {
            assert!(
                !text.contains(l.as_str()),
                "LEAK over MCP: {what} showed tenant A's {l} to B: {text}"
            );
        }
    };
    let mut walked = 0;
    for t in &tools {
        let name = t["name"].as_str().expect("tool name");
        let props = t["inputSchema"]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut args = serde_json::Map::new();
        for (p, schema) in props {
            let v = match p.as_str() {
                "id" if name.contains("alert") => a_alert.into(),
                "id" if name.contains("event") => a_event.into(),
                "id" => "CVE-2019-15551".into(),
                "rule" => a_rule.into(),
                "run_id" => a_run.into(),
                "step" => "hold".into(),
                "approve" => true.into(),
                "playbook" => "a-gate".into(),
                "alert" => a_alert.into(),
                // get_risk of A's alert
                "scope" => "alert".into(),
                "name" => a_alert.into(),
                "provider" | "scenario" => continue,
                // the field that holds A's secret
                "field" => "secret".into(),
                "status" => "closed".into(),
                "content" => format!("{secret}==1.0\n").into(),
                "limit" | "top" => 50.into(),
                "from" | "to" | "min_level" | "min_severity" | "file_name" => continue,
                _ if schema["type"] == "integer" => 10.into(),
                _ => secret.clone().into(),
            };
            args.insert(p, v);
        }
        let (reply, text) = m.call(
            "tools/call",
            serde_json::json!({"name": name, "arguments": args}),
        );
        assert!(
            reply.get("result").is_some() || reply.get("error").is_some(),
            "{name}: {text}"
        );
        check(name, &text);
        walked += 1;
    }
    let (list, text) = m.call("resources/list", serde_json::json!({}));
    check("resources/list", &text);
    let uris: Vec<String> = list["result"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["uri"].as_str().map(str::to_owned))
        .collect();
    assert!(!uris.is_empty(), "{text}");
    let (_, text) = m.call("resources/templates/list", serde_json::json!({}));
    check("resources/templates/list", &text);
    walked += 2;
    for uri in uris
        .iter()
        .map(String::as_str)
        .chain([format!("mcpsec://rules/{a_rule}").as_str()])
        .chain(["mcpsec://reports/executive?format=json"])
        .map(str::to_owned)
        .collect::<Vec<_>>()
    {
        let (reply, text) = m.call("resources/read", serde_json::json!({"uri": uri}));
        assert!(
            reply.get("result").is_some() || reply.get("error").is_some(),
            "{uri}: {text}"
        );
        check(&uri, &text.replace(&uri, ""));
        walked += 1;
    }
    walked
}

fn gql(server: &Server, key: &str, query: &str) -> serde_json::Value {
    client()
        .post(server.url("/graphql"))
        .bearer_auth(key)
        .json(&serde_json::json!({"query": query}))
        .send()
        .expect("gql")
        .json()
        .expect("json")
}

/// Risk and playbooks over GraphQL and MCP: B sees and changes none of A's risk, runs and
/// approvals; A sees them, and A's decision over MCP lets A's run finish.
fn check_risk_and_playbooks(
    server: &Server,
    a: &str,
    b: &str,
    secret: &str,
    alert_id: &str,
    run_id: &str,
) {
    let reads = format!(
        "{{ alertRisk(id: \"{alert_id}\") {{ score risk {{ factors {{ name }} }} assessments {{ id }} }} \
         playbookRun(id: \"{run_id}\") {{ status steps {{ stepId status }} approvals {{ status }} }} \
         playbookRuns {{ id alertId }} pendingApprovals {{ runId stepId }} playbooks {{ id }} \
         risk {{ tenant {{ score alerts }} assets {{ name topAlerts {{ id }} }} }} \
         riskTrends {{ buckets {{ name }} }} riskInventory {{ name }} }}"
    );
    let theirs = gql(server, b, &reads);
    let text = theirs.to_string();
    for leak in [secret, alert_id, run_id, "a-gate"] {
        assert!(!text.contains(leak), "LEAK over GraphQL of {leak}: {text}");
    }
    let d = &theirs["data"];
    assert!(
        d["alertRisk"].is_null() && d["playbookRun"].is_null(),
        "{theirs}"
    );
    assert_eq!(d["playbookRuns"], serde_json::json!([]), "{theirs}");
    assert_eq!(d["pendingApprovals"], serde_json::json!([]), "{theirs}");
    assert_eq!(d["risk"]["tenant"]["alerts"], 0, "{theirs}");
    // B's changes over GraphQL reach nothing of A's.
    for m in [
        format!("mutation {{ assessAlert(id: \"{alert_id}\") {{ id }} }}"),
        format!(
            "mutation {{ decideApproval(runId: \"{run_id}\", step: \"hold\", approve: true) {{ status }} }}"
        ),
        format!(
            "mutation {{ startPlaybookRun(id: \"a-gate\", alertId: \"{alert_id}\") {{ id }} }}"
        ),
    ] {
        let r = gql(server, b, &m);
        let text = r.to_string();
        for leak in [secret, alert_id, run_id] {
            assert!(!text.contains(leak), "LEAK over GraphQL of {leak}: {text}");
        }
        assert!(
            r["errors"].is_array() || r["data"]["assessAlert"].is_null(),
            "{m}: {r}"
        );
    }
    // A sees its own: the alert's risk with its factors (nothing assessed by B), the run
    // waiting on its approval request.
    let mine = gql(server, a, &reads);
    let d = &mine["data"];
    assert!(
        d["alertRisk"]["score"].as_u64().is_some_and(|s| s > 0),
        "{mine}"
    );
    assert!(
        d["alertRisk"]["risk"]["factors"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{mine}"
    );
    assert_eq!(
        d["alertRisk"]["assessments"],
        serde_json::json!([]),
        "B assessed A's alert: {mine}"
    );
    assert_eq!(d["playbookRun"]["status"], "waiting", "{mine}");
    assert_eq!(d["playbookRun"]["steps"][0]["stepId"], "hold", "{mine}");
    assert_eq!(d["pendingApprovals"][0]["runId"], run_id, "{mine}");
    assert_eq!(d["playbookRuns"][0]["alertId"], alert_id, "{mine}");
    assert_eq!(d["risk"]["tenant"]["alerts"], 1, "{mine}");
    // A assesses over GraphQL and decides over MCP; both are audited.
    let r = gql(
        server,
        a,
        &format!(
            "mutation {{ assessAlert(id: \"{alert_id}\") {{ source score risk {{ factors {{ name }} }} }} }}"
        ),
    );
    assert_eq!(r["data"]["assessAlert"]["source"], "deterministic", "{r}");
    let mut m = Mcp::open(server, a);
    let (reply, text) = m.call(
        "tools/call",
        serde_json::json!({"name": "decide_approval",
            "arguments": {"run_id": run_id, "step": "hold", "approve": true, "comment": "ok"}}),
    );
    assert_eq!(
        reply["result"]["structuredContent"]["approval"]["status"], "approved",
        "{text}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = gql(
            server,
            a,
            &format!("{{ playbookRun(id: \"{run_id}\") {{ status }} }}"),
        );
        if r["data"]["playbookRun"]["status"] == "succeeded" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "A's run: {r}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let audit = client()
        .get(server.url("/api/v1/audit?limit=1000"))
        .bearer_auth(a)
        .send()
        .expect("audit")
        .text()
        .expect("text");
    assert!(
        audit.contains("\"transport\":\"graphql\"") && audit.contains("risk.assess"),
        "{audit}"
    );
    assert!(
        audit.contains("approvals.approve") && audit.contains("\"transport\":\"mcp\""),
        "{audit}"
    );
}
