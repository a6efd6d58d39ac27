//! The consumer over a real event log and SQLite store.

use chrono::Utc;
use mcpsec_core::{Event, EventFormat, SourceInfo, TenantId};
use mcpsec_detect::{Catalog, CatalogOptions, Detector, DetectorOptions};
use mcpsec_sigma::FieldMapping;
use mcpsec_store::{
    AlertFilter, AlertStore, EventLog, FileLog, FileLogOptions, RuleStore, RuleWrite, SqliteState,
    StateStore,
};
use serde_json::json;
use std::sync::Arc;

const WHOAMI: &str = "title: Whoami run\nid: 11111111-0000-4000-8000-000000000001\nlevel: high\n\
tags: [attack.discovery, attack.t1033]\n\
logsource: {category: process_creation, product: windows}\n\
detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";

const NETUSER: &str = "title: Net user\nid: 22222222-0000-4000-8000-000000000002\nlevel: medium\n\
logsource: {category: process_creation, product: windows}\n\
detection:\n  sel:\n    CommandLine|contains: 'net user'\n  condition: sel\n";

fn event(tenant: &TenantId, image: &str, cmd: &str) -> Vec<u8> {
    let fields = json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
        "CommandLine": cmd,
        "Computer": "ws1.example"
    });
    let serde_json::Value::Object(m) = fields else {
        unreachable!()
    };
    let ev = Event::new(
        tenant.clone(),
        SourceInfo::new("test", ""),
        EventFormat::Json,
        m,
    );
    serde_json::to_vec(&ev).expect("encode")
}

struct Env {
    _dir: tempfile::TempDir,
    log: Arc<dyn EventLog>,
    state: Arc<SqliteState>,
}

fn env() -> Env {
    let dir = tempfile::tempdir().expect("tmp");
    let log: Arc<dyn EventLog> =
        Arc::new(FileLog::open(&dir.path().join("log"), FileLogOptions::default()).expect("log"));
    let state = Arc::new(SqliteState::open(&dir.path().join("state.db")).expect("db"));
    Env {
        _dir: dir,
        log,
        state,
    }
}

fn detector(e: &Env) -> Detector {
    let store: Arc<dyn StateStore> = e.state.clone();
    let catalog = Arc::new(Catalog::new(
        store.clone(),
        CatalogOptions {
            embedded: vec![("whoami.yml".into(), WHOAMI.into())],
            mapping: FieldMapping::builtin(),
            ..CatalogOptions::default()
        },
    ));
    Detector::new(e.log.clone(), store, catalog, DetectorOptions::default()).expect("detector")
}

fn all(state: &SqliteState, tenant: &TenantId) -> Vec<mcpsec_store::Alert> {
    state
        .list_alerts(
            tenant,
            &AlertFilter {
                limit: 100,
                ..AlertFilter::default()
            },
        )
        .expect("list")
        .alerts
}

#[test]
fn alerts_are_written_once_across_restarts() {
    let e = env();
    let a = TenantId::new("acme").expect("tenant");
    let b = TenantId::new("beta").expect("tenant");
    let batch = [
        event(&a, "C:\\Windows\\System32\\whoami.exe", "whoami /all"),
        event(&a, "C:\\Windows\\notepad.exe", "notepad"),
        event(&b, "C:\\Windows\\System32\\WHOAMI.EXE", "whoami"),
    ];
    let refs: Vec<&[u8]> = batch.iter().map(|v| v.as_slice()).collect();
    e.log.append(&refs).expect("append");
    let d = detector(&e);
    let mut sub = d.subscribe();
    assert_eq!(d.catch_up().expect("catch up"), 3);
    let got = all(&e.state, &a);
    assert_eq!(got.len(), 1);
    let alert = &got[0];
    assert_eq!(alert.rule_title, "Whoami run");
    assert_eq!(alert.level, "high");
    assert_eq!(alert.techniques, ["T1033"]);
    assert_eq!(alert.host.as_deref(), Some("ws1.example"));
    assert_eq!(alert.events[0]["fields"]["CommandLine"], "whoami /all");
    assert_eq!(all(&e.state, &b).len(), 1, "each tenant sees its own alert");
    assert!(sub.try_recv().is_ok(), "subscribers hear about new alerts");
    drop(d);

    // A new consumer resumes after the stored offset: nothing is evaluated twice.
    let d = detector(&e);
    assert_eq!(d.offset(), 3);
    assert_eq!(d.catch_up().expect("again"), 0);
    e.log
        .append(&[event(&a, "C:\\x\\whoami.exe", "whoami").as_slice()])
        .expect("append");
    assert_eq!(d.catch_up().expect("more"), 1);
    assert_eq!(all(&e.state, &a).len(), 2);
}

