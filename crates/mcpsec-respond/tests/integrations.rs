//! Each action against a local server that checks the real request shape.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcpsec_respond::config::Services;
use mcpsec_store::PlaybookStore;
use serde_json::json;

async fn run(
    engine: &mcpsec_respond::Engine,
    yaml: &str,
) -> (String, Vec<mcpsec_store::StepRunRecord>) {
    let id = start(engine, yaml, alert());
    let status = engine.drive(&id).await.unwrap();
    (status, engine.store().step_runs(&id).unwrap())
}

#[tokio::test]
async fn webhook_is_hmac_signed_and_carries_the_idempotency_key() {
    let m = mock(|_| (200, r#"{"accepted":true}"#.into())).await;
    let (_d, s) = secrets(&[("hook_key", "k3y")]);
    let (_st, e) = engine(Services::default(), s);
    let yaml = format!(
        "id: w\nname: w\nsteps:\n  - id: call\n    action: http.request\n    with:\n      url: {}/hook\n      body: {{ rule: '{{{{ alert.rule_title }}}}', host: '{{{{ alert.host }}}}' }}\n      hmac_secret: hook_key\n",
        m.url
    );
    let (status, steps) = run(&e, &yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let reqs = m.take();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.json(), json!({"rule": "Mimikatz", "host": "web-1"}));
    let ts: i64 = r.header("x-mcpsec-timestamp").unwrap().parse().unwrap();
    // Recompute the signature independently.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
    mac.update(format!("{ts}.{}", r.body).as_bytes());
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("x-mcpsec-signature"), Some(want.as_str()));
    let key = r.header("idempotency-key").unwrap();
    assert!(key.ends_with("/call/0"), "{key}");
    assert_eq!(
        steps[0].output.as_ref().unwrap()["body"],
        json!({"accepted": true})
    );
}

#[tokio::test]
async fn https_urls_are_spoken_with_tls_and_refused_by_a_plain_http_server() {
    let m = mock(|_| (200, "{}".into())).await;
    let (_d, s) = secrets(&[]);
    let (_st, e) = engine(Services::default(), s);
    let url = m.url.replacen("http://", "https://", 1);
    let yaml = format!(
        "id: t\nname: t\nsteps:\n  - id: call\n    action: http.request\n    with: {{url: '{url}/hook'}}\n"
    );
    let (status, steps) = run(&e, &yaml).await;
    assert_eq!(status, "failed", "{steps:?}");
    let error = steps[0].error.clone().unwrap_or_default();
    assert!(
        !error.contains("TLS-enabled"),
        "https is attempted: {error}"
    );
    // A TLS handshake is not an HTTP request: the plain server saw none.
    assert!(m.take().is_empty());
}

#[tokio::test]
async fn slack_post_and_webhook() {
    let m = mock(|r| {
        if r.path == "/api/chat.postMessage" {
            (
                200,
                r#"{"ok":true,"channel":"C1","ts":"1700000000.1"}"#.into(),
            )
        } else {
            (200, "ok".into())
        }
    })
    .await;
    let services = Services {
        slack_api: format!("{}/api", m.url),
        ..Services::default()
    };
    let hook = format!("{}/services/T0/B0/XYZ", m.url);
    let (_d, s) = secrets(&[("slack_token", "xoxb-1"), ("slack_hook", &hook)]);
    let (_st, e) = engine(services, s);
    let yaml = "id: s\nname: s\nsteps:\n  - id: post\n    action: slack.post\n    with: {channel: '#soc', text: 'Alert {{ alert.rule_title }}'}\n  - id: hook\n    action: slack.webhook\n    with: {url_secret: slack_hook, text: 'thread {{ steps.post.output.ts }}'}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let reqs = m.take();
    assert_eq!(reqs[0].path, "/api/chat.postMessage");
    assert_eq!(reqs[0].header("authorization"), Some("Bearer xoxb-1"));
    assert!(
        reqs[0]
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        reqs[0].json(),
        json!({"channel": "#soc", "text": "Alert Mimikatz"})
    );
    assert_eq!(reqs[1].path, "/services/T0/B0/XYZ");
    assert_eq!(reqs[1].json(), json!({"text": "thread 1700000000.1"}));
    // Slack's ok:false is a failure with Slack's reason.
    let m2 = mock(|_| (200, r#"{"ok":false,"error":"channel_not_found"}"#.into())).await;
    let services = Services {
        slack_api: m2.url.clone(),
        ..Services::default()
    };
    let (_d, s) = secrets(&[("slack_token", "xoxb-1")]);
    let (_st, e) = engine(services, s);
    let (status, steps) = run(&e, "id: s\nname: s\nsteps:\n  - id: post\n    action: slack.post\n    with: {channel: '#x', text: t}\n").await;
    assert_eq!(status, "failed");
    assert!(
        steps[0]
            .error
            .as_ref()
            .unwrap()
            .contains("channel_not_found")
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card() {
    let m = mock(|_| (202, String::new())).await;
    let (_d, s) = secrets(&[("teams", &format!("{}/webhookb2/x", m.url))]);
    let (_st, e) = engine(Services::default(), s);
    let yaml = "id: t\nname: t\nsteps:\n  - id: card\n    action: teams.webhook\n    with: {url_secret: teams, title: 'Alert', text: '{{ alert.rule_title }}', facts: {Host: '{{ alert.host }}'}}\n";
    assert_eq!(run(&e, yaml).await.0, "succeeded");
    let r = &m.take()[0];
    let b = r.json();
    assert_eq!(b["type"], "message");
    let att = &b["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(att["content"]["type"], "AdaptiveCard");
    assert_eq!(att["content"]["body"][1]["text"], "Mimikatz");
    assert_eq!(
        att["content"]["body"][2]["facts"][0],
        json!({"title": "Host", "value": "web-1"})
    );
}

#[tokio::test]
async fn pagerduty_trigger_then_resolve_share_the_dedup_key() {
    let m = mock(|r| {
        let b: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        (
            202,
            json!({"status": "success", "message": "Event processed", "dedup_key": b["dedup_key"]})
                .to_string(),
        )
    })
    .await;
    let services = Services {
        pagerduty_events: m.url.clone(),
        ..Services::default()
    };
    let (_d, s) = secrets(&[("pagerduty_routing_key", "R0UT1NG")]);
    let (_st, e) = engine(services, s);
    let yaml = "id: p\nname: p\nsteps:\n  - id: page\n    action: pagerduty.event\n    with: {event_action: trigger, summary: '{{ alert.rule_title }} on {{ alert.host }}', severity: critical, source: '{{ alert.host }}'}\n  - id: done\n    action: pagerduty.event\n    with: {event_action: resolve, dedup_key: '{{ steps.page.output.dedup_key }}'}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let reqs = m.take();
    assert_eq!(reqs[0].path, "/v2/enqueue");
    let t = reqs[0].json();
    assert_eq!(t["routing_key"], "R0UT1NG");
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(t["dedup_key"], "mcpsec-01ALERT");
    assert_eq!(
        t["payload"],
        json!({"summary": "Mimikatz on web-1", "source": "web-1", "severity": "critical"})
    );
    let r = reqs[1].json();
    assert_eq!(r["event_action"], "resolve");
    assert_eq!(r["dedup_key"], "mcpsec-01ALERT");
    assert!(r.get("payload").is_none());
}

#[tokio::test]
async fn jira_create_transition_comment_v3_basic_and_v2_bearer() {
    let m = mock(|r| match r.path.as_str() {
        "/rest/api/3/issue" | "/rest/api/2/issue" => {
            (201, r#"{"id":"10001","key":"SEC-7","self":"x"}"#.into())
        }
        p if p.ends_with("/transitions") => (204, String::new()),
        _ => (201, r#"{"id":"555"}"#.into()),
    })
    .await;
    let services = Services {
        jira_url: Some(m.url.clone()),
        jira_user: Some("bot@acme.example".into()),
        ..Services::default()
    };
    let (_d, s) = secrets(&[("jira_token", "T0K")]);
    let (_st, e) = engine(services, s.clone());
    let yaml = "id: j\nname: j\nsteps:\n  - id: ticket\n    action: jira.create_issue\n    with: {project: SEC, summary: '{{ alert.rule_title }}', description: 'Host {{ alert.host }}', labels: [mcpsec]}\n  - id: move\n    action: jira.transition\n    with: {issue: '{{ steps.ticket.output.key }}', transition: 31}\n  - id: note\n    action: jira.comment\n    with: {issue: '{{ steps.ticket.output.key }}', body: contained}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let reqs = m.take();
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bot@acme.example:T0K")
    );
    assert!(
        reqs.iter()
            .all(|r| r.header("authorization") == Some(basic.as_str()))
    );
    let c = reqs[0].json();
    assert_eq!(reqs[0].path, "/rest/api/3/issue");
    assert_eq!(c["fields"]["project"]["key"], "SEC");
    assert_eq!(c["fields"]["issuetype"]["name"], "Task");
    assert_eq!(c["fields"]["description"]["type"], "doc");
    assert_eq!(
        c["fields"]["description"]["content"][0]["content"][0]["text"],
        "Host web-1"
    );
    assert!(
        c["fields"]["labels"][0]
            .as_str()
            .unwrap()
            .starts_with("mcpsec-")
    );
    assert_eq!(c["fields"]["labels"][1], "mcpsec");
    assert_eq!(reqs[1].path, "/rest/api/3/issue/SEC-7/transitions");
    assert_eq!(reqs[1].json(), json!({"transition": {"id": "31"}}));
    assert_eq!(reqs[2].path, "/rest/api/3/issue/SEC-7/comment");
    assert_eq!(reqs[2].json()["body"]["type"], "doc");
    // v2 with a bearer token: plain-text description.
    let services = Services {
        jira_url: Some(m.url.clone()),
        jira_api_version: 2,
        ..Services::default()
    };
    let (_st, e) = engine(services, s);
    let (status, _) = run(&e, "id: j\nname: j\nsteps:\n  - id: t\n    action: jira.create_issue\n    with: {project: SEC, summary: s, description: d}\n").await;
    assert_eq!(status, "succeeded");
    let r = &m.take()[0];
    assert_eq!(r.path, "/rest/api/2/issue");
    assert_eq!(r.header("authorization"), Some("Bearer T0K"));
    assert_eq!(r.json()["fields"]["description"], "d");
}

#[tokio::test]
async fn servicenow_incident() {
    let m = mock(|_| {
        (
            201,
            r#"{"result":{"sys_id":"abc","number":"INC0010001"}}"#.into(),
        )
    })
    .await;
    let services = Services {
        servicenow_url: Some(m.url.clone()),
        servicenow_user: Some("svc".into()),
        ..Services::default()
    };
    let (_d, s) = secrets(&[("servicenow_password", "pw")]);
    let (_st, e) = engine(services, s);
    let yaml = "id: n\nname: n\nsteps:\n  - id: inc\n    action: servicenow.incident\n    with: {short_description: '{{ alert.rule_title }}', urgency: 1, impact: 2}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded");
    let r = &m.take()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/now/table/incident")
    );
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("svc:pw")
    );
    assert_eq!(r.header("authorization"), Some(basic.as_str()));
    assert_eq!(r.header("accept"), Some("application/json"));
    let b = r.json();
    assert_eq!(b["short_description"], "Mimikatz");
    assert_eq!(b["urgency"], "1");
    assert!(b["correlation_id"].as_str().unwrap().ends_with("/inc/0"));
    assert_eq!(steps[0].output.as_ref().unwrap()["number"], "INC0010001");
}

#[tokio::test]
async fn edr_isolation_and_idp_disable_use_the_url_templates() {
    let m = mock(|_| (200, r#"{"state":"isolating"}"#.into())).await;
    let services = Services {
        edr_isolate_url: Some(format!("{}/hosts/{{{{ host }}}}/isolate", m.url)),
        idp_disable_url: Some(format!("{}/users/{{{{ user }}}}/disable", m.url)),
        ..Services::default()
    };
    let (_d, s) = secrets(&[("edr_token", "E"), ("idp_token", "I")]);
    let (_st, e) = engine(services, s);
    let yaml = "id: c\nname: c\nsteps:\n  - id: iso\n    action: edr.isolate_host\n    with: {host: '{{ alert.host }}'}\n  - id: dis\n    action: idp.disable_user\n    with: {user: 'bob smith/x'}\n";
    assert_eq!(run(&e, yaml).await.0, "succeeded");
    let reqs = m.take();
    assert_eq!(reqs[0].path, "/hosts/web-1/isolate");
    assert_eq!(reqs[0].header("authorization"), Some("Bearer E"));
    assert_eq!(reqs[0].json()["alert_id"], "01ALERT");
    assert_eq!(reqs[1].path, "/users/bob%20smith%2Fx/disable");
    assert_eq!(reqs[1].header("authorization"), Some("Bearer I"));
}

#[tokio::test]
async fn vault_kv2_secrets_are_read_with_the_token() {
    let m = mock(|r| {
        if r.path == "/v1/secret/data/soc/slack" && r.header("x-vault-token") == Some("hvs.T") {
            (200, json!({"request_id": "x", "data": {"data": {"token": "xoxb-from-vault"}, "metadata": {"version": 3}}}).to_string())
        } else {
            (403, r#"{"errors":["permission denied"]}"#.into())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("vt");
    std::fs::write(&tok, "hvs.T\n").unwrap();
    let vault = mcpsec_respond::VaultConfig {
        address: m.url.clone(),
        token: format!("file:{}", tok.display()),
        namespace: None,
    };
    let map = std::collections::BTreeMap::from([
        (
            "slack_token".to_string(),
            "vault:secret/soc/slack#token".to_string(),
        ),
        (
            "other".to_string(),
            "vault:secret/soc/nope#token".to_string(),
        ),
    ]);
    let s = mcpsec_respond::secrets::SecretStore::new(&map, Some(vault)).unwrap();
    assert_eq!(s.get("slack_token").await.unwrap(), "xoxb-from-vault");
    let e = s.get("other").await.unwrap_err().to_string();
    assert!(e.contains("403") && !e.contains("hvs.T"), "{e}");
    let reqs = m.take();
    assert_eq!(reqs[0].method, "GET");
}

#[tokio::test]
async fn block_ip_feeds_nft_rules_to_the_command_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.nft");
    // `tee FILE` stands in for `nft -f -`: it receives the rules on stdin as argv, no shell.
    let services = Services {
        block_command: vec!["tee".into(), out.display().to_string()],
        ..Services::default()
    };
    let (_d, s) = secrets(&[]);
    let (_st, e) = engine(services, s);
    let yaml = "id: b\nname: b\nsteps:\n  - id: block\n    action: block.ip\n    with: {address: '{{ alert.events[0].src_ip }}', duration: 1h}\n  - id: dry\n    action: block.domain\n    with: {domain: evil.example, addresses: ['198.51.100.9'], dry_run: true}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let rules = std::fs::read_to_string(&out).unwrap();
    assert!(
        rules.contains("add element inet mcpsec blocked_v4 { 203.0.113.7 timeout 1h"),
        "{rules}"
    );
    let dry = steps
        .iter()
        .find(|s| s.step_id == "dry")
        .unwrap()
        .output
        .clone()
        .unwrap();
    assert_eq!(dry["applied"], false);
    assert!(dry["rules"].as_str().unwrap().contains("198.51.100.9"));
    // Hostile input never reaches the command.
    let (status, steps) = run(&e, "id: b\nname: b\nsteps:\n  - id: block\n    action: block.ip\n    with: {address: '{{ alert.events[0].src_ip }}; nft flush ruleset'}\n").await;
    assert_eq!(status, "failed");
    assert!(steps[0].error.as_ref().unwrap().contains("not an IP"));
}

#[tokio::test]
async fn alert_update_changes_status_and_records_the_note() {
    use mcpsec_store::AlertStore;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let a: mcpsec_store::Alert = serde_json::from_value(json!({
        "id": "01ALERT", "tenant": "acme", "kind": "rule", "rule_id": "r1", "rule_title": "Mimikatz",
        "rule_version": 0, "level": "critical", "tags": [], "techniques": [], "tactics": [], "host": "web-1",
        "event_ids": [], "events": [], "event_count": 1, "group": null,
        "event_time": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "seq": 1,
        "status": "open", "status_by": null, "status_at": null})).unwrap();
    store
        .commit_detections(
            "t",
            &[a],
            &mcpsec_store::DetectionOffset {
                seq: 1,
                state: None,
            },
        )
        .unwrap();
    let yaml = "id: u\nname: u\nsteps:\n  - id: ack\n    action: alert.update\n    with: {status: acknowledged, note: 'paged on-call'}\n";
    assert_eq!(run(&e, yaml).await.0, "succeeded");
    let t = mcpsec_core::TenantId::new("acme").unwrap();
    let h = store.alert_history(&t, "01ALERT").unwrap();
    assert_eq!(h.last().unwrap().comment.as_deref(), Some("paged on-call"));
    assert_eq!(h.last().unwrap().actor, "playbook:u");
    assert_eq!(
        store.get_alert(&t, "01ALERT").unwrap().unwrap().status,
        mcpsec_store::AlertStatus::Acknowledged
    );
    let _ = store.list_playbooks(&t).unwrap();
}

/// A minimal SMTP server: EHLO, MAIL, RCPT, DATA, QUIT; returns the envelope and data.
async fn smtp_server() -> (
    u16,
    tokio::sync::oneshot::Receiver<(String, Vec<String>, String)>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let (mut from, mut to, mut data) = (String::new(), Vec::new(), String::new());
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            let up = line.to_ascii_uppercase();
            if up.starts_with("EHLO") || up.starts_with("HELO") {
                w.write_all(b"250-test\r\n250 8BITMIME\r\n").await.unwrap();
            } else if up.starts_with("MAIL FROM:") {
                from = line[10..].trim().to_owned();
                w.write_all(b"250 ok\r\n").await.unwrap();
            } else if up.starts_with("RCPT TO:") {
                to.push(line[8..].trim().to_owned());
                w.write_all(b"250 ok\r\n").await.unwrap();
            } else if up.starts_with("DATA") {
                w.write_all(b"354 go\r\n").await.unwrap();
                loop {
                    let mut l = String::new();
                    r.read_line(&mut l).await.unwrap();
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                w.write_all(b"250 queued as 42\r\n").await.unwrap();
            } else if up.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").await.unwrap();
                break;
            } else {
                w.write_all(b"502 no\r\n").await.unwrap();
            }
        }
        let _ = tx.send((from, to, data));
    });
    (port, rx)
}

#[tokio::test]
async fn email_goes_over_smtp() {
    let (port, rx) = smtp_server().await;
    let services = Services {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: port,
        smtp_from: "soc@acme.example".into(),
        ..Services::default()
    };
    let (_d, s) = secrets(&[]);
    let (_st, e) = engine(services, s);
    let yaml = "id: m\nname: m\nsteps:\n  - id: mail\n    action: email.send\n    with: {to: [oncall@acme.example, boss@acme.example], subject: 'Alert {{ alert.rule_title }}', body: 'Host {{ alert.host }} needs a look.'}\n";
    let (status, steps) = run(&e, yaml).await;
    assert_eq!(status, "succeeded", "{steps:?}");
    let (from, to, data) = rx.await.unwrap();
    assert_eq!(from, "<soc@acme.example>");
    assert_eq!(to, vec!["<oncall@acme.example>", "<boss@acme.example>"]);
    assert!(data.contains("Subject: Alert Mimikatz"), "{data}");
    assert!(data.contains("Host web-1 needs a look."), "{data}");
    assert!(data.contains("Message-ID: <"), "{data}");
    assert!(
        steps[0].output.as_ref().unwrap()["reply"]
            .as_str()
            .unwrap()
            .starts_with("250")
    );
}
