//! The data of the `compliance` report: each evidence kind of
//! [`mcpsec_report::EVIDENCE_KINDS`] measured from the tenant's own data over the
//! period (default: the 30 days up to now), then mapped onto the controls of the chosen
//! frameworks by [`mcpsec_report::assess`].
//!
//! Every figure is the tenant's: its audit entries, events, deployed rules, alerts,
//! projects, playbooks, approvals, schedules and API keys. Two facts are the platform's
//! and hold for every tenant alike: whether the audit hash chain verifies (only a
//! yes/no is shown, never another tenant's entries or their count) and how the
//! server is configured (OIDC, TLS).

use crate::ApiError;
use crate::report_data::ReportSources;
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_report::{Compliance, Evidence, EvidenceStatus};
use mcpsec_store::{SearchRequest, SortOrder, StateStore, StoreError};
use std::collections::{BTreeMap, BTreeSet};

use EvidenceStatus::{Missing, Partial, Present};

/// Days a compliance report covers when no `from` is given.
pub const DEFAULT_DAYS: i64 = 30;
/// Techniques the deployed rules must cover for ATT&CK coverage to count as present.
const COVERAGE_PRESENT: usize = 5;
/// Share of the period's alerts that must have been answered for triage to be present.
const TRIAGE_PRESENT: f64 = 0.9;
/// Audit entries read at most per tenant (the figure then says "at least").
const MAX_AUDIT: u64 = 1_000_000;
/// Audit page size.
const AUDIT_PAGE: usize = 1000;

/// What the compliance report needs beyond the state store: the frameworks asked for
/// and the platform facts only the caller knows.
#[derive(Clone, Copy, Default)]
pub struct ComplianceSources<'a> {
    /// `all` (also when empty) or one of [`mcpsec_report::FRAMEWORKS`].
    pub framework: &'a str,
    /// The audit log with its signing key, to verify the hash chain (`None`: cannot be
    /// checked here, reported as missing).
    pub audit: Option<&'a mcpsec_store::Auditor>,
    /// Whether an OIDC issuer is configured (`None`: not known to this entry point).
    pub oidc: Option<bool>,
    /// Whether the API is served over TLS (`None`: not known to this entry point).
    pub tls: Option<bool>,
}

/// Checks the `framework` of a report request: only for the compliance report, and a
/// known framework or `all`. Answers the canonical id (`all` by default).
pub(crate) fn check_framework(kind: &str, framework: Option<&str>) -> Result<String, ApiError> {
    match framework {
        Some(_) if kind != "compliance" => Err(ApiError::bad_request(
            "framework applies to the compliance report only",
        )),
        f => mcpsec_report::parse_framework(f).map_err(|e| ApiError::bad_request(e.to_string())),
    }
}

/// The period a compliance report covers: `to` (default now) and `from` (default
/// [`DEFAULT_DAYS`] before `to`).
pub fn period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = to.unwrap_or(now);
    (from.unwrap_or(to - Duration::days(DEFAULT_DAYS)), to)
}

fn span_query(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let t = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!("from={}&to={}", t(from), t(to))
}

/// `1 rule`, `3 rules`; `many` when the plural is not `one` + `s`.
fn n(count: u64, one: &str, many: Option<&str>) -> String {
    match (count, many) {
        (1, _) => format!("1 {one}"),
        (_, Some(m)) => format!("{count} {m}"),
        (_, None) => format!("{count} {one}s"),
    }
}

fn pct(part: u64, whole: u64) -> String {
    format!("{:.0}%", part as f64 * 100.0 / whole.max(1) as f64)
}

