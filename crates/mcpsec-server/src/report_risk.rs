//! The data of the `risk` report: the tenant's risk now (as `GET /api/v1/risk/assets`
//! computes it), its score and its assets' over the period from the stored snapshots
//! (as `GET /api/v1/risk/trends`), and the period's alerts scored by the deterministic
//! model with their factors.

use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_report::{AssetTrend, Risk, RiskBucketRow, RiskNow, RiskyAlert};
use mcpsec_risk::asset::{Asset, Inventory};
use mcpsec_risk::model::{AlertFacts, Factor, alert_assets, score_alert};
use mcpsec_store::{AlertFilter, MAX_ALERT_PAGE, StateStore, StoreError};
use std::collections::{BTreeMap, HashMap};

/// Assets and alerts listed.
const TOP: usize = 10;
/// Alerts of the period scored at most (the newest).
const MAX_SCORED: usize = 10_000;
/// The longest period a trend covers.
const MAX_DAYS: i64 = 400;

/// One asset's buckets folded together.
#[derive(Default)]
struct Series {
    peak: f64,
    /// Sum of bucket means weighted by their points.
    weighted: f64,
    points: u64,
    last_start: String,
    last_max: f64,
}

fn risk_error(e: mcpsec_risk::RiskError) -> StoreError {
    StoreError::Invalid(format!("risk model: {e}"))
}

fn factor(f: &Factor) -> String {
    match (f.points, f.multiplier) {
        (Some(p), _) => format!("{} {}: +{p}", f.name, f.input),
        (None, Some(m)) => format!("{} {}: x{m}", f.name, f.input),
        (None, None) => format!("{} {}", f.name, f.input),
    }
}

/// The risk report's data over `[from, to)` (default: the 7 days up to `now`); "now"
/// counts the open and acknowledged alerts of the last `window_days`. `statuses` gives
/// the Sigma status of rules the store does not hold (rule files).
pub(crate) fn risk(
    state: &dyn StateStore,
    tenant: &TenantId,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
    window_days: u32,
    statuses: &HashMap<String, String>,
) -> Result<Risk, StoreError> {
    let to = to.unwrap_or(now);
    let from = from
        .unwrap_or(to - Duration::days(7))
        .max(to - Duration::days(MAX_DAYS));
    let o = mcpsec_risk::assess::overview(state, tenant, window_days.max(1), now, statuses)
        .map_err(risk_error)?;
    let (bucket, secs) = if to - from > Duration::days(2) {
        ("day", 86_400)
    } else {
        ("hour", 3600)
    };
    let buckets = state.risk_trend(tenant, None, from, to, secs)?;
    let mut tenant_trend = Vec::new();
    let mut per: BTreeMap<(String, String), Series> = BTreeMap::new();
    for b in buckets {
        if b.scope == "tenant" {
            tenant_trend.push(RiskBucketRow {
                start: b.start,
                max: b.max,
                avg: b.avg,
            });
            continue;
        }
        let e = per.entry((b.scope, b.name)).or_default();
        e.peak = e.peak.max(b.max);
        e.weighted += b.avg * b.points as f64;
        e.points += b.points;
        if b.start >= e.last_start {
            e.last_start = b.start;
            e.last_max = b.max;
        }
    }
    let mut top_assets: Vec<AssetTrend> = per
        .into_iter()
        .map(|((kind, name), e)| AssetTrend {
            kind,
            name,
            peak: e.peak,
            mean: if e.points == 0 {
                0.0
            } else {
                e.weighted / e.points as f64
            },
            latest: e.last_max,
        })
        .collect();
    top_assets.sort_by(|a, b| b.peak.total_cmp(&a.peak).then(a.name.cmp(&b.name)));
    top_assets.truncate(TOP);
    Ok(Risk {
        now: RiskNow {
            score: o.tenant.score,
            band: o.tenant.band,
            assets_at_risk: o.tenant.assets_at_risk as u64,
            alerts: o.tenant.alerts as u64,
        },
        bucket: bucket.to_owned(),
        tenant_trend,
        top_assets,
        top_alerts: top_alerts(state, tenant, from, to, now, statuses)?,
    })
}

/// The period's alerts (risk alerts aside) with the highest scores.
fn top_alerts(
    state: &dyn StateStore,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    statuses: &HashMap<String, String>,
) -> Result<Vec<RiskyAlert>, StoreError> {
    let inventory = Inventory::from_stored(&state.list_assets(tenant)?);
    let mut rule_status = statuses.clone();
    for r in state.list_rules(tenant)? {
        if let Some(s) = r.status {
            rule_status.insert(r.id, s);
        }
    }
    let mut out: Vec<RiskyAlert> = Vec::new();
    let mut offset = 0;
    while offset < MAX_SCORED {
        let page = state.list_alerts(
            tenant,
            &AlertFilter {
                from: Some(from),
                to: Some(to),
                limit: MAX_ALERT_PAGE,
                offset,
                ..AlertFilter::default()
            },
        )?;
        let n = page.alerts.len();
        for a in page
            .alerts
            .iter()
            .filter(|a| !a.rule_id.starts_with("mcpsec-risk-"))
        {
            let keys = alert_assets(a, &inventory);
            let matched: Vec<&Asset> = keys
                .iter()
                .filter_map(|(k, n)| inventory.find(*k, n))
                .collect();
            let s = score_alert(&AlertFacts {
                alert: a,
                rule_status: rule_status.get(&a.rule_id).map(String::as_str),
                assets: matched,
                repeats: 0,
                now,
            });
            out.push(RiskyAlert {
                id: a.id.clone(),
                rule: a.rule_title.clone(),
                level: a.level.clone(),
                status: a.status.as_str().to_owned(),
                host: a.host.clone(),
                score: s.score,
                band: s.band,
                factors: s.factors.iter().map(factor).collect(),
            });
            // Keep the list short while reading many pages.
            if out.len() > 4 * TOP {
                out.sort_by(|x, y| y.score.cmp(&x.score).then(x.id.cmp(&y.id)));
                out.truncate(TOP);
            }
        }
        offset += n;
        if n < MAX_ALERT_PAGE {
            break;
        }
    }
    out.sort_by(|x, y| y.score.cmp(&x.score).then(x.id.cmp(&y.id)));
    out.truncate(TOP);
    Ok(out)
}
