//! Schedule and risk triggers: cron in a time zone without a double fire after a
//! restart, and risk alerts starting the playbooks whose `risk` trigger they match.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, TimeZone as _, Utc};
use common::*;
use mcpsec_core::TenantId;
use mcpsec_respond::config::Services;
use mcpsec_respond::service::{FilePlaybook, Responder};
use mcpsec_respond::{Engine, Registry, parse_playbook};
use mcpsec_store::{Alert, AlertKind, AlertStatus, StateStore};
use serde_json::json;
use std::sync::Arc;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, h, m, s).unwrap()
}

fn file(yaml: &str) -> FilePlaybook {
    FilePlaybook {
        playbook: parse_playbook(yaml, &Registry::builtin()).unwrap(),
        yaml: yaml.into(),
        path: "test.yml".into(),
    }
}

fn responder(store: &Arc<dyn StateStore>, files: Vec<FilePlaybook>) -> Arc<Responder> {
    let (_d, s) = secrets(&[]);
    let fx = mcpsec_respond::live::LiveEffects::new(Services::default(), s, Some(store.clone()))
        .unwrap();
    let engine = Engine::new(store.clone(), Registry::builtin(), Arc::new(fx));
    Responder::new(Arc::new(engine), files)
}

async fn finished(store: &Arc<dyn StateStore>, run: &str) -> String {
    for _ in 0..400 {
        let st = store.get_run(None, run).unwrap().unwrap().status;
        if st != "running" {
            return st;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    "running".into()
}

#[tokio::test]
async fn schedules_fire_once_per_due_time_in_their_zone_even_across_a_restart() {
    let m = mock(|_| (200, "{}".into())).await;
    let store: Arc<dyn StateStore> = Arc::new(mcpsec_store::SqliteState::in_memory().unwrap());
    // 09:05 in New York (UTC-5 in January) is 14:05 UTC.
    let yaml = format!(
        "id: nightly\nname: nightly\ntriggers:\n  - schedule: {{cron: '5 9 * * *', timezone: America/New_York, tenants: [acme]}}\nsteps:\n  - id: tell\n    action: http.request\n    with: {{url: '{}/tick', body: {{due: '{{{{ input.scheduled_for }}}}', kind: '{{{{ trigger.kind }}}}'}}}}\n",
        m.url
    );
    let r = responder(&store, vec![file(&yaml)]);
    assert!(
        r.fire_schedules(at(10, 0, 0)).unwrap().is_empty(),
        "first seen: waits"
    );
    assert!(r.fire_schedules(at(14, 4, 59)).unwrap().is_empty());
    let runs = r.fire_schedules(at(14, 5, 0)).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].tenant.as_str(), "acme");
    assert_eq!(runs[0].trigger, "schedule");
    assert_eq!(finished(&store, &runs[0].id).await, "succeeded");
    let sent = m.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].json(),
        json!({"due": "2026-01-05T14:05:00+00:00", "kind": "schedule"})
    );
    assert!(
        r.fire_schedules(at(14, 5, 30)).unwrap().is_empty(),
        "no double fire"
    );
    // A restart: a new responder over the same store fires nothing more for 14:05.
    let again = responder(&store, vec![file(&yaml)]);
    assert!(again.fire_schedules(at(14, 6, 0)).unwrap().is_empty());
    // Down for three days: one catch-up run, not three.
    let later = Utc.with_ymd_and_hms(2026, 1, 8, 15, 0, 0).unwrap();
    assert_eq!(again.fire_schedules(later).unwrap().len(), 1);
    assert!(again.fire_schedules(later).unwrap().is_empty());
}

#[tokio::test]
async fn api_schedules_run_for_their_tenant_only_while_enabled() {
    let store: Arc<dyn StateStore> = Arc::new(mcpsec_store::SqliteState::in_memory().unwrap());
    let beta = TenantId::new("beta").unwrap();
    let yaml = "id: hourly\nname: hourly\ntriggers:\n  - schedule: {cron: '0 * * * *'}\nsteps:\n  - id: s\n    action: noop\n";
    store
        .put_playbook(&beta, "hourly", "hourly", yaml, "k", Utc::now())
        .unwrap();
    let other = "id: other\nname: other\ntriggers:\n  - schedule: {cron: '0 * * * *', tenants: [gamma]}\nsteps:\n  - id: s\n    action: noop\n";
    store
        .put_playbook(&beta, "other", "other", other, "k", Utc::now())
        .unwrap();
    let r = responder(&store, Vec::new());
    assert!(r.fire_schedules(at(10, 30, 0)).unwrap().is_empty());
    let runs = r.fire_schedules(at(11, 0, 0)).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].tenant.as_str(), runs[0].playbook_id.as_str()),
        ("beta", "hourly")
    );
    store
        .set_playbook_enabled(&beta, "hourly", false, "k", Utc::now())
        .unwrap();
    assert!(
        r.fire_schedules(at(12, 0, 0)).unwrap().is_empty(),
        "disabled"
    );
}

