//! Per-rule counters: matches (exact), evaluations and time (sampled).
//!
//! Timing every rule on every event would cost more than the matching itself, so one
//! event in [`RuleStats::SAMPLE_EVERY`] is evaluated rule by rule with a clock around
//! each rule; evaluations and time are those samples scaled back up.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    matches: u64,
    sampled_evaluations: u64,
    sampled_nanos: u64,
}

/// Counters of every rule that ran, by tenant and rule id.
#[derive(Debug, Default)]
pub struct RuleStats {
    rules: Mutex<HashMap<(String, String), Counters>>,
}

/// One rule's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleStatsSnapshot {
    /// Events the rule matched.
    pub matches: u64,
    /// Events the rule was evaluated on (estimated from samples).
    pub evaluations: u64,
    /// Time spent evaluating it, in microseconds (estimated from samples).
    pub time_us: u64,
}

impl RuleStats {
    /// One event in this many is profiled rule by rule.
    pub const SAMPLE_EVERY: u64 = 64;

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<(String, String), Counters>) -> R) -> R {
        let mut g = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Counts matches.
    pub fn add_matches(&self, tenant: &str, counts: &HashMap<String, u64>) {
        if counts.is_empty() {
            return;
        }
        self.with(|m| {
            for (rule, n) in counts {
                m.entry((tenant.to_owned(), rule.clone()))
                    .or_default()
                    .matches += n;
            }
        });
    }

    /// Adds one profiled event's per-rule times.
    pub fn add_sample(&self, tenant: &str, times: &[(String, Duration)]) {
        self.with(|m| {
            for (rule, t) in times {
                let c = m.entry((tenant.to_owned(), rule.clone())).or_default();
                c.sampled_evaluations += 1;
                c.sampled_nanos += t.as_nanos().min(u128::from(u64::MAX)) as u64;
            }
        });
    }

    /// The figures of one rule.
    pub fn get(&self, tenant: &str, rule: &str) -> RuleStatsSnapshot {
        self.with(|m| {
            m.get(&(tenant.to_owned(), rule.to_owned()))
                .map(|c| snapshot(*c))
                .unwrap_or_default()
        })
    }

    /// The figures of every rule of a tenant.
    pub fn for_tenant(&self, tenant: &str) -> HashMap<String, RuleStatsSnapshot> {
        self.with(|m| {
            m.iter()
                .filter(|((t, _), _)| t == tenant)
                .map(|((_, r), c)| (r.clone(), snapshot(*c)))
                .collect()
        })
    }
}

fn snapshot(c: Counters) -> RuleStatsSnapshot {
    RuleStatsSnapshot {
        matches: c.matches,
        evaluations: c.sampled_evaluations * RuleStats::SAMPLE_EVERY,
        time_us: c.sampled_nanos * RuleStats::SAMPLE_EVERY / 1000,
    }
}
