//! The engine: graph order, loops, conditions, retries, compensation, approvals,
//! durability across an interrupted drive, simulation.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcpsec_respond::config::Services;
use mcpsec_respond::{Decider, Engine, EngineError};
use mcpsec_store::{PlaybookStore, StepRunRecord};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn by_id(steps: &[StepRunRecord]) -> HashMap<String, StepRunRecord> {
    steps
        .iter()
        .filter(|s| s.item == -1)
        .map(|s| (s.step_id.clone(), s.clone()))
        .collect()
}

#[tokio::test]
async fn parallel_branches_foreach_and_conditions() {
    let m = mock(|_| (200, "{}".into())).await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = format!(
        r#"
id: graph
name: graph
steps:
  - id: first
    action: noop
    with: {{ host: "{{{{ alert.host }}}}" }}
  - id: side
    needs: []
    action: http.request
    with: {{ url: "{url}/side" }}
  - id: each
    needs: [first, side]
    foreach: alert.tags + ['extra']
    action: http.request
    with: {{ url: "{url}/tag/{{{{ index }}}}", body: {{ tag: "{{{{ item }}}}", host: "{{{{ steps.first.output.host }}}}" }} }}
  - id: never
    when: alert.level == 'low'
    action: http.request
    with: {{ url: "{url}/never" }}
  - id: after
    action: noop
    with: {{ n: "{{{{ steps.each.output | length }}}}" }}
"#,
        url = m.url
    );
    let id = start(&e, &yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "succeeded");
    let steps = store.step_runs(&id).unwrap();
    let s = by_id(&steps);
    assert_eq!(s["never"].status, "skipped");
    assert_eq!(s["after"].status, "succeeded");
    assert_eq!(s["after"].output.as_ref().unwrap()["n"], 2);
    let items: Vec<_> = steps
        .iter()
        .filter(|r| r.step_id == "each" && r.item >= 0)
        .collect();
    assert_eq!(items.len(), 2);
    let mut paths: Vec<String> = m.take().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, vec!["/side", "/tag/0", "/tag/1"]);
    let run = store.get_run(None, &id).unwrap().unwrap();
    assert!(run.finished_at.is_some());
}

#[tokio::test]
async fn retries_back_off_with_one_idempotency_key_then_compensate() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let m = mock(move |r| {
        if r.path == "/flaky" {
            let n = c.fetch_add(1, Ordering::SeqCst);
            if n < 2 {
                (503, "busy".into())
            } else {
                (200, "{}".into())
            }
        } else if r.path == "/broken" {
            (400, r#"{"error":"bad"}"#.into())
        } else {
            (200, "{}".into())
        }
    })
    .await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = format!(
        r#"
id: r
name: r
steps:
  - id: flaky
    action: http.request
    with: {{ url: "{url}/flaky" }}
    retry: {{ attempts: 4, backoff: 10ms, max_backoff: 20ms }}
  - id: broken
    action: http.request
    with: {{ url: "{url}/broken" }}
    retry: {{ attempts: 5, backoff: 10ms }}
    on_failure:
      - id: undo
        action: http.request
        with: {{ url: "{url}/undo", body: {{ why: "{{{{ error.message }}}}", step: "{{{{ error.step }}}}" }} }}
  - id: later
    action: noop
"#,
        url = m.url
    );
    let id = start(&e, &yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "failed");
    let reqs = m.take();
    let flaky: Vec<_> = reqs.iter().filter(|r| r.path == "/flaky").collect();
    assert_eq!(flaky.len(), 3);
    let keys: std::collections::HashSet<_> = flaky
        .iter()
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    assert_eq!(keys.len(), 1, "one key for every attempt");
    // A 400 is not retried.
    assert_eq!(reqs.iter().filter(|r| r.path == "/broken").count(), 1);
    let undo = reqs.iter().find(|r| r.path == "/undo").unwrap().json();
    assert_eq!(undo["step"], "broken");
    assert!(undo["why"].as_str().unwrap().contains("400"));
    let s = by_id(&store.step_runs(&id).unwrap());
    assert_eq!(s["flaky"].attempt, 3);
    assert_eq!(s["broken"].status, "failed");
    assert_eq!(s["broken/undo"].status, "succeeded");
    assert_eq!(s["later"].status, "cancelled");
    let run = store.get_run(None, &id).unwrap().unwrap();
    assert!(run.error.unwrap().starts_with("step broken"));
}

