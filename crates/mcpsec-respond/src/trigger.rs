//! Which playbooks a new alert starts: alert filters, and risk triggers for the risk
//! alerts `serve` raises when a tenant's risk score crosses its threshold or rises fast.

use crate::model::{AlertFilter, Playbook, RiskTrigger, Trigger};
use mcpsec_store::{Alert, level_rank};

/// Whether the filter matches the alert.
pub fn matches(f: &AlertFilter, alert: &Alert) -> bool {
    let level_ok = f.levels.is_empty()
        || f.levels
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&alert.level));
    let min_ok = f
        .min_level
        .as_deref()
        .is_none_or(|m| level_rank(&alert.level) >= level_rank(m));
    let rule_ok = f.rules.is_empty() || f.rules.contains(&alert.rule_id);
    let tag_ok = f.tags.is_empty()
        || f.tags
            .iter()
            .any(|t| alert.tags.iter().any(|a| a.eq_ignore_ascii_case(t)));
    let tenant_ok = f.tenants.is_empty() || f.tenants.iter().any(|t| t == alert.tenant.as_str());
    level_ok && min_ok && rule_ok && tag_ok && tenant_ok
}

/// The kinds of risk alerts a `risk` trigger names.
pub const RISK_KINDS: [&str; 2] = ["threshold", "rise"];

/// The rule ids of the risk alerts (see `mcpsec-risk`), by kind.
const RISK_RULES: [(&str, &str); 2] = [
    ("threshold", "mcpsec-risk-threshold"),
    ("rise", "mcpsec-risk-rise"),
];

/// The tenant risk score a risk alert carries (`events[0].tenant_risk.score`).
pub fn risk_score(alert: &Alert) -> Option<u8> {
    alert
        .events
        .first()?
        .get("tenant_risk")?
        .get("score")?
        .as_u64()
        .map(|s| s.min(100) as u8)
}

/// Whether a risk trigger matches the alert (a risk alert of a wanted kind whose score
/// is high enough, in a wanted tenant).
pub fn matches_risk(r: &RiskTrigger, alert: &Alert) -> bool {
    let Some(kind) = RISK_RULES
        .iter()
        .find(|(_, rule)| *rule == alert.rule_id)
        .map(|(k, _)| *k)
    else {
        return false;
    };
    let kind_ok = r.kinds.is_empty() || r.kinds.iter().any(|k| k == kind);
    let score_ok = risk_score(alert).is_some_and(|s| u32::from(s) >= r.min_score);
    let tenant_ok = r.tenants.is_empty() || r.tenants.iter().any(|t| t == alert.tenant.as_str());
    kind_ok && score_ok && tenant_ok
}

/// Whether any alert or risk trigger of the playbook matches.
pub fn starts(pb: &Playbook, alert: &Alert) -> bool {
    pb.triggers.iter().any(|t| match t {
        Trigger::Alert(f) => matches(f, alert),
        Trigger::Risk(r) => matches_risk(r, alert),
        _ => false,
    })
}