#[test]
fn bad_schedules_and_risk_triggers_are_refused() {
    let reg = Registry::builtin();
    for (trigger, want) in [
        (
            "schedule: {cron: '0 8 * * *', timezone: Mars/Base}",
            "unknown time zone",
        ),
        ("schedule: {cron: 'every day'}", "invalid cron"),
        (
            "schedule: {cron: '0 8 * * *', tenants: ['../x']}",
            "not a valid tenant",
        ),
        ("schedule: {cron: '0 8 * * *', when: now}", "unknown field"),
        ("risk: {min_score: 101}", "min_score"),
        ("risk: {min_score: 300}", "min_score"),
        ("risk: {kinds: [fall]}", "kind 'fall'"),
        ("risky", "unknown trigger"),
    ] {
        let yaml = format!(
            "id: x\nname: x\ntriggers:\n  - {trigger}\nsteps:\n  - id: s\n    action: noop\n"
        );
        let err = parse_playbook(&yaml, &reg).unwrap_err().to_string();
        assert!(err.contains(want), "{trigger}: {err}");
    }
}

fn risk_alert(tenant: &str, rule: &str, score: u64) -> Alert {
    let now = Utc::now();
    Alert {
        id: ulid::Ulid::new().to_string(),
        tenant: TenantId::new(tenant).unwrap(),
        kind: AlertKind::Rule,
        rule_id: rule.into(),
        rule_title: format!("Tenant risk reached {score}"),
        rule_version: 0,
        level: "critical".into(),
        tags: vec!["mcpsec.risk".into()],
        techniques: Vec::new(),
        tactics: Vec::new(),
        host: None,
        event_ids: Vec::new(),
        events: vec![json!({"tenant_risk": {"score": score}, "previous_score": 40})],
        event_count: 1,
        group: None,
        event_time: now,
        created_at: now,
        seq: 0,
        status: AlertStatus::Open,
        status_by: None,
        status_at: None,
    }
}

#[tokio::test]
async fn risk_alerts_start_playbooks_with_a_matching_risk_trigger() {
    let m = mock(|_| (200, "{}".into())).await;
    let store: Arc<dyn StateStore> = Arc::new(mcpsec_store::SqliteState::in_memory().unwrap());
    let yaml = format!(
        "id: risky\nname: risky\ntriggers:\n  - risk: {{min_score: 80, kinds: [threshold]}}\nsteps:\n  - id: page\n    action: http.request\n    with: {{url: '{}/page', body: {{score: '{{{{ alert.events[0].tenant_risk.score }}}}'}}}}\n",
        m.url
    );
    let r = responder(&store, vec![file(&yaml)]);
    let runs = |r: &Arc<Responder>, a: &Alert| {
        let r = r.clone();
        let a = a.clone();
        async move {
            tokio::task::spawn_blocking(move || r.on_alert(&a))
                .await
                .unwrap();
        }
    };
    runs(&r, &risk_alert("acme", "mcpsec-risk-threshold", 70)).await;
    runs(&r, &risk_alert("acme", "mcpsec-risk-rise", 90)).await;
    runs(&r, &risk_alert("acme", "some-rule", 99)).await;
    let acme = TenantId::new("acme").unwrap();
    let none = store
        .list_runs(
            &acme,
            &mcpsec_store::RunFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    let hit = risk_alert("acme", "mcpsec-risk-threshold", 82);
    runs(&r, &hit).await;
    let list = store
        .list_runs(
            &acme,
            &mcpsec_store::RunFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].alert_id.as_deref(), Some(hit.id.as_str()));
    assert_eq!(finished(&store, &list[0].id).await, "succeeded");
    assert_eq!(m.take()[0].json(), json!({"score": 82}));
}
