//! The data of every report kind, gathered from whatever the caller has at hand: the
//! search index (event figures), the state store (alerts, triage) and the tenant's
//! deployed rules (coverage), the projects with the vulnerability database (supply). Shared by `GET /api/v1/reports/{kind}` and
//! `mcpsec report generate`.

use crate::reports::{Progress, build_report_with_progress, report_alerts};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use mcpsec_detect::TenantRules;
use mcpsec_report::{
    Count, Coverage, CoverageBuilder, ReportData, SummaryBuilder, Timing, Triage, WaitingAlert,
};
use mcpsec_store::{Durations, SearchIndex, StateStore, StoreError};

/// Open alerts a triage report lists.
const WAITING: usize = 10;

/// What a report can read.
pub struct ReportSources<'a> {
    /// The search index; `None` when nothing was indexed yet.
    pub index: Option<&'a dyn SearchIndex>,
    /// Alerts, rules, tenants.
    pub state: &'a dyn StateStore,
    /// The tenant's deployed rules (needed by `coverage`, and by `risk` for the rules'
    /// Sigma status; `None`: no rules deployed).
    pub rules: Option<&'a TenantRules>,
    /// Told `(done, total)` while the events are read.
    pub progress: Option<Progress<'a>>,
    /// The project (id or name) a `supply` report covers; `None`: every project.
    pub project: Option<&'a str>,
    /// The vulnerability database and licence policy of the `supply` report.
    pub supply: crate::SupplySources<'a>,
    /// Days of open and acknowledged alerts the `risk` report's "now" counts
    /// (`[risk] window_days`).
    pub risk_window_days: u32,
    /// The frameworks and platform facts of the `compliance` report.
    pub compliance: crate::ComplianceSources<'a>,
}

/// The data of a report of `kind` over the tenant's period.
pub fn report_data(
    src: &ReportSources<'_>,
    kind: &str,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ReportData, StoreError> {
    let alerts = report_alerts(src.state, tenant, from, to)?;
    let mut data = match src.index {
        Some(index) if mcpsec_report::needs_events(kind) => {
            build_report_with_progress(index, kind, tenant, from, to, alerts, now, src.progress)?
        }
        _ => SummaryBuilder::new(from, to).finish(
            kind,
            mcpsec_report::title(kind),
            tenant.as_str(),
            alerts,
            now,
        ),
    };
    match kind {
        "triage" => data.triage = Some(triage(src.state, tenant, from, to)?),
        "coverage" => data.coverage = Some(coverage(src, tenant, from, to)?),
        "risk" => {
            let mut statuses = std::collections::HashMap::new();
            if let Some(rules) = src.rules {
                rules.each_rule(|r| {
                    if let Some(s) = &r.meta.status {
                        statuses.insert(r.name().to_owned(), s.clone());
                    }
                });
            }
            data.risk = Some(crate::report_risk::risk(
                src.state,
                tenant,
                (from, to),
                now,
                src.risk_window_days,
                &statuses,
            )?)
        }
        "response" => {
            data.response = Some(crate::report_response::response(
                src.state,
                tenant,
                (from, to),
                now,
            )?)
        }
        "compliance" => {
            let (from, to) = crate::report_compliance::period(from, to, now);
            data.period.from = Some(from);
            data.period.to = Some(to);
            data.compliance = Some(crate::report_compliance::compliance(
                src,
                tenant,
                (from, to),
                now,
            )?)
        }
        "supply" => {
            data.supply = Some(crate::report_supply::supply(
                src.state,
                src.supply,
                tenant,
                src.project,
            )?)
        }
        _ => {}
    }
    Ok(data)
}

fn timing(d: Durations) -> Timing {
    Timing {
        count: d.count,
        mean_seconds: d.mean_seconds,
        median_seconds: d.median_seconds,
        p90_seconds: d.p90_seconds,
    }
}

fn counts(pairs: Vec<(String, u64)>) -> Vec<Count> {
    pairs
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect()
}

fn triage(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Triage, StoreError> {
    let summary = state.alert_summary(tenant, from, to, mcpsec_report::TOP_N)?;
    let t = state.alert_triage(tenant, from, to, WAITING)?;
    Ok(Triage {
        by_status: counts(summary.by_status),
        top_hosts: counts(summary.top_hosts),
        time_to_answer: timing(t.time_to_answer),
        time_to_resolve: timing(t.time_to_resolve),
        false_positives: t.false_positives,
        oldest_open: t
            .oldest_open
            .into_iter()
            .map(|a| WaitingAlert {
                id: a.id,
                rule: a.rule_title,
                level: a.level,
                host: a.host,
                created_at: a.created_at,
            })
            .collect(),
    })
}

fn coverage(
    src: &ReportSources<'_>,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Coverage, StoreError> {
    let mut b = CoverageBuilder::new(mcpsec_sigma::ATTACK_TACTICS);
    if let Some(rules) = src.rules {
        rules.each_rule(|r| b.add_rule(&r.meta.attack.techniques, &r.meta.attack.tactics));
    }
    let fired = src.state.alert_triage(tenant, from, to, 0)?.techniques;
    Ok(b.finish(&fired))
}
