//! Roles decide what a key may do; a Rego policy can narrow it further; denials are 403.

use crate::common::*;
use std::process::Command;

#[test]
fn roles_and_a_rego_policy_decide_over_rest_graphql_and_grpc() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let policy = dir.path().join("policy.rego");
    std::fs::write(
        &policy,
        "package mcpsec\nimport rego.v1\ndefault allow := false\nallow if input.tenant != \"frozen\"\nallow if { input.tenant == \"frozen\"; input.action == \"events.read\" }\n",
    )
    .expect("policy");
    let cfg = dir.path().join("mcpsec.toml");
    std::fs::write(
        &cfg,
        format!(
            "[authz]\npolicy_file = \"{}\"\n[authz.roles]\ningester = [\"events.write\"]\n",
            policy.display()
        ),
    )
    .expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("utf8")], &[]);
    let key = |tenant: &str, role: &str| tenant_key(&data, tenant, role);
    let viewer = key("live", "viewer");
    let ingester = key("live", "ingester");
    let frozen = key("frozen", "analyst");
    let post = |k: &str| {
        client()
            .post(server.url("/api/v1/events"))
            .bearer_auth(k)
            .body("{\"a\":1}\n")
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    let get = |k: &str| {
        client()
            .get(server.url("/api/v1/events"))
            .bearer_auth(k)
            .send()
            .expect("get")
            .status()
            .as_u16()
    };
    assert_eq!(post(&viewer), 403, "viewers cannot ingest");
    assert_eq!(get(&viewer), 200);
    assert_eq!(post(&ingester), 200, "custom role from the config");
    assert_eq!(get(&ingester), 403, "custom role cannot read");
    assert_eq!(
        post(&frozen),
        403,
        "the policy freezes writes for this tenant"
    );
    assert_eq!(get(&frozen), 200, "the policy still lets it read");
    let r: serde_json::Value = client()
        .post(server.url("/graphql"))
        .bearer_auth(&ingester)
        .json(&serde_json::json!({"query": "{ events { total } }"}))
        .send()
        .expect("gql")
        .json()
        .expect("json");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("may not"),
        "{r}"
    );
    let r = client()
        .get(server.url("/api/v1/audit"))
        .bearer_auth(&viewer)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 403);

    // A broken policy file stops the server from starting, with the reason.
    std::fs::write(&policy, "package mcpsec\nallow if {").expect("policy");
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("policy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_scoped_key_does_only_what_its_scopes_allow() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    assert!(admin(&data, &["tenant", "create", "acme"]).status.success());
    let bad = admin(
        &data,
        &[
            "key", "create", "--tenant", "acme", "--role", "analyst", "--scope", "Events!",
        ],
    );
    assert!(!bad.status.success(), "an invalid scope is refused");
    let out = admin(
        &data,
        &[
            "key",
            "create",
            "--tenant",
            "acme",
            "--role",
            "analyst",
            "--scope",
            "events.write",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipper = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let r = client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&shipper)
        .body("{\"m\":1}\n")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 200, "the scope allows ingest");
    let r = client()
        .get(server.url("/api/v1/events"))
        .bearer_auth(&shipper)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 403, "but not search");
    let body = r.text().unwrap_or_default();
    assert!(body.contains("scopes"), "{body}");
    let listed = admin(&data, &["key", "list", "--tenant", "acme"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("events.write"));
}
