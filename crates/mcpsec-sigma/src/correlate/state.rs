//! Saving and restoring the engine's windows.

use super::group::{Entry, Group};
use super::{Engine, EngineStats};
use crate::correlation::CorrelationRule;
use serde::{Deserialize, Serialize};

/// Format version of [`CorrelationState`].
const VERSION: u32 = 1;

/// The windows of an [`Engine`], to store and restore (serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: Deserialize<'de>"))]
pub struct CorrelationState<R> {
    /// Format version.
    pub version: u32,
    /// Counters at the time of the snapshot.
    pub stats: EngineStats,
    /// Engine sequence number (recency of groups).
    pub seq: u64,
    rules: Vec<RuleState<R>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: Deserialize<'de>"))]
struct RuleState<R> {
    /// The correlation's id, else name, else title.
    rule: String,
    /// What the windows depend on: type, rules, group-by, fields, timespan.
    fingerprint: String,
    groups: Vec<GroupState<R>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: Deserialize<'de>"))]
struct GroupState<R> {
    key: Vec<String>,
    start: i64,
    touched: u64,
    entries: Vec<Entry<R>>,
}

impl<R> CorrelationState<R> {
    /// Number of groups saved.
    pub fn group_count(&self) -> usize {
        self.rules.iter().map(|r| r.groups.len()).sum()
    }
}

fn fingerprint(r: &CorrelationRule) -> String {
    let fields = r
        .condition
        .as_ref()
        .map(|c| c.fields.join(","))
        .unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}|{}",
        r.kind.as_str(),
        r.rules.join(","),
        r.group_by.join(","),
        fields,
        r.timespan.as_millis(),
        serde_json::to_string(&r.aliases).unwrap_or_default()
    )
}

impl<R: Clone> Engine<R> {
    /// The open windows and counters, for [`Engine::restore`].
    pub fn snapshot(&self) -> CorrelationState<R> {
        CorrelationState {
            version: VERSION,
            stats: self.stats,
            seq: self.seq,
            rules: self
                .corrs
                .iter()
                .map(|c| RuleState {
                    rule: c.rule.display_name().to_owned(),
                    fingerprint: fingerprint(&c.rule),
                    groups: c
                        .groups
                        .iter()
                        .filter(|(_, g)| !g.entries.is_empty())
                        .map(|(k, g)| GroupState {
                            key: k.clone(),
                            start: g.start,
                            touched: g.touched,
                            entries: g.entries.iter().cloned().collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Replaces the windows with saved ones. Windows of correlations that are gone or
    /// changed are dropped; the number of groups dropped is returned. Caps apply: a
    /// state saved with larger limits is cut down.
    pub fn restore(&mut self, state: CorrelationState<R>) -> usize {
        let mut dropped = 0;
        for c in &mut self.corrs {
            c.groups.clear();
            c.held = 0;
        }
        self.stats = state.stats;
        self.seq = self.seq.max(state.seq);
        if state.version != VERSION {
            return state.group_count();
        }
        for rs in state.rules {
            let Some(c) = self.corrs.iter_mut().find(|c| {
                c.rule.display_name() == rs.rule && fingerprint(&c.rule) == rs.fingerprint
            }) else {
                dropped += rs.groups.len();
                continue;
            };
            let rules = c.rule.rules.len();
            let mut groups = rs.groups;
            // Most recent first, so the cap keeps those.
            groups.sort_by_key(|g| std::cmp::Reverse(g.touched));
            for gs in groups {
                if c.groups.len() >= self.limits.max_groups.max(1) {
                    dropped += 1;
                    self.stats.evicted_groups += 1;
                    continue;
                }
                let mut entries = gs.entries;
                entries.retain(|e| usize::from(e.pos) < rules);
                entries.sort_by_key(|e| e.t);
                let max = self.limits.max_events_per_group.max(1);
                if entries.len() > max {
                    let cut = entries.len() - max;
                    self.stats.evicted_events += cut as u64;
                    entries.drain(..cut);
                }
                let mut g = Group::from_entries(gs.start, rules, entries);
                g.touched = gs.touched;
                c.held += g.entries.len();
                c.groups.insert(gs.key, g);
            }
        }
        for ci in 0..self.corrs.len() {
            self.shed(ci);
        }
        dropped
    }
}
