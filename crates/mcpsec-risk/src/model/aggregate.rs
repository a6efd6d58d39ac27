//! Risk per asset and per tenant, from scored alerts and the inventory.

use super::weights::{self as w, lookup};
use super::{Factor, band, round2, worst_vuln};
use crate::asset::{AssetKind, Inventory};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Combines scores (each 0–100): the highest counts fully; every other score `s` then
/// fills `COMBINE_DAMPING × s / 100` of the remaining gap to 100. Bounded, never below
/// the highest score, rising with every extra score, independent of order.
pub fn combine(scores: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .map(|s| s.clamp(0.0, 100.0))
        .collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let Some((&top, rest)) = sorted.split_first() else {
        return 0.0;
    };
    let keep: f64 = rest
        .iter()
        .map(|s| 1.0 - w::COMBINE_DAMPING * s / 100.0)
        .product();
    (top + (100.0 - top) * (1.0 - keep)).clamp(0.0, 100.0)
}

/// One scored alert, as aggregation needs it.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredAlert {
    /// Alert id.
    pub id: String,
    /// Rule title.
    pub rule_title: String,
    /// Its score.
    pub score: u8,
    /// The assets it touches ([`super::alert_assets`]).
    pub assets: Vec<(AssetKind, String)>,
}

/// An alert as listed under an asset.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRef {
    /// Alert id.
    pub id: String,
    /// Rule title.
    pub rule_title: String,
    /// Its score.
    pub score: u8,
}

/// The risk of one asset.
#[derive(Debug, Clone, Serialize)]
pub struct AssetRisk {
    /// Kind.
    pub kind: AssetKind,
    /// Name (the inventory's spelling when listed there).
    pub name: String,
    /// 0–100.
    pub score: u8,
    /// Band of the score.
    pub band: String,
    /// Whether the inventory lists it.
    pub in_inventory: bool,
    /// Its criticality (inventory), when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<String>,
    /// Its exposure (inventory), when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<String>,
    /// Alerts counted.
    pub alerts: u32,
    /// The highest-scored alerts (at most 5).
    pub top_alerts: Vec<AlertRef>,
    /// How the score came about.
    pub factors: Vec<Factor>,
}

/// The risk of a whole tenant.
#[derive(Debug, Clone, Serialize)]
pub struct TenantRisk {
    /// 0–100: the asset scores combined.
    pub score: u8,
    /// Band of the score.
    pub band: String,
    /// Assets with a score above 0.
    pub assets_at_risk: usize,
    /// Alerts counted.
    pub alerts: usize,
    /// Assets per band.
    pub by_band: BTreeMap<String, u64>,
}

