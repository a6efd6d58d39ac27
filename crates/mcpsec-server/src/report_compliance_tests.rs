//! Tests of the compliance report's evidence: measured per tenant, an empty tenant
//! lacking everything, the framework parameter.

use super::*;
use mcpsec_store::{ApiKey, ApprovalRecord, AuditEvent, Auditor, RunRecord, SqliteState};
use std::sync::Arc;

fn key(tenant: &TenantId, id: &str, role: &str, revoked: bool) -> ApiKey {
    ApiKey {
        id: id.into(),
        tenant: tenant.clone(),
        name: id.into(),
        role: role.into(),
        key_hash: format!("hash-{id}"),
        created_at: Utc::now(),
        expires_at: None,
        revoked_at: revoked.then(Utc::now),
        last_used_at: None,
        scopes: Vec::new(),
    }
}

fn run(tenant: &TenantId, id: &str, at: DateTime<Utc>) -> RunRecord {
    RunRecord {
        id: id.into(),
        tenant: tenant.clone(),
        playbook_id: "contain".into(),
        playbook_version: 1,
        playbook_yaml: String::new(),
        alert_id: None,
        trigger: "manual".into(),
        actor: "test".into(),
        status: "succeeded".into(),
        context: serde_json::json!({}),
        error: None,
        created_at: at,
        updated_at: at,
        finished_at: Some(at),
    }
}

fn sources<'a>(state: &'a dyn StateStore, compliance: ComplianceSources<'a>) -> ReportSources<'a> {
    ReportSources {
        index: None,
        state,
        rules: None,
        progress: None,
        project: None,
        supply: Default::default(),
        risk_window_days: 7,
        compliance,
    }
}

fn status(c: &Compliance, kind: &str) -> (EvidenceStatus, String) {
    let e = c.evidence.iter().find(|e| e.kind == kind).expect("kind");
    (e.status, e.figure.clone())
}