#[tokio::test]
async fn timeouts_fail_the_attempt() {
    let m = mock(|_| {
        std::thread::sleep(std::time::Duration::from_millis(400));
        (200, "{}".into())
    })
    .await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = format!(
        "id: t\nname: t\nsteps:\n  - id: slow\n    action: http.request\n    timeout: 50ms\n    with: {{url: '{}/slow'}}\n",
        m.url
    );
    let id = start(&e, &yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "failed");
    let s = by_id(&store.step_runs(&id).unwrap());
    assert!(
        s["slow"].error.as_ref().unwrap().contains("timed out"),
        "{:?}",
        s["slow"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_drive_resumes_without_repeating_finished_steps() {
    let slow_calls = Arc::new(AtomicUsize::new(0));
    let sc = slow_calls.clone();
    let m = mock(move |r| {
        if r.path == "/slow" && sc.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(4000));
        }
        (200, "{}".into())
    })
    .await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s.clone());
    let secrets_again = s.clone();
    let yaml = format!(
        "id: d\nname: d\nsteps:\n  - id: one\n    action: http.request\n    with: {{url: '{u}/one'}}\n  - id: slow\n    action: http.request\n    with: {{url: '{u}/slow'}}\n  - id: three\n    action: http.request\n    with: {{url: '{u}/three'}}\n",
        u = m.url
    );
    let id = start(&e, &yaml, alert());
    // The "crash": the drive is dropped while step 'slow' waits for its reply (the
    // engine never holds the thread, so the timeout fires on time).
    let r = tokio::time::timeout(std::time::Duration::from_millis(2000), e.drive(&id)).await;
    assert!(r.is_err(), "the drive was cut off");
    let before = by_id(&store.step_runs(&id).unwrap());
    assert_eq!(before["one"].status, "succeeded");
    assert_eq!(before["slow"].status, "running", "cut off mid-call");
    assert!(!before.contains_key("three"), "{before:?}");
    // A new engine over the same store (as after a restart) finishes the run.
    let store_dyn: Arc<dyn mcpsec_store::StateStore> = store.clone();
    let fx = mcpsec_respond::live::LiveEffects::new(
        Services::default(),
        secrets_again,
        Some(store_dyn.clone()),
    )
    .unwrap();
    let e2 = Engine::new(store_dyn, mcpsec_respond::Registry::builtin(), Arc::new(fx));
    assert_eq!(e2.resume_all().await.unwrap(), 1);
    assert_eq!(
        store.get_run(None, &id).unwrap().unwrap().status,
        "succeeded"
    );
    let reqs = m.take();
    let keys = |p: &str| -> Vec<String> {
        reqs.iter()
            .filter(|r| r.path == p)
            .map(|r| r.header("idempotency-key").unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys("/one").len(), 1, "a finished step is not repeated");
    assert_eq!(keys("/three").len(), 1);
    let slow = keys("/slow");
    assert_eq!(slow.len(), 2, "the cut-off step is called again");
    assert_eq!(slow[0], slow[1], "with the same idempotency key");
}

fn who(actor: &str, role: &str) -> Decider {
    Decider {
        actor: actor.into(),
        role: role.into(),
        any_role: false,
    }
}

#[tokio::test]
async fn n_of_m_approval() {
    let m = mock(|_| (200, "{}".into())).await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = format!(
        "id: a\nname: a\nsteps:\n  - id: contain\n    action: http.request\n    with: {{url: '{}/go'}}\n    approval: {{approvers: [alice, bob, carol], min: 2, deadline: 1h}}\n  - id: side\n    needs: []\n    action: noop\n",
        m.url
    );
    let id = start(&e, &yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "waiting");
    let t = mcpsec_core::TenantId::new("acme").unwrap();
    assert_eq!(store.pending_approvals(&t).unwrap().len(), 1);
    assert_eq!(
        by_id(&store.step_runs(&id).unwrap())["side"].status,
        "succeeded",
        "other branches go on"
    );
    assert!(m.take().is_empty());
    assert!(matches!(
        e.decide(
            Some(&t),
            &id,
            "contain",
            &who("mallory", "admin"),
            true,
            None
        ),
        Err(EngineError::Forbidden(_))
    ));
    let other = mcpsec_core::TenantId::new("other").unwrap();
    assert!(matches!(
        e.decide(Some(&other), &id, "contain", &who("alice", "x"), true, None),
        Err(EngineError::NotFound(_))
    ));
    assert_eq!(
        e.decide(Some(&t), &id, "contain", &who("alice", "x"), true, None)
            .unwrap()
            .status,
        "pending"
    );
    assert!(matches!(
        e.decide(Some(&t), &id, "contain", &who("alice", "x"), true, None),
        Err(EngineError::Conflict(_))
    ));
    assert_eq!(e.drive(&id).await.unwrap(), "waiting");
    assert_eq!(
        e.decide(
            Some(&t),
            &id,
            "contain",
            &who("bob", "x"),
            true,
            Some("ok".into())
        )
        .unwrap()
        .status,
        "approved"
    );
    assert_eq!(e.drive(&id).await.unwrap(), "succeeded");
    assert_eq!(m.take().len(), 1);
    let s = by_id(&store.step_runs(&id).unwrap());
    assert_eq!(s["contain"].actor, "approved by alice, bob");
    assert!(store.pending_approvals(&t).unwrap().is_empty());
}

#[tokio::test]
async fn rejection_runs_compensation_and_expiry_escalates_then_rejects() {
    let m = mock(|_| (200, "{}".into())).await;
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let t = mcpsec_core::TenantId::new("acme").unwrap();
    let yaml = format!(
        "id: a\nname: a\nsteps:\n  - id: block\n    action: http.request\n    with: {{url: '{u}/block'}}\n    approval: {{role: responder, deadline: 1h}}\n    on_failure:\n      - id: tell\n        action: http.request\n        with: {{url: '{u}/told', body: '{{{{ error.message }}}}'}}\n",
        u = m.url
    );
    let id = start(&e, &yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "waiting");
    assert!(matches!(
        e.decide(Some(&t), &id, "block", &who("v", "viewer"), false, None),
        Err(EngineError::Forbidden(_))
    ));
    e.decide(
        Some(&t),
        &id,
        "block",
        &who("r1", "responder"),
        false,
        Some("too broad".into()),
    )
    .unwrap();
    assert_eq!(e.drive(&id).await.unwrap(), "failed");
    let reqs = m.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/told");
    assert!(
        reqs[0].body.contains("rejected by r1 (too broad)"),
        "{}",
        reqs[0].body
    );
    assert_eq!(
        by_id(&store.step_runs(&id).unwrap())["block"].status,
        "rejected"
    );

    let yaml = "id: x\nname: x\nsteps:\n  - id: gate\n    action: noop\n    approval: {role: responder, deadline: 30ms, on_expiry: escalate, escalate_to: lead}\n";
    let id = start(&e, yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "waiting");
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert_eq!(e.drive(&id).await.unwrap(), "waiting");
    let a = &store.approvals(&id).unwrap()[0];
    assert!(a.escalated);
    assert_eq!(a.role.as_deref(), Some("lead"));
    assert!(matches!(
        e.decide(Some(&t), &id, "gate", &who("r1", "responder"), true, None),
        Err(EngineError::Forbidden(_))
    ));
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert_eq!(e.drive(&id).await.unwrap(), "failed");
    assert_eq!(store.approvals(&id).unwrap()[0].status, "expired");
    assert!(matches!(
        e.decide(Some(&t), &id, "gate", &who("l", "lead"), true, None),
        Err(EngineError::Conflict(_))
    ));
}

#[tokio::test]
async fn hostile_templates_fail_the_step_not_the_process() {
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = "id: h\nname: h\nsteps:\n  - id: burn\n    action: noop\n    with: {x: '{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}'}\n";
    let id = start(&e, yaml, alert());
    assert_eq!(e.drive(&id).await.unwrap(), "failed");
    let s = by_id(&store.step_runs(&id).unwrap());
    assert!(
        s["burn"].error.as_ref().unwrap().contains("fuel"),
        "{:?}",
        s["burn"].error
    );
}

#[tokio::test]
async fn simulation_records_everything_and_sends_nothing() {
    let services = Services {
        slack_api: "https://slack.example/api".into(),
        block_command: vec!["/usr/sbin/nft".into(), "-f".into(), "-".into()],
        ..Services::default()
    };
    let yaml = "id: sim\nname: sim\nsteps:\n  - id: tell\n    action: slack.post\n    with: {channel: '#soc', text: '{{ alert.rule_title }}'}\n  - id: block\n    action: block.ip\n    with: {address: '{{ alert.events[0].src_ip }}'}\n    approval: {role: responder, deadline: 1h}\n";
    let sim = mcpsec_respond::simulate::simulate(yaml, alert(), services)
        .await
        .unwrap();
    assert_eq!(sim.status, "succeeded");
    let v = serde_json::to_value(&sim.effects).unwrap();
    assert_eq!(v[0]["step"], "tell");
    assert_eq!(v[0]["kind"], "http");
    assert_eq!(v[0]["url"], "https://slack.example/api/chat.postMessage");
    let auth = v[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "Authorization")
        .unwrap();
    assert_eq!(auth[1], "Bearer [redacted]");
    assert_eq!(v[1]["step"], "block");
    assert_eq!(v[1]["kind"], "command");
    assert_eq!(v[1]["argv"], json!(["/usr/sbin/nft", "-f", "-"]));
    assert!(v[1]["stdin"].as_str().unwrap().contains("203.0.113.7"));
}
