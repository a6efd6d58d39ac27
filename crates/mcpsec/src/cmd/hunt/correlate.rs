//! Correlation rules in `hunt`. Files are matched in parallel and not in time order, so
//! the matches of the rules that correlations reference are collected on the side (with
//! their time and where they came from), sorted by event time once every file is read,
//! and then run through the correlation engine.
//!
//! Referenced rules are matched even when `--level`/`--status` would drop them; they
//! print on their own only when they pass those filters and a correlation referencing
//! them says `generate: true`. Matches without a readable time are not correlated.

use mcpsec_sigma::{CompiledRule, CorrelationHit, Engine, Limits, RuleMeta, RuleSet};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One match of a referenced rule, kept until the engine runs.
pub(crate) struct Observed<'s> {
    pub time_ms: i64,
    pub rule: &'s CompiledRule,
    pub file: usize,
    pub index: u64,
    pub line: Option<u64>,
    pub timestamp: String,
    pub event: Value,
}

/// The correlation part of a detection (JSON: flattened into it).
#[derive(Debug, Serialize)]
pub(crate) struct CorrelationInfo {
    /// The correlation type.
    pub correlation: &'static str,
    /// `group-by` name → value.
    pub group: Map<String, Value>,
    /// The aggregated value the condition held for.
    pub value: f64,
    /// Time of the oldest grouped event.
    pub window_start: String,
    /// Events grouped in all.
    pub event_count: u64,
    /// The grouped events (bounded): file, index, line, timestamp, event.
    pub events: Vec<Value>,
}

impl CorrelationInfo {
    /// `User=bob, Host=h1` for the table.
    pub fn group_text(&self) -> String {
        self.group
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn key(r: &CompiledRule) -> usize {
    std::ptr::from_ref(r) as usize
}

/// The engine and what `hunt` needs to know about the rules around it.
pub(crate) struct Correlator {
    engine: Engine<u64>,
    /// Rules whose matches feed correlations.
    wanted: HashSet<usize>,
    /// Rules whose own matches print.
    shown: HashSet<usize>,
}

impl Correlator {
    /// The engine for the correlations of `set` (before any rule is filtered out).
    pub fn new(set: &RuleSet) -> Self {
        Correlator {
            engine: Engine::new(set, Limits::default()),
            wanted: HashSet::new(),
            shown: HashSet::new(),
        }
    }

    /// Whether correlations need the rule even if the filters drop it.
    pub fn needs(&self, rule: &RuleMeta) -> bool {
        self.engine.wants(rule)
    }

    /// Records which of the (final) rules print and which feed correlations;
    /// `passes` tells whether a rule passes `--level`/`--status`.
    pub fn prepare(&mut self, set: &RuleSet, passes: impl Fn(&RuleMeta) -> bool) {
        for r in set.rules() {
            if self.engine.wants(&r.meta) {
                self.wanted.insert(key(r));
            }
            if passes(&r.meta) && self.engine.generates(&r.meta) {
                self.shown.insert(key(r));
            }
        }
    }

    /// Whether the rule's own matches print.
    pub fn shows(&self, r: &CompiledRule) -> bool {
        self.shown.contains(&key(r))
    }

    /// Whether the rule's matches feed correlations.
    pub fn wants(&self, r: &CompiledRule) -> bool {
        self.wanted.contains(&key(r))
    }

    /// Whether any correlation is loaded.
    pub fn active(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// Runs the engine over the collected matches in time order (ties: file, then event
    /// order) and returns the hits to report with their detections' correlation part.
    pub fn run(
        &mut self,
        mut seen: Vec<Observed<'_>>,
        files: &[String],
        passes: impl Fn(&RuleMeta) -> bool,
    ) -> Vec<(CorrelationHit<u64>, CorrelationInfo, usize)> {
        seen.sort_by_key(|o| (o.time_ms, o.file, o.index));
        let mut hits = Vec::new();
        for (i, o) in seen.iter().enumerate() {
            let Value::Object(m) = &o.event else { continue };
            hits.extend(self.engine.observe(&o.rule.meta, m, o.time_ms, i as u64));
        }
        hits.extend(self.engine.finish());
        hits.into_iter()
            .filter(|h| self.engine.reports(&h.meta) && passes(&h.meta))
            .map(|h| {
                let events = h
                    .events
                    .iter()
                    .filter_map(|i| seen.get(usize::try_from(*i).ok()?))
                    .map(|o| {
                        serde_json::json!({
                            "file": files.get(o.file),
                            "index": o.index,
                            "line": o.line,
                            "timestamp": o.timestamp,
                            "event": o.event,
                        })
                    })
                    .collect();
                let last = h
                    .events
                    .last()
                    .and_then(|i| seen.get(usize::try_from(*i).ok()?))
                    .map_or(0, |o| o.file);
                let info = CorrelationInfo {
                    correlation: h.kind.as_str(),
                    group: h
                        .group
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                    value: h.value,
                    window_start: rfc3339(h.window_start_ms),
                    event_count: h.event_count,
                    events,
                };
                (h, info, last)
            })
            .collect()
    }
}

/// Milliseconds since the epoch as RFC 3339.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| mcpsec_core::to_rfc3339(&t))
        .unwrap_or_default()
}
