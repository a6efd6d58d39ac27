//! The risk report: the tenant's risk now and over the period (from the stored
//! snapshots), the assets that rose highest, and the period's highest-risk alerts with
//! the factors behind each score.

use crate::sections::Table;
use crate::templates::thousands;
use serde::Serialize;

/// One bucket of a risk series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskBucketRow {
    /// Bucket start (RFC 3339, UTC).
    pub start: String,
    /// Highest score in the bucket.
    pub max: f64,
    /// Mean score in the bucket.
    pub avg: f64,
}

/// An asset's risk over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetTrend {
    /// `host`, `user`, `service` or `project`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Highest score in the period.
    pub peak: f64,
    /// Mean of the snapshots.
    pub mean: f64,
    /// Highest score of the last bucket.
    pub latest: f64,
}

/// An alert of the period with its deterministic risk score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskyAlert {
    /// Alert id.
    pub id: String,
    /// Rule title.
    pub rule: String,
    /// Level.
    pub level: String,
    /// Status.
    pub status: String,
    /// Host, if named.
    pub host: Option<String>,
    /// 0–100.
    pub score: u8,
    /// `low`, `medium`, `high` or `critical`.
    pub band: String,
    /// The factors, one line each (`severity high: +40`).
    pub factors: Vec<String>,
}

/// The tenant's risk now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RiskNow {
    /// 0–100.
    pub score: u8,
    /// Band of the score.
    pub band: String,
    /// Assets with a score above 0.
    pub assets_at_risk: u64,
    /// Open and acknowledged alerts counted.
    pub alerts: u64,
}

/// What the risk report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Risk {
    /// The tenant now.
    pub now: RiskNow,
    /// `hour` or `day`: the width of the trend buckets.
    pub bucket: String,
    /// The tenant's score over the period, oldest first.
    pub tenant_trend: Vec<RiskBucketRow>,
    /// Assets by peak score in the period, highest first.
    pub top_assets: Vec<AssetTrend>,
    /// The period's alerts with the highest scores, highest first.
    pub top_alerts: Vec<RiskyAlert>,
}

fn score(v: f64) -> String {
    format!("{v:.1}")
}

/// `(name, value)` headline figures.
pub(crate) fn key_figures(r: &Risk, out: &mut Vec<(String, String)>) {
    out.push((
        "Tenant risk now".to_owned(),
        format!("{} ({})", r.now.score, r.now.band),
    ));
    out.push(("Assets at risk".to_owned(), thousands(r.now.assets_at_risk)));
    out.push(("Active alerts counted".to_owned(), thousands(r.now.alerts)));
    let peak = r
        .tenant_trend
        .iter()
        .map(|b| b.max)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    out.push((
        "Peak in the period".to_owned(),
        peak.map(score).unwrap_or_else(|| "–".to_owned()),
    ));
}

/// The tables of a risk report.
pub(crate) fn tables(r: &Risk, out: &mut Vec<Table>) {
    let mut trend = Table::new(
        "Tenant risk over time",
        &[
            (if r.bucket == "day" { "Day" } else { "Hour" }, false),
            ("Highest", true),
            ("Mean", true),
        ],
        "No risk snapshot in this period ([risk] snapshot_interval_secs).",
    );
    trend.rows = r
        .tenant_trend
        .iter()
        .map(|b| vec![b.start.clone(), score(b.max), score(b.avg)])
        .collect();
    let mut assets = Table::new(
        "Assets with the highest risk",
        &[
            ("Kind", false),
            ("Asset", false),
            ("Peak", true),
            ("Mean", true),
            ("Latest", true),
        ],
        "No asset had a score above 0 in this period.",
    );
    assets.rows = r
        .top_assets
        .iter()
        .map(|a| {
            vec![
                a.kind.clone(),
                a.name.clone(),
                score(a.peak),
                score(a.mean),
                score(a.latest),
            ]
        })
        .collect();
    let mut alerts = Table::new(
        "Highest-risk alerts",
        &[
            ("Rule", false),
            ("Level", false),
            ("Status", false),
            ("Host", false),
            ("Score", true),
            ("Band", false),
            ("Factors", false),
        ],
        "No alerts in this period.",
    );
    alerts.rows = r
        .top_alerts
        .iter()
        .map(|a| {
            vec![
                a.rule.clone(),
                a.level.clone(),
                a.status.clone(),
                a.host.clone().unwrap_or_default(),
                a.score.to_string(),
                a.band.clone(),
                a.factors.join("; "),
            ]
        })
        .collect();
    out.extend([trend, assets, alerts]);
}
