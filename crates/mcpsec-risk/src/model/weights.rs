//! Every weight of the model, in one place (docs/risk.md lists the same numbers; a test
//! keeps them in step).

/// Severity points by Sigma level.
pub const SEVERITY: &[(&str, f64)] = &[
    ("informational", 5.0),
    ("low", 20.0),
    ("medium", 40.0),
    ("high", 60.0),
    ("critical", 80.0),
];

/// Confidence multipliers (on the severity points) by Sigma rule status.
pub const CONFIDENCE: &[(&str, f64)] = &[
    ("stable", 1.0),
    ("test", 0.9),
    ("experimental", 0.75),
    ("deprecated", 0.5),
    ("unsupported", 0.5),
];

/// Confidence when the rule's status is unknown.
pub const CONFIDENCE_UNKNOWN: f64 = 0.85;

/// Points per ATT&CK tactic (the highest tagged tactic counts): later kill-chain stages
/// weigh more.
pub const TACTIC: &[(&str, f64)] = &[
    ("reconnaissance", 0.0),
    ("resource-development", 0.0),
    ("initial-access", 4.0),
    ("execution", 6.0),
    ("discovery", 4.0),
    ("persistence", 8.0),
    ("defense-evasion", 8.0),
    ("privilege-escalation", 10.0),
    ("collection", 10.0),
    ("credential-access", 12.0),
    ("lateral-movement", 14.0),
    ("command-and-control", 14.0),
    ("exfiltration", 18.0),
    ("impact", 20.0),
];

/// Points per earlier alert of the same rule on the same host in [`REPEAT_WINDOW_HOURS`].
pub const REPEAT_POINTS: f64 = 2.5;
/// Cap of the repetition points.
pub const REPEAT_MAX: f64 = 10.0;
/// Window in which earlier alerts count as repetitions.
pub const REPEAT_WINDOW_HOURS: i64 = 24;

/// Points for an alert raised by a correlation rule (several events grouped).
pub const CORRELATION_POINTS: f64 = 5.0;

/// Vulnerability points = worst vulnerability risk (0–10) × this (so 0–15).
pub const VULN_WEIGHT: f64 = 1.5;

/// Criticality multipliers.
pub const CRITICALITY: &[(&str, f64)] = &[
    ("low", 0.6),
    ("medium", 0.8),
    ("high", 1.0),
    ("critical", 1.25),
];

/// Criticality multiplier when no asset of the alert is in the inventory (= medium).
pub const CRITICALITY_UNKNOWN: f64 = 0.8;

/// Exposure multipliers.
pub const EXPOSURE: &[(&str, f64)] = &[("internal", 0.9), ("dmz", 1.05), ("internet", 1.15)];

/// Exposure multiplier when unknown.
pub const EXPOSURE_UNKNOWN: f64 = 1.0;

/// Alerts younger than this keep their full weight.
pub const FRESH_HOURS: f64 = 24.0;
/// After [`FRESH_HOURS`], the recency multiplier halves every this many hours...
pub const HALF_LIFE_HOURS: f64 = 168.0;
/// ...down to this floor.
pub const RECENCY_FLOOR: f64 = 0.3;

/// Multiplier of a closed alert.
pub const CLOSED: f64 = 0.5;
/// Multiplier of an alert marked false positive.
pub const FALSE_POSITIVE: f64 = 0.0;

/// In [`super::combine`], every score after the highest fills this share of its own
/// weight of the remaining gap to 100.
pub const COMBINE_DAMPING: f64 = 0.25;

/// An asset's vulnerability baseline = worst vulnerability risk (0–10) × this, times its
/// criticality and exposure multipliers.
pub const BASELINE_WEIGHT: f64 = 3.0;

/// Looks a name up in a weight table.
pub fn lookup(table: &[(&str, f64)], name: &str) -> Option<f64> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, w)| *w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_the_same_weights() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/risk.md");
        let doc = std::fs::read_to_string(path).expect("docs/risk.md");
        for table in [SEVERITY, CONFIDENCE, TACTIC, CRITICALITY, EXPOSURE] {
            for (name, w) in table {
                let row = format!("| {name} | {w} |");
                assert!(doc.contains(&row), "docs/risk.md lacks {row}");
            }
        }
        for (what, v) in [
            ("Unknown or missing status: ", CONFIDENCE_UNKNOWN),
            ("in the inventory: ", CRITICALITY_UNKNOWN),
            ("down to a floor of ", RECENCY_FLOOR),
            ("fills `", COMBINE_DAMPING),
        ] {
            assert!(
                doc.contains(&format!("{what}{v}")),
                "docs/risk.md: {what}{v}"
            );
        }
    }
}