/// Scores every asset named by the alerts or listed in the inventory, highest first,
/// and the tenant as a whole.
pub fn assess_assets(
    alerts: &[ScoredAlert],
    inventory: &Inventory,
) -> (Vec<AssetRisk>, TenantRisk) {
    let mut by_asset: HashMap<(AssetKind, String), Vec<&ScoredAlert>> = HashMap::new();
    let mut spelling: HashMap<(AssetKind, String), String> = HashMap::new();
    for a in alerts {
        for (k, n) in &a.assets {
            let key = (*k, n.to_lowercase());
            spelling.entry(key.clone()).or_insert_with(|| n.clone());
            by_asset.entry(key).or_default().push(a);
        }
    }
    for asset in inventory.assets() {
        let key = (asset.kind, asset.name.to_lowercase());
        spelling.insert(key.clone(), asset.name.clone());
        by_asset.entry(key).or_default();
    }
    let mut out = Vec::with_capacity(by_asset.len());
    for (key, mut list) in by_asset {
        let name = spelling.get(&key).cloned().unwrap_or_else(|| key.1.clone());
        let inv = inventory.find(key.0, &name);
        list.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        let mut scores: Vec<f64> = list.iter().map(|a| a.score as f64).collect();
        let mut factors = Vec::new();
        if let Some(top) = list.first() {
            factors.push(Factor::points(
                "top_alert",
                top.id.clone(),
                top.score as f64,
                format!("highest alert: {} ({})", top.rule_title, top.score),
            ));
        }
        if list.len() > 1 {
            let with_rest = combine(&scores);
            factors.push(Factor::points(
                "other_alerts",
                (list.len() - 1).to_string(),
                with_rest - scores[0],
                format!(
                    "{} more alert(s), each filling {} × its score / 100 of the gap to 100",
                    list.len() - 1,
                    w::COMBINE_DAMPING
                ),
            ));
        }
        if let Some(asset) = inv
            && let Some(v) = worst_vuln(&asset.vulnerabilities)
        {
            let crit = asset.criticality.map(|c| c.as_str()).unwrap_or("medium");
            let exp = asset.exposure.map(|e| e.as_str());
            let base = v.risk
                * w::BASELINE_WEIGHT
                * lookup(w::CRITICALITY, crit).unwrap_or(w::CRITICALITY_UNKNOWN)
                * exp
                    .and_then(|e| lookup(w::EXPOSURE, e))
                    .unwrap_or(w::EXPOSURE_UNKNOWN);
            let before = combine(&scores);
            scores.push(base);
            factors.push(Factor::points(
                "vulnerability_baseline",
                v.id.clone(),
                combine(&scores) - before,
                format!(
                    "worst vulnerability {} (risk {}) × {} × criticality {crit} × exposure {}: baseline {}",
                    v.id,
                    v.risk,
                    w::BASELINE_WEIGHT,
                    exp.unwrap_or("unknown"),
                    round2(base)
                ),
            ));
        }
        let score = combine(&scores).round().clamp(0.0, 100.0);
        out.push(AssetRisk {
            kind: key.0,
            name,
            score: score as u8,
            band: band(score).to_owned(),
            in_inventory: inv.is_some(),
            criticality: inv
                .and_then(|a| a.criticality)
                .map(|c| c.as_str().to_owned()),
            exposure: inv.and_then(|a| a.exposure).map(|e| e.as_str().to_owned()),
            alerts: list.len().min(u32::MAX as usize) as u32,
            top_alerts: list
                .iter()
                .take(5)
                .map(|a| AlertRef {
                    id: a.id.clone(),
                    rule_title: a.rule_title.clone(),
                    score: a.score,
                })
                .collect(),
            factors,
        });
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.name.cmp(&b.name))
    });
    // Projects are groups of the other assets: the tenant counts each alert once.
    let tenant_scores: Vec<f64> = out
        .iter()
        .filter(|a| a.kind != AssetKind::Project)
        .map(|a| a.score as f64)
        .collect();
    let score = combine(&tenant_scores).round();
    let mut by_band = BTreeMap::new();
    for a in out.iter().filter(|a| a.score > 0) {
        *by_band.entry(a.band.clone()).or_insert(0) += 1;
    }
    let tenant = TenantRisk {
        score: score as u8,
        band: band(score).to_owned(),
        assets_at_risk: out.iter().filter(|a| a.score > 0).count(),
        alerts: alerts.len(),
        by_band,
    };
    (out, tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::{Asset, AssetVuln, Criticality, Exposure};

    #[test]
    fn combine_is_bounded_monotonic_and_order_free() {
        assert_eq!(combine(&[]), 0.0);
        assert_eq!(combine(&[40.0]), 40.0);
        let two = combine(&[40.0, 40.0]);
        assert!((two - (40.0 + 60.0 * 0.1)).abs() < 1e-9, "{two}");
        assert_eq!(combine(&[40.0, 80.0]), combine(&[80.0, 40.0]));
        let many = combine(&vec![20.0; 1000]);
        assert!(many <= 100.0 && many > 90.0, "{many}");
        assert!(combine(&[50.0, 10.0]) > combine(&[50.0]));
        assert_eq!(combine(&[f64::NAN, 300.0, -5.0]), 100.0);
    }

    #[test]
    fn assets_and_tenant_are_scored_from_alerts_and_vulnerabilities() {
        let inv = Inventory::new(vec![
            Asset {
                kind: AssetKind::Host,
                name: "web1".into(),
                aliases: vec![],
                criticality: Some(Criticality::Critical),
                exposure: Some(Exposure::Internet),
                owner: None,
                project: None,
                tags: vec![],
                vulnerabilities: vec![AssetVuln {
                    id: "CVE-2024-3400".into(),
                    component: None,
                    cvss: None,
                    score: Some(10.0),
                    epss: None,
                    kev: true,
                }],
            },
            Asset {
                kind: AssetKind::User,
                name: "idle".into(),
                aliases: vec![],
                criticality: None,
                exposure: None,
                owner: None,
                project: None,
                tags: vec![],
                vulnerabilities: vec![],
            },
        ]);
        let alert = |id: &str, score: u8, host: &str| ScoredAlert {
            id: id.into(),
            rule_title: "t".into(),
            score,
            assets: vec![(AssetKind::Host, host.into())],
        };
        let (assets, tenant) = assess_assets(
            &[
                alert("a", 60, "ws9"),
                alert("b", 30, "WS9"),
                alert("c", 10, "web1"),
            ],
            &inv,
        );
        let ws9 = assets.iter().find(|a| a.name == "ws9").expect("ws9");
        assert_eq!(ws9.alerts, 2);
        assert_eq!(ws9.score, combine(&[60.0, 30.0]).round() as u8);
        assert!(!ws9.in_inventory);
        let web1 = assets.iter().find(|a| a.name == "web1").expect("web1");
        // Baseline 10 × 3 × 1.25 × 1.15 = 43.1 beats the alert's 10.
        assert_eq!(
            web1.score,
            combine(&[10.0, 43.125]).round() as u8,
            "{web1:#?}"
        );
        assert!(
            web1.factors
                .iter()
                .any(|f| f.name == "vulnerability_baseline")
        );
        let idle = assets.iter().find(|a| a.name == "idle").expect("idle");
        assert_eq!((idle.score, idle.alerts), (0, 0));
        assert_eq!(assets[0].name, "ws9");
        assert_eq!(tenant.assets_at_risk, 2);
        assert_eq!(tenant.alerts, 3);
        assert_eq!(
            tenant.score,
            combine(&[web1.score as f64, ws9.score as f64]).round() as u8
        );
    }
}
