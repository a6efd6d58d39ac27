//! Risk-based alerting: a tenant's score crossing a threshold, or rising fast between two
//! snapshots, raises an alert in the ordinary alert queue.

use super::assets::{RiskOverview, overview, snapshot};
use crate::config::RiskConfig;
use crate::error::Result;
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{Alert, AlertKind, AlertStatus, DetectionOffset, StateStore};
use serde_json::json;
use std::collections::HashMap;

/// Rule id of alerts raised by the threshold.
pub const THRESHOLD_RULE: &str = "mcpsec-risk-threshold";
/// Rule id of alerts raised by a fast rise.
pub const RISE_RULE: &str = "mcpsec-risk-rise";
/// Consumer name under which risk alerts are committed.
pub const CONSUMER: &str = "risk-alerts";

/// The alerts a new tenant score raises, given the previous one.
pub fn risk_alerts(
    cfg: &RiskConfig,
    tenant: &TenantId,
    previous: Option<u8>,
    o: &RiskOverview,
) -> Vec<Alert> {
    let score = o.tenant.score;
    let mut out = Vec::new();
    let mut raise = |rule: &str, title: String| {
        out.push(Alert {
            id: ulid::Ulid::new().to_string(),
            tenant: tenant.clone(),
            kind: AlertKind::Rule,
            rule_id: rule.to_owned(),
            rule_title: title,
            rule_version: 0,
            level: if score >= 75 { "critical" } else { "high" }.to_owned(),
            tags: vec!["mcpsec.risk".into()],
            techniques: Vec::new(),
            tactics: Vec::new(),
            host: None,
            event_ids: Vec::new(),
            events: vec![json!({
                "tenant_risk": o.tenant,
                "previous_score": previous,
                "top_assets": o.assets.iter().take(5).map(|a| json!({
                    "kind": a.kind.as_str(), "name": a.name, "score": a.score,
                })).collect::<Vec<_>>(),
            })],
            event_count: 1,
            group: None,
            event_time: o.at,
            created_at: o.at,
            seq: 0,
            status: AlertStatus::Open,
            status_by: None,
            status_at: None,
        });
    };
    if let Some(t) = cfg.alert_threshold
        && score >= t
        && previous.is_none_or(|p| p < t)
    {
        raise(
            THRESHOLD_RULE,
            format!("Tenant risk reached {score} (threshold {t})"),
        );
    }
    if let (Some(rise), Some(p)) = (cfg.alert_rise, previous)
        && score >= p.saturating_add(rise)
        && rise > 0
    {
        raise(
            RISE_RULE,
            format!("Tenant risk rose from {p} to {score} (by {} or more)", rise),
        );
    }
    out
}

/// One snapshot pass over every tenant: stores the time-series points and commits the
/// risk alerts. `previous` remembers each tenant's last score between passes (seeded from
/// the stored series after a restart). Returns the alerts raised (stored), so response
/// playbooks with a `risk` trigger can act on them.
pub fn snapshot_all(
    store: &dyn StateStore,
    cfg: &RiskConfig,
    previous: &mut HashMap<TenantId, u8>,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>> {
    let mut raised = Vec::new();
    for tenant in store.tenants()? {
        let o = overview(store, &tenant, cfg.window_days, now, &HashMap::new())?;
        let prev = match previous.get(&tenant) {
            Some(p) => Some(*p),
            None => store
                .risk_trend(
                    &tenant,
                    Some(("tenant", tenant.as_str())),
                    now - Duration::days(2),
                    now + Duration::seconds(1),
                    3600,
                )?
                .last()
                .map(|b| b.max.round().clamp(0.0, 100.0) as u8),
        };
        snapshot(store, &tenant, &o)?;
        let alerts = risk_alerts(cfg, &tenant, prev, &o);
        if !alerts.is_empty() {
            store.commit_detections(CONSUMER, &alerts, &DetectionOffset::default())?;
            raised.extend(alerts);
        }
        previous.insert(tenant, o.tenant.score);
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantRisk;
    use mcpsec_store::{AlertStore, RiskStore};

    fn o(score: u8) -> RiskOverview {
        RiskOverview {
            tenant: TenantRisk {
                score,
                band: crate::model::band(score as f64).into(),
                assets_at_risk: 1,
                alerts: 1,
                by_band: Default::default(),
            },
            assets: Vec::new(),
            from: Utc::now(),
            at: Utc::now(),
            truncated: false,
        }
    }

    #[test]
    fn thresholds_fire_on_crossing_and_rises_on_jumps() {
        let t = TenantId::default_tenant();
        let cfg = RiskConfig {
            alert_threshold: Some(70),
            alert_rise: Some(20),
            ..RiskConfig::default()
        };
        let rules = |prev, score| -> Vec<String> {
            risk_alerts(&cfg, &t, prev, &o(score))
                .into_iter()
                .map(|a| a.rule_id)
                .collect()
        };
        assert_eq!(rules(Some(60), 72), [THRESHOLD_RULE]);
        assert!(rules(Some(71), 72).is_empty(), "already above: no repeat");
        assert_eq!(rules(Some(10), 35), [RISE_RULE]);
        assert_eq!(rules(Some(40), 80), [THRESHOLD_RULE, RISE_RULE]);
        assert_eq!(rules(None, 90), [THRESHOLD_RULE]);
        assert!(rules(Some(50), 60).is_empty());
        let a = &risk_alerts(&cfg, &t, Some(40), &o(80))[0];
        assert_eq!(a.level, "critical");
        assert!(risk_alerts(&RiskConfig::default(), &t, Some(0), &o(100)).is_empty());
    }

    #[test]
    fn a_pass_stores_points_and_commits_alerts_once() {
        let s = mcpsec_store::SqliteState::in_memory().expect("store");
        let t = TenantId::default_tenant();
        s.create_tenant(&t).expect("tenant");
        let cfg = RiskConfig {
            alert_threshold: Some(0),
            ..RiskConfig::default()
        };
        let mut prev = HashMap::new();
        let now = Utc::now();
        assert_eq!(
            snapshot_all(&s, &cfg, &mut prev, now).expect("pass").len(),
            1
        );
        assert_eq!(
            snapshot_all(&s, &cfg, &mut prev, now).expect("pass").len(),
            0
        );
        // After a restart the stored series says it was already at 0.
        let mut fresh = HashMap::new();
        assert_eq!(
            snapshot_all(&s, &cfg, &mut fresh, now).expect("pass").len(),
            0
        );
        let page = s
            .list_alerts(
                &t,
                &mcpsec_store::AlertFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("alerts");
        assert_eq!(page.total, 1);
        assert_eq!(page.alerts[0].rule_id, THRESHOLD_RULE);
        let trend = s
            .risk_trend(
                &t,
                Some(("tenant", "default")),
                now - Duration::hours(1),
                now + Duration::hours(1),
                3600,
            )
            .expect("trend");
        assert_eq!(trend.iter().map(|b| b.points).sum::<u64>(), 3);
    }
}