#[test]
fn tenant_rules_deploy_without_restart_and_stay_private() {
    let e = env();
    let a = TenantId::new("acme").expect("tenant");
    let b = TenantId::new("beta").expect("tenant");
    let d = detector(&e);
    e.state
        .write_rule(
            &a,
            "created",
            &RuleWrite {
                id: "22222222-0000-4000-8000-000000000002",
                title: "Net user",
                level: Some("medium"),
                status: None,
                yaml: NETUSER,
                enabled: true,
                expected_version: None,
                actor: "alice",
                at: Utc::now(),
            },
        )
        .expect("write");
    e.state
        .set_rule_switch(
            &a,
            "11111111-0000-4000-8000-000000000001",
            false,
            "alice",
            Utc::now(),
        )
        .expect("switch");
    d.catalog().reload_tenant(&a).expect("reload");
    let batch = [
        event(&a, "C:\\w\\whoami.exe", "net user admin"),
        event(&b, "C:\\w\\whoami.exe", "net user admin"),
    ];
    let refs: Vec<&[u8]> = batch.iter().map(|v| v.as_slice()).collect();
    e.log.append(&refs).expect("append");
    d.catch_up().expect("catch up");
    let got_a: Vec<_> = all(&e.state, &a)
        .into_iter()
        .map(|x| x.rule_title)
        .collect();
    assert_eq!(
        got_a,
        ["Net user"],
        "acme switched whoami off and added net user"
    );
    let got_b: Vec<_> = all(&e.state, &b)
        .into_iter()
        .map(|x| x.rule_title)
        .collect();
    assert_eq!(
        got_b,
        ["Whoami run"],
        "beta keeps the file rule, never sees acme's"
    );
    let a_alert = &all(&e.state, &a)[0];
    assert_eq!(a_alert.rule_version, 1);
    assert!(
        d.stats()
            .get("acme", "22222222-0000-4000-8000-000000000002")
            .matches
            >= 1
    );
}

const BRUTE: &str = "title: Failed logon\nid: 33333333-0000-4000-8000-000000000003\nname: failed_logon\nlevel: low\n\
logsource: {product: test}\n\
detection:\n  sel:\n    action: logon_failed\n  condition: sel\n\
---\n\
title: Password guessing\nid: 44444444-0000-4000-8000-000000000004\nlevel: high\n\
tags: [attack.t1110]\n\
correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [src]\n  timespan: 5m\n  condition:\n    gte: 3\n";

fn logon(tenant: &TenantId, src: &str, second: u32) -> Vec<u8> {
    let serde_json::Value::Object(m) = json!({"action": "logon_failed", "src": src}) else {
        unreachable!()
    };
    let mut ev = Event::new(
        tenant.clone(),
        SourceInfo::new("test", ""),
        EventFormat::Json,
        m,
    );
    ev.time = chrono::DateTime::parse_from_rfc3339(&format!("2026-11-26T10:00:{second:02}Z"))
        .expect("time")
        .with_timezone(&Utc);
    serde_json::to_vec(&ev).expect("encode")
}

fn brute_detector(e: &Env) -> Detector {
    let store: Arc<dyn StateStore> = e.state.clone();
    let catalog = Arc::new(Catalog::new(
        store.clone(),
        CatalogOptions {
            embedded: vec![("brute.yml".into(), BRUTE.into())],
            mapping: FieldMapping::builtin(),
            ..CatalogOptions::default()
        },
    ));
    Detector::new(e.log.clone(), store, catalog, DetectorOptions::default()).expect("detector")
}

#[test]
fn correlation_windows_survive_a_restart() {
    let e = env();
    let a = TenantId::new("acme").expect("tenant");
    let b = TenantId::new("beta").expect("tenant");
    let first = [
        logon(&a, "10.0.0.9", 1),
        logon(&a, "10.0.0.9", 2),
        logon(&b, "10.0.0.9", 3),
    ];
    let refs: Vec<&[u8]> = first.iter().map(|v| v.as_slice()).collect();
    e.log.append(&refs).expect("append");
    let d = brute_detector(&e);
    d.catch_up().expect("catch up");
    assert!(
        all(&e.state, &a).is_empty(),
        "base rule has generate: false"
    );
    drop(d);

    // After a restart the two stored failures still count; beta's one does not.
    let d = brute_detector(&e);
    let more = [
        logon(&a, "10.0.0.9", 4),
        logon(&b, "10.0.0.9", 5),
        logon(&a, "10.0.0.7", 6),
    ];
    let refs: Vec<&[u8]> = more.iter().map(|v| v.as_slice()).collect();
    e.log.append(&refs).expect("append");
    d.catch_up().expect("catch up");
    let got = all(&e.state, &a);
    assert_eq!(got.len(), 1, "{got:?}");
    let alert = &got[0];
    assert_eq!(alert.kind, mcpsec_store::AlertKind::Correlation);
    assert_eq!(alert.rule_title, "Password guessing");
    assert_eq!(alert.event_count, 3);
    assert_eq!(alert.event_ids.len(), 3);
    assert_eq!(alert.techniques, ["T1110"]);
    let group = alert.group.as_ref().expect("group");
    assert_eq!(group["by"]["src"], "10.0.0.9");
    assert!(all(&e.state, &b).is_empty(), "beta has two failures only");
    assert!(
        d.stats()
            .get("acme", "33333333-0000-4000-8000-000000000003")
            .matches
            >= 2
    );
}
