//! Walks every REST route of the OpenAPI document (so new routes are covered without
//! editing this test) with tenant B's key over tenant A's data: nothing of A leaks,
//! nothing of A changes.

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
                    .body(format!("{{\"probe\":\"{secret}-b\"}}\n")),
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
    assert_eq!(a_count(), 21, "tenant B changed tenant A's data");
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
}
