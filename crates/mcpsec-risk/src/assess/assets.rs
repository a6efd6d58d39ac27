//! Risk of a tenant's assets over a window of alerts, and snapshots of it for the trends.

use super::Assessor;
use crate::asset::{Asset, Inventory};
use crate::error::Result;
use crate::model::{
    AlertFacts, AssetRisk, ScoredAlert, TenantRisk, alert_assets, assess_assets, score_alert,
    weights,
};
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{Alert, AlertFilter, AlertStatus, MAX_ALERT_PAGE, RiskPoint, StateStore};
use serde::Serialize;
use std::collections::HashMap;

/// Most alerts a risk overview reads.
pub const MAX_ALERTS: usize = 10_000;

/// A tenant's risk overview.
#[derive(Debug, Clone, Serialize)]
pub struct RiskOverview {
    /// The tenant as a whole.
    pub tenant: TenantRisk,
    /// Assets, highest score first.
    pub assets: Vec<AssetRisk>,
    /// Start of the window of alerts counted.
    pub from: DateTime<Utc>,
    /// When computed.
    pub at: DateTime<Utc>,
    /// Whether more than [`MAX_ALERTS`] alerts were in the window (the newest were used).
    pub truncated: bool,
}

/// Computes the overview (blocking store calls). `statuses` gives rule statuses the store
/// does not know (rule files), by rule id.
pub fn overview(
    store: &dyn StateStore,
    tenant: &TenantId,
    window_days: u32,
    now: DateTime<Utc>,
    statuses: &HashMap<String, String>,
) -> Result<RiskOverview> {
    let inventory = Inventory::from_stored(&store.list_assets(tenant)?);
    let from = now - Duration::days(window_days.into());
    let mut alerts: Vec<Alert> = Vec::new();
    let mut truncated = false;
    let mut offset = 0;
    loop {
        let page = store.list_alerts(
            tenant,
            &AlertFilter {
                statuses: vec![AlertStatus::Open, AlertStatus::Acknowledged],
                from: Some(from),
                to: Some(now + Duration::seconds(1)),
                limit: MAX_ALERT_PAGE,
                offset,
                ..AlertFilter::default()
            },
        )?;
        let n = page.alerts.len();
        // Risk alerts describe the score; they do not feed it.
        alerts.extend(
            page.alerts
                .into_iter()
                .filter(|a| !a.rule_id.starts_with("mcpsec-risk-")),
        );
        offset += n;
        if alerts.len() >= MAX_ALERTS {
            truncated = page.total as usize > offset || alerts.len() > MAX_ALERTS;
            alerts.truncate(MAX_ALERTS);
            break;
        }
        if n < MAX_ALERT_PAGE {
            break;
        }
    }
    let mut rule_status: HashMap<String, String> = statuses.clone();
    for r in store.list_rules(tenant)? {
        if let Some(s) = r.status {
            rule_status.insert(r.id, s);
        }
    }
    alerts.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.id.cmp(&b.id))
    });
    let window = Duration::hours(weights::REPEAT_WINDOW_HOURS);
    let mut seen: HashMap<(String, String), Vec<DateTime<Utc>>> = HashMap::new();
    let mut scored = Vec::with_capacity(alerts.len());
    for a in &alerts {
        let mut repeats = 0;
        if let Some(h) = &a.host {
            let times = seen
                .entry((a.rule_id.clone(), h.to_lowercase()))
                .or_default();
            repeats = times
                .iter()
                .filter(|t| **t >= a.event_time - window)
                .count()
                .min(u32::MAX as usize) as u32;
            times.push(a.event_time);
        }
        let keys = alert_assets(a, &inventory);
        let matched: Vec<&Asset> = keys
            .iter()
            .filter_map(|(k, n)| inventory.find(*k, n))
            .collect();
        let s = score_alert(&AlertFacts {
            alert: a,
            rule_status: rule_status.get(&a.rule_id).map(String::as_str),
            assets: matched,
            repeats,
            now,
        });
        scored.push(ScoredAlert {
            id: a.id.clone(),
            rule_title: a.rule_title.clone(),
            score: s.score,
            assets: keys,
        });
    }
    let (assets, tenant_risk) = assess_assets(&scored, &inventory);
    Ok(RiskOverview {
        tenant: tenant_risk,
        assets,
        from,
        at: now,
        truncated,
    })
}

/// Stores a snapshot of the overview in the tenant's risk time series: the tenant's score
/// and every asset with a score above 0 (at most 1000).
pub fn snapshot(store: &dyn StateStore, tenant: &TenantId, o: &RiskOverview) -> Result<usize> {
    let mut points = vec![RiskPoint {
        at: o.at,
        scope: "tenant".into(),
        name: tenant.to_string(),
        score: o.tenant.score as f64,
    }];
    points.extend(
        o.assets
            .iter()
            .filter(|a| a.score > 0)
            .take(1000)
            .map(|a| RiskPoint {
                at: o.at,
                scope: a.kind.as_str().into(),
                name: a.name.clone(),
                score: a.score as f64,
            }),
    );
    store.add_risk_points(tenant, &points)?;
    Ok(points.len())
}

impl Assessor {
    /// The tenant's overview, off the async threads.
    pub async fn overview(
        &self,
        tenant: &TenantId,
        statuses: HashMap<String, String>,
    ) -> Result<RiskOverview> {
        let (t, days) = (tenant.clone(), self.cfg.window_days);
        self.blocking(move |s| overview(s, &t, days, Utc::now(), &statuses))
            .await
    }

    /// The data block of the executive summary.
    pub(super) async fn tenant_data(&self, tenant: &TenantId) -> Result<serde_json::Value> {
        let o = self.overview(tenant, HashMap::new()).await?;
        Ok(serde_json::json!({
            "tenant_risk": o.tenant,
            "window_from": o.from,
            "top_assets": o.assets.iter().take(10).collect::<Vec<_>>(),
        }))
    }
}