/// The compliance report's data over `[from, to)`.
pub(crate) fn compliance(
    src: &ReportSources<'_>,
    tenant: &TenantId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<Compliance, StoreError> {
    let state = src.state;
    let q = span_query(from, to);
    let mut ev = vec![
        audit_log(state, tenant, from, to)?,
        audit_integrity(src.compliance.audit),
        events(src, tenant, from, to, &q)?,
    ];
    ev.extend(rules(src));
    ev.push(triage(state, tenant, from, to, &q)?);
    ev.extend(projects(src, tenant, from, to)?);
    ev.extend(response(state, tenant, from, to, now)?);
    ev.push(schedules(state, tenant, from, to)?);
    ev.push(keys(state, tenant, now)?);
    ev.push(setting(
        "sso",
        src.compliance.oidc,
        "an OIDC issuer is trusted for sign-in",
        "no OIDC issuer configured",
        "config [auth.oidc]",
    ));
    ev.push(setting(
        "tls",
        src.compliance.tls,
        "the API is served over TLS",
        "the API is served over plain HTTP",
        "config [server.tls]",
    ));
    mcpsec_report::assess(src.compliance.framework, ev)
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

fn audit_log(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Evidence, StoreError> {
    let (mut total, mut in_period, mut changes) = (0u64, 0u64, 0u64);
    let mut after = 0;
    loop {
        let page = state.audit_entries(Some(tenant), after, AUDIT_PAGE)?;
        for e in &page {
            total += 1;
            let at = DateTime::parse_from_rfc3339(&e.at).map(|t| t.with_timezone(&Utc));
            if at.is_ok_and(|t| t >= from && t < to) {
                in_period += 1;
                if e.event.outcome == "success" && !e.event.action.starts_with("auth.") {
                    changes += 1;
                }
            }
        }
        match page.last() {
            Some(e) if page.len() == AUDIT_PAGE && total < MAX_AUDIT => after = e.seq,
            _ => break,
        }
    }
    let capped = if total >= MAX_AUDIT { "at least " } else { "" };
    let (status, figure) = match (in_period, total) {
        (0, 0) => (Missing, "no audit entry for this tenant".to_owned()),
        (0, _) => (
            Partial,
            format!(
                "{capped}{} in all, none in the period",
                n(total, "entry", Some("entries"))
            ),
        ),
        _ => (
            Present,
            format!(
                "{capped}{} in the period ({})",
                n(in_period, "entry", Some("entries")),
                n(changes, "change", None)
            ),
        ),
    };
    Ok(Evidence::new("audit_log", status, figure, "/api/v1/audit"))
}

fn audit_integrity(audit: Option<&mcpsec_store::Auditor>) -> Evidence {
    let link = "/api/v1/audit (mcpsec audit verify)";
    let Some(audit) = audit else {
        return Evidence::new(
            "audit_integrity",
            Missing,
            "no audit signing key here: the chain cannot be verified",
            link,
        );
    };
    // The chain is the platform's: only its verdict is shown, never its entries.
    let (status, figure) = match audit.verify() {
        Ok(r) if r.ok() && r.checkpoints > 0 => (
            Present,
            "hash chain and signed checkpoints verify".to_owned(),
        ),
        Ok(r) if r.ok() => (
            Partial,
            "hash chain verifies; no signed checkpoint yet".to_owned(),
        ),
        Ok(r) => (
            Missing,
            format!(
                "verification FAILED with {} problem(s): the log was altered",
                r.problems.len()
            ),
        ),
        Err(e) => (Missing, format!("cannot be verified: {e}")),
    };
    Evidence::new("audit_integrity", status, figure, link)
}

fn events(
    src: &ReportSources<'_>,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    q: &str,
) -> Result<Evidence, StoreError> {
    let link = format!("/api/v1/events?{q}");
    let Some(index) = src.index else {
        return Ok(Evidence::new(
            "event_collection",
            Missing,
            "nothing indexed yet",
            link,
        ));
    };
    let r = index.search(
        tenant,
        &SearchRequest {
            query: "*".to_owned(),
            from: Some(from),
            to: Some(to),
            limit: 1,
            offset: 0,
            order: SortOrder::Desc,
        },
    )?;
    let status = if r.total > 0 { Present } else { Missing };
    Ok(Evidence::new(
        "event_collection",
        status,
        format!("{} in the period", n(r.total, "event", None)),
        link,
    ))
}

/// Deployed rules and the ATT&CK techniques they cover.
fn rules(src: &ReportSources<'_>) -> [Evidence; 2] {
    let (mut count, mut techniques, mut tactics) = (0u64, BTreeSet::new(), BTreeSet::new());
    if let Some(rules) = src.rules {
        rules.each_rule(|r| {
            count += 1;
            for t in &r.meta.attack.techniques {
                let parent = t.split('.').next().unwrap_or(t);
                techniques.insert(parent.to_ascii_uppercase());
            }
            tactics.extend(r.meta.attack.tactics.iter().cloned());
        });
    }
    let deployed = Evidence::new(
        "detection_rules",
        if count > 0 { Present } else { Missing },
        format!("{} deployed and enabled", n(count, "rule", None)),
        "/api/v1/rules",
    );
    let status = match techniques.len() {
        0 => Missing,
        k if k < COVERAGE_PRESENT => Partial,
        _ => Present,
    };
    let coverage = Evidence::new(
        "attack_coverage",
        status,
        format!(
            "{} across {}",
            n(techniques.len() as u64, "technique", None),
            n(tactics.len() as u64, "tactic", None)
        ),
        "/api/v1/reports/coverage",
    );
    [deployed, coverage]
}

fn triage(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    q: &str,
) -> Result<Evidence, StoreError> {
    let s = state.alert_summary(tenant, Some(from), Some(to), 0)?;
    let open: u64 = s
        .by_status
        .iter()
        .filter(|(k, _)| k == "open")
        .map(|(_, n)| n)
        .sum();
    let answered = s.total.saturating_sub(open);
    let link = format!("/api/v1/alerts?{q}");
    if s.total == 0 {
        return Ok(Evidence::new(
            "alert_triage",
            Missing,
            "no alert in the period, so no triage to show",
            link,
        ));
    }
    let t = state.alert_triage(tenant, Some(from), Some(to), 0)?;
    let mtta = t
        .time_to_answer
        .mean_seconds
        .map(mcpsec_report::human_duration)
        .unwrap_or_else(|| "–".to_owned());
    let share = answered as f64 / s.total as f64;
    let status = if answered == 0 {
        Missing
    } else if share >= TRIAGE_PRESENT {
        Present
    } else {
        Partial
    };
    Ok(Evidence::new(
        "alert_triage",
        status,
        format!(
            "{answered} of {} alerts answered ({}), MTTA {mtta}",
            s.total,
            pct(answered, s.total)
        ),
        link,
    ))
}

/// SBOMs kept, projects scanned in the period, open critical findings now.
fn projects(
    src: &ReportSources<'_>,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<[Evidence; 3], StoreError> {
    let state = src.state;
    let list = state.list_projects(tenant)?;
    let (mut with_sbom, mut versions, mut scanned) = (0u64, 0u64, 0u64);
    let mut unscanned: Option<String> = None;
    for p in &list {
        let sboms = state.list_sboms(tenant, &p.id)?;
        versions += sboms.len() as u64;
        let Some(latest) = sboms.iter().max_by_key(|s| s.version) else {
            continue;
        };
        with_sbom += 1;
        if latest.vulndb_generation.is_some()
            && latest.evaluated_at >= from
            && latest.evaluated_at < to
        {
            scanned += 1;
        } else if unscanned.is_none() {
            unscanned = Some(p.id.clone());
        }
    }
    let total = list.len() as u64;
    let share = |n: u64, of: u64| match n {
        0 => Missing,
        n if n == of => Present,
        _ => Partial,
    };
    let sbom = Evidence::new(
        "sbom_inventory",
        share(with_sbom, total),
        format!(
            "{with_sbom} of {} have an SBOM ({} kept)",
            n(total, "project", None),
            n(versions, "version", None)
        ),
        "/api/v1/projects",
    );
    let scan = Evidence::new(
        "vuln_scanning",
        share(scanned, with_sbom),
        format!(
            "{scanned} of {with_sbom} projects with an SBOM matched against the vulnerability database in the period"
        ),
        unscanned
            .map(|id| format!("/api/v1/projects/{id}"))
            .unwrap_or_else(|| "/api/v1/projects".to_owned()),
    );
    let remediation = if scanned == 0 {
        Evidence::new(
            "vuln_remediation",
            Missing,
            "no project was scanned in the period",
            "/api/v1/projects",
        )
    } else {
        match crate::report_supply::supply(state, src.supply, tenant, None) {
            Ok(s) => {
                let mut critical = 0u64;
                let mut worst: Option<(u64, String)> = None;
                for p in &s.projects {
                    let c = p.severity("critical");
                    critical += c;
                    if c > 0 && worst.as_ref().is_none_or(|(w, _)| c > *w) {
                        worst = Some((c, p.id.clone()));
                    }
                }
                let fixable: u64 = s
                    .projects
                    .iter()
                    .flat_map(|p| &p.findings)
                    .filter(|f| f.severity == "critical" && f.fixed.is_some())
                    .count() as u64;
                match worst {
                    None => Evidence::new(
                        "vuln_remediation",
                        Present,
                        "no open critical finding",
                        "/api/v1/projects",
                    ),
                    Some((_, id)) => Evidence::new(
                        "vuln_remediation",
                        Partial,
                        format!(
                            "{} ({fixable} with a fix)",
                            n(critical, "open critical finding", None)
                        ),
                        format!("/api/v1/projects/{id}/findings"),
                    ),
                }
            }
            Err(e) => Evidence::new(
                "vuln_remediation",
                Missing,
                format!("findings cannot be read: {e}"),
                "/api/v1/vulndb",
            ),
        }
    };
    Ok([sbom, scan, remediation])
}

/// Playbooks enabled and run, approvals recorded.
fn response(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<[Evidence; 2], StoreError> {
    let enabled = state
        .list_playbooks(tenant)?
        .iter()
        .filter(|p| p.enabled)
        .count() as u64;
    let r = crate::report_response::response(state, tenant, (Some(from), Some(to)), now)?;
    let status = match (enabled, r.runs) {
        (0, 0) => Missing,
        (e, r) if e > 0 && r > 0 => Present,
        _ => Partial,
    };
    let more = if r.truncated { "+" } else { "" };
    let playbooks = Evidence::new(
        "response_playbooks",
        status,
        format!(
            "{} enabled, {}{more} in the period ({} failed)",
            n(enabled, "playbook", None),
            n(r.runs, "run", None),
            r.failed
        ),
        "/api/v1/runs",
    );
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &r.approvals {
        *by.entry(a.status.as_str()).or_default() += 1;
    }
    let decided =
        by.get("approved").copied().unwrap_or(0) + by.get("rejected").copied().unwrap_or(0);
    let requests = r.approvals.len() as u64;
    let status = match (requests, decided) {
        (0, _) => Missing,
        (_, 0) => Partial,
        _ => Present,
    };
    let detail: Vec<String> = by.iter().map(|(k, c)| format!("{c} {k}")).collect();
    let approvals = Evidence::new(
        "approvals",
        status,
        if requests == 0 {
            "no step asked for approval in the period".to_owned()
        } else {
            format!(
                "{}: {}",
                n(requests, "approval request", None),
                detail.join(", ")
            )
        },
        "/api/v1/approvals",
    );
    Ok([playbooks, approvals])
}

fn schedules(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Evidence, StoreError> {
    let enabled = state
        .list_report_schedules(tenant)?
        .iter()
        .filter(|s| s.enabled)
        .count() as u64;
    let made = state
        .list_report_jobs(tenant, 1000)?
        .iter()
        .filter(|j| j.created_at >= from && j.created_at < to)
        .filter(|j| j.status == mcpsec_store::ReportJobStatus::Done)
        .count() as u64;
    let status = match (enabled, made) {
        (0, 0) => Missing,
        (0, _) => Partial,
        _ => Present,
    };
    Ok(Evidence::new(
        "scheduled_reports",
        status,
        format!(
            "{} enabled, {} made in the period",
            n(enabled, "schedule", None),
            n(made, "report", None)
        ),
        "/api/v1/reports/schedules",
    ))
}

/// API keys: usable ones by role. Only admin keys means no separation of duties.
fn keys(
    state: &dyn StateStore,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<Evidence, StoreError> {
    let keys = state.list_api_keys(tenant)?;
    let mut roles: BTreeMap<&str, u64> = BTreeMap::new();
    let mut retired = 0u64;
    for k in &keys {
        if k.is_usable(now) {
            *roles.entry(k.role.as_str()).or_default() += 1;
        } else {
            retired += 1;
        }
    }
    let usable: u64 = roles.values().sum();
    let status = if usable == 0 {
        Missing
    } else if roles.keys().all(|r| *r == "admin") {
        Partial
    } else {
        Present
    };
    let by: Vec<String> = roles.iter().map(|(r, k)| format!("{r} {k}")).collect();
    let figure = if usable == 0 {
        format!("no usable API key ({retired} revoked or expired)")
    } else {
        format!(
            "{} ({}), {retired} revoked or expired",
            n(usable, "usable key", None),
            by.join(", ")
        )
    };
    Ok(Evidence::new(
        "access_control",
        status,
        figure,
        "/api/v1/me (mcpsec admin key list)",
    ))
}

fn setting(kind: &str, on: Option<bool>, yes: &str, no: &str, link: &str) -> Evidence {
    match on {
        Some(true) => Evidence::new(kind, Present, yes, link),
        Some(false) => Evidence::new(kind, Missing, no, link),
        None => Evidence::new(kind, Missing, "not known to this entry point", link),
    }
}

#[cfg(test)]
#[path = "report_compliance_tests.rs"]
mod tests;
