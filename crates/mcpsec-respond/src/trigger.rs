//! Which playbooks a new alert starts.

use crate::model::{AlertFilter, Playbook, Trigger};
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

/// Whether any alert trigger of the playbook matches.
pub fn starts(pb: &Playbook, alert: &Alert) -> bool {
    pb.triggers.iter().any(|t| match t {
        Trigger::Alert(f) => matches(f, alert),
        _ => false,
    })
}
