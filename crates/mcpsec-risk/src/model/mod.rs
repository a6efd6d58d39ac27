//! The deterministic risk model (version [`MODEL_VERSION`]), documented with every weight
//! in docs/risk.md. A score is built in three steps, each listed as a [`Factor`]:
//!
//! 1. **threat points**: alert severity × rule confidence, plus ATT&CK stage, repetition,
//!    correlation and vulnerability points, capped at 100;
//! 2. **multipliers**: asset criticality, asset exposure, recency, triage status;
//! 3. the product, rounded and clamped to 0–100.
//!
//! Scores of several alerts are combined per asset and per tenant by [`combine`].

mod aggregate;
mod alert_score;
/// An alert for tests of other modules.
#[cfg(test)]
pub(crate) use alert_score::tests::alert as test_alert;
mod tactics;
mod vuln;
pub mod weights;

pub use aggregate::{AlertRef, AssetRisk, ScoredAlert, TenantRisk, assess_assets, combine};
pub use alert_score::{AlertFacts, alert_assets, rule_confidence, score_alert};
pub use tactics::tactic_points;
pub use vuln::{VulnReading, read_vuln, worst_vuln};

use serde::{Deserialize, Serialize};

/// Version of the model; stored with every assessment so old scores stay explainable.
pub const MODEL_VERSION: &str = "mcpsec-risk/1";

/// One contribution to a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Which input (`severity`, `rule_confidence`, `attack_stage`...).
    pub name: String,
    /// The input's value as read (`high`, `credential-access`...).
    pub input: String,
    /// Points added to the threat sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
    /// Multiplier applied to the threat sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

impl Factor {
    pub(crate) fn points(
        name: &str,
        input: impl Into<String>,
        points: f64,
        reason: impl Into<String>,
    ) -> Self {
        Factor {
            name: name.into(),
            input: input.into(),
            points: Some(round2(points)),
            multiplier: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn multiplier(
        name: &str,
        input: impl Into<String>,
        multiplier: f64,
        reason: impl Into<String>,
    ) -> Self {
        Factor {
            name: name.into(),
            input: input.into(),
            points: None,
            multiplier: Some(round2(multiplier)),
            reason: reason.into(),
        }
    }
}

/// A score with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskScore {
    /// 0–100.
    pub score: u8,
    /// `low` (< 25), `medium` (< 50), `high` (< 75), `critical`.
    pub band: String,
    /// Sum of the points factors before the cap of 100.
    pub threat_points: f64,
    /// Every factor, points first, then multipliers.
    pub factors: Vec<Factor>,
    /// [`MODEL_VERSION`].
    pub model: String,
}

/// The band of a score.
pub fn band(score: f64) -> &'static str {
    if score >= 75.0 {
        "critical"
    } else if score >= 50.0 {
        "high"
    } else if score >= 25.0 {
        "medium"
    } else {
        "low"
    }
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Turns factors into a score: the points (capped at 100) times every multiplier,
/// rounded and clamped to 0–100.
pub fn finish(factors: Vec<Factor>) -> RiskScore {
    let points: f64 = factors.iter().filter_map(|f| f.points).sum();
    let product: f64 = factors.iter().filter_map(|f| f.multiplier).product();
    let raw = points.clamp(0.0, 100.0) * product;
    let score = if raw.is_finite() {
        raw.round().clamp(0.0, 100.0)
    } else {
        0.0
    };
    RiskScore {
        score: score as u8,
        band: band(score).to_owned(),
        threat_points: round2(points),
        factors,
        model: MODEL_VERSION.to_owned(),
    }
}