#[test]
fn evidence_is_measured_per_tenant_and_an_empty_tenant_lacks_everything() {
    let dir = tempfile::tempdir().expect("tmp");
    let state: Arc<dyn StateStore> = Arc::new(SqliteState::in_memory().expect("db"));
    let a = TenantId::new("a").expect("a");
    let b = TenantId::new("b").expect("b");
    let empty = TenantId::new("empty").expect("empty");
    let now = Utc::now();
    for t in [&a, &b, &empty] {
        state.create_tenant(t).expect("tenant");
    }
    let auditor = Auditor::new(state.clone(), &dir.path().join("audit.key")).expect("audit");
    for (t, n) in [(&a, 3), (&b, 70)] {
        for i in 0..n {
            auditor
                .record(&AuditEvent {
                    tenant: t.to_string(),
                    actor: "k1".into(),
                    action: "rules.created".into(),
                    target: format!("r{i}"),
                    outcome: "success".into(),
                    details: serde_json::json!({}),
                })
                .expect("audit");
        }
    }
    state
        .put_api_key(&key(&a, "ka1", "admin", false))
        .expect("key");
    state
        .put_api_key(&key(&a, "ka2", "auditor", false))
        .expect("key");
    state
        .put_api_key(&key(&a, "ka3", "analyst", true))
        .expect("key");
    state
        .put_api_key(&key(&b, "kb1", "admin", false))
        .expect("key");
    state
        .put_playbook(&a, "contain", "Contain", "id: contain", "t", now)
        .expect("playbook");
    state
        .create_run(&run(&a, "r1", now - Duration::hours(2)))
        .expect("run");
    state
        .put_approval(&ApprovalRecord {
            run_id: "r1".into(),
            step_id: "isolate".into(),
            tenant: a.clone(),
            playbook_id: "contain".into(),
            alert_id: None,
            role: None,
            approvers: vec![],
            min: 1,
            deadline: now + Duration::hours(1),
            status: "approved".into(),
            escalated: false,
            created_at: now - Duration::hours(2),
            decided_at: Some(now - Duration::hours(1)),
        })
        .expect("approval");
    let facts = ComplianceSources {
        framework: "all",
        audit: Some(&auditor),
        oidc: Some(true),
        tls: Some(false),
    };
    let src = sources(state.as_ref(), facts);
    // The period ends now, after everything above was recorded.
    let now = Utc::now();
    let span = period(None, None, now);
    let ca = compliance(&src, &a, span, now).expect("a");
    assert_eq!(status(&ca, "audit_log").0, EvidenceStatus::Present);
    assert!(
        status(&ca, "audit_log").1.starts_with("3 entries"),
        "only a's entries"
    );
    let (s, f) = status(&ca, "audit_integrity");
    assert_eq!(
        s,
        EvidenceStatus::Present,
        "{f}: 73 entries, one checkpoint at 64"
    );
    assert!(!f.contains("73"), "no figure of the whole chain: {f}");
    let (s, f) = status(&ca, "access_control");
    assert_eq!(s, EvidenceStatus::Present, "{f}");
    assert_eq!(
        f,
        "2 usable keys (admin 1, auditor 1), 1 revoked or expired"
    );
    assert_eq!(status(&ca, "response_playbooks").0, EvidenceStatus::Present);
    assert_eq!(status(&ca, "approvals").0, EvidenceStatus::Present);
    assert_eq!(status(&ca, "sso").0, EvidenceStatus::Present);
    assert_eq!(status(&ca, "tls").0, EvidenceStatus::Missing);
    assert_eq!(status(&ca, "alert_triage").0, EvidenceStatus::Missing);
    assert_eq!(ca.frameworks.len(), 4);

    let cb = compliance(&src, &b, span, now).expect("b");
    assert!(status(&cb, "audit_log").1.starts_with("70 entries"));
    assert_eq!(
        status(&cb, "access_control").0,
        EvidenceStatus::Partial,
        "admin keys only"
    );
    assert_eq!(
        status(&cb, "response_playbooks").0,
        EvidenceStatus::Missing,
        "a's runs unseen"
    );
    assert_eq!(status(&cb, "approvals").0, EvidenceStatus::Missing);

    let ce = compliance(&src, &empty, span, now).expect("empty");
    for e in &ce.evidence {
        if !matches!(e.kind.as_str(), "audit_integrity" | "sso") {
            assert_eq!(
                e.status,
                EvidenceStatus::Missing,
                "{}: {}",
                e.kind,
                e.figure
            );
        }
    }
    // An older period holds none of a's activity.
    let old = (now - Duration::days(90), now - Duration::days(60));
    let co = compliance(&src, &a, old, now).expect("old");
    assert_eq!(status(&co, "audit_log").0, EvidenceStatus::Partial);
    assert_eq!(
        status(&co, "response_playbooks").0,
        EvidenceStatus::Partial,
        "enabled, no run"
    );

    let one = sources(
        state.as_ref(),
        ComplianceSources {
            framework: "cis8",
            ..facts
        },
    );
    let c = compliance(&one, &a, span, now).expect("cis8");
    assert_eq!(c.frameworks.len(), 1);
    assert_eq!(c.frameworks[0].id, "cis8");
    let unknown = sources(
        state.as_ref(),
        ComplianceSources {
            framework: "pci",
            ..facts
        },
    );
    assert!(compliance(&unknown, &a, span, now).is_err());
    let nothing = sources(state.as_ref(), ComplianceSources::default());
    let c = compliance(&nothing, &a, span, now).expect("default");
    assert_eq!(status(&c, "audit_integrity").0, EvidenceStatus::Missing);
    assert_eq!(status(&c, "tls").1, "not known to this entry point");
}

#[test]
fn framework_parameter_belongs_to_the_compliance_report() {
    assert_eq!(check_framework("compliance", None).expect("all"), "all");
    assert_eq!(
        check_framework("compliance", Some("ISO27001")).expect("iso"),
        "iso27001"
    );
    let e = check_framework("compliance", Some("hipaa")).expect_err("unknown");
    assert!(
        e.message.contains("soc2, iso27001, nist80053, cis8"),
        "{}",
        e.message
    );
    let e = check_framework("triage", Some("soc2")).expect_err("other kind");
    assert!(e.message.contains("compliance report only"));
    assert_eq!(check_framework("triage", None).expect("fine"), "all");
}
