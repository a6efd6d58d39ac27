//! Triage figures: how fast a tenant's alerts were answered and resolved, which are still
//! waiting, and which ATT&CK techniques and tactics fired.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Durations of one kind of response, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    /// Alerts measured.
    pub count: u64,
    /// Mean, `None` when nothing was measured.
    pub mean_seconds: Option<f64>,
    /// Median.
    pub median_seconds: Option<f64>,
    /// 90th percentile (nearest rank).
    pub p90_seconds: Option<f64>,
}

impl Durations {
    /// Figures over `secs` (sorted here; negative values, from clock skew, count as 0).
    pub fn of(mut secs: Vec<f64>) -> Self {
        if secs.is_empty() {
            return Durations::default();
        }
        for s in &mut secs {
            *s = s.max(0.0);
        }
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let rank = |q: f64| secs[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let median = if n % 2 == 1 {
            secs[n / 2]
        } else {
            (secs[n / 2 - 1] + secs[n / 2]) / 2.0
        };
        Durations {
            count: n as u64,
            mean_seconds: Some(secs.iter().sum::<f64>() / n as f64),
            median_seconds: Some(median),
            p90_seconds: Some(rank(0.9)),
        }
    }
}

/// An alert still open, for the "waiting longest" list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAlert {
    /// Alert id.
    pub id: String,
    /// The rule's title.
    pub rule_title: String,
    /// Sigma level.
    pub level: String,
    /// Host, when the alert names one.
    pub host: Option<String>,
    /// When the alert was raised.
    pub created_at: DateTime<Utc>,
}

/// Response figures of a period (alerts whose event lies in it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertTriage {
    /// Time from an alert being raised to its first status change away from `open`
    /// (mean time to acknowledge, MTTA, and its spread).
    pub time_to_answer: Durations,
    /// Time from an alert being raised to it first being closed or marked a false
    /// positive (mean time to resolve, MTTR).
    pub time_to_resolve: Durations,
    /// Alerts marked false positive at some point.
    pub false_positives: u64,
    /// Alerts still open, oldest first (at most the requested number).
    pub oldest_open: Vec<OpenAlert>,
    /// `(technique id, alerts)`, most first.
    pub techniques: Vec<(String, u64)>,
    /// `(tactic, alerts)`, most first.
    pub tactics: Vec<(String, u64)>,
}
