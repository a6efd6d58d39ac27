//! Evaluating correlation rules over the matches of detection rules.
//!
//! An [`Engine`] is built from a [`RuleSet`]'s correlations and fed matches in event-time
//! order with [`Engine::observe`]; it returns the [`CorrelationHit`]s the match completes.
//! Hits of a correlation that another one references feed that one in turn (chains),
//! as an event made of the completing event's fields with the group-by values on top.
//!
//! # Windows
//!
//! Events are grouped per correlation by the values of its `group-by` fields (aliases
//! choose the field per referenced rule). An event missing one of them is not
//! correlated (counted in [`EngineStats::missing_group`]), as a `group by` query would
//! drop it; an event without a usable `condition.field` value (value_count), or whose
//! value is not a number (value_sum, value_avg, value_percentile, value_median), is
//! skipped the same way ([`EngineStats::missing_value`]).
//!
//! The timespan is measured in event time, never wall-clock time, in one of two ways:
//!
//! * **Sliding, firing at once**: when the aggregated value can only grow as events
//!   arrive (event_count, value_count, value_sum, temporal, temporal_ordered) and the
//!   condition only sets lower bounds (`gt`, `gte`; the default of the temporal types),
//!   the window is the `timespan` before the newest event. Older events leave it; the
//!   condition is checked on every arrival and fires as soon as it holds.
//! * **Closing**: any other case (an upper bound such as `lt`, `lte`, `eq`, `neq`, or an
//!   average or percentile, which may go down again) cannot be decided before the window
//!   is over. The window opens at the group's first event and closes at `timespan`
//!   after it: when an event of the group arrives later than that (the event then opens
//!   the next window), when [`Engine::advance`] is called with a later time, or at
//!   [`Engine::finish`]. The condition is checked once, on the closed window.
//!
//! # After a hit
//!
//! A hit empties its group's window: the events it reported are not counted again, so a
//! burst raises one alert rather than one per further event. Events that follow start
//! a new window, which fires again once the condition holds again (e.g. `gte: 10`
//! fires at the 10th, 20th, 30th failed login of a burst). The specification leaves
//! this open; one alert per satisfied window is what a scheduled query would report.
//!
//! # Bounded memory
//!
//! [`Limits`] caps, per correlation, the groups (the least recently updated are
//! dropped, after windows that are over), the events kept per group (the oldest are
//! dropped, so a count cannot exceed the cap) and the events kept over all groups (the
//! least recently updated groups go). Drops are counted in [`EngineStats`]. Values
//! taken from events are cut to [`MAX_VALUE_LEN`] bytes, longer ones ending in a hash of
//! the whole so that distinct values stay distinct. Memory is thus roughly bounded by
//! `max_events` × (about 100 bytes + a value + the event refs) per correlation.
//!
//! # Persistence
//!
//! [`Engine::snapshot`] returns a serde-serializable [`CorrelationState`];
//! [`Engine::restore`] loads one into an engine built from the same or a changed rule
//! set, dropping the windows of correlations that no longer exist or whose type,
//! rules, grouping or timespan changed.

pub(crate) mod group;
mod hit;
pub(crate) mod link;
mod state;
#[cfg(test)]
mod tests;
mod update;
mod values;

pub use hit::CorrelationHit;
pub use state::CorrelationState;

use crate::correlation::{CorrelationCondition, CorrelationRule, CorrelationType};
use crate::rule::RuleMeta;
use crate::ruleset::RuleSet;
use group::Group;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Longest value (bytes) kept from an event for a group or a distinct value; longer
/// ones keep their start and a hash of the whole, so distinct values stay distinct.
pub const MAX_VALUE_LEN: usize = 256;

/// Caps on the engine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Groups kept per correlation rule.
    pub max_groups: usize,
    /// Events kept per group.
    pub max_events_per_group: usize,
    /// Events kept per correlation rule, over all its groups.
    pub max_events: usize,
    /// Event refs reported per hit.
    pub max_refs_per_hit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 50_000,
            max_events_per_group: 10_000,
            max_events: 500_000,
            max_refs_per_hit: 100,
        }
    }
}

/// Counters of what the engine did and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Matches of referenced rules (and chained hits) observed.
    pub observed: u64,
    /// Hits reported.
    pub hits: u64,
    /// Matches not correlated because a `group-by` field was missing.
    pub missing_group: u64,
    /// Matches not correlated because the `condition.field` value was missing or, for
    /// the numeric types, not a number.
    pub missing_value: u64,
    /// Matches older than their group's window, dropped.
    pub late: u64,
    /// Groups dropped because of [`Limits::max_groups`] or [`Limits::max_events`].
    pub evicted_groups: u64,
    /// Events dropped because of [`Limits::max_events_per_group`], or with their group.
    pub evicted_events: u64,
}

struct Corr<R> {
    rule: CorrelationRule,
    /// The rule's metadata, shared by its hits.
    meta: Arc<RuleMeta>,
    cond: CorrelationCondition,
    span_ms: i64,
    sliding: bool,
    groups: HashMap<Vec<String>, Group<R>>,
    /// Events held over all groups.
    held: usize,
    /// Correlations (index, position) this one's hits feed.
    feeds: Vec<(usize, usize)>,
}

/// The correlation engine. `R` is the caller's reference to an event (an index, an id).
pub struct Engine<R> {
    corrs: Vec<Corr<R>>,
    /// Rule id or name → (correlation, position in its `rules`).
    by_rule: HashMap<String, Vec<(usize, usize)>>,
    limits: Limits,
    stats: EngineStats,
    seq: u64,
}

impl<R: Clone> Engine<R> {
    /// An engine for the correlations of `set`.
    pub fn new(set: &RuleSet, limits: Limits) -> Self {
        Engine::from_correlations(set.correlations(), limits)
    }

    /// An engine for correlations linked by a rule set build.
    fn from_correlations(rules: &[CorrelationRule], limits: Limits) -> Self {
        let mut corrs: Vec<Corr<R>> = rules
            .iter()
            .map(|r| {
                let cond = r.effective_condition();
                let grows = matches!(
                    r.kind,
                    CorrelationType::EventCount
                        | CorrelationType::ValueCount
                        | CorrelationType::ValueSum
                        | CorrelationType::Temporal
                        | CorrelationType::TemporalOrdered
                );
                Corr {
                    span_ms: i64::try_from(r.timespan.as_millis()).unwrap_or(i64::MAX),
                    sliding: grows && cond.only_lower_bounds(),
                    cond,
                    meta: Arc::new(r.meta.clone()),
                    rule: r.clone(),
                    groups: HashMap::new(),
                    held: 0,
                    feeds: Vec::new(),
                }
            })
            .collect();
        let mut by_rule: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for ci in 0..corrs.len() {
            for pi in 0..corrs[ci].rule.plan.len() {
                let p = &corrs[ci].rule.plan[pi];
                match p.correlation {
                    Some(src) => {
                        if let Some(s) = corrs.get_mut(src) {
                            s.feeds.push((ci, pi));
                        }
                    }
                    None => {
                        for k in p.keys.clone() {
                            let v = by_rule.entry(k).or_default();
                            if !v.contains(&(ci, pi)) {
                                v.push((ci, pi));
                            }
                        }
                    }
                }
            }
        }
        Engine {
            corrs,
            by_rule,
            limits,
            stats: EngineStats::default(),
            seq: 0,
        }
    }

    /// Whether any correlation references the rule (by its id or name).
    pub fn wants(&self, rule: &RuleMeta) -> bool {
        rule_keys(rule).any(|k| self.by_rule.contains_key(k))
    }

    /// Whether the rule's own matches should be reported: true unless every
    /// correlation referencing it (directly) leaves `generate` at false.
    pub fn generates(&self, rule: &RuleMeta) -> bool {
        let targets: Vec<&(usize, usize)> = rule_keys(rule)
            .filter_map(|k| self.by_rule.get(k))
            .flatten()
            .collect();
        targets.is_empty()
            || targets
                .iter()
                .any(|(c, _)| self.corrs.get(*c).is_some_and(|c| c.rule.generate))
    }

    /// Whether a correlation's own hits should be reported: true unless it feeds other
    /// correlations, all with `generate: false`.
    pub fn reports(&self, correlation: &RuleMeta) -> bool {
        let Some(c) = self.corrs.iter().find(|c| same(&c.rule.meta, correlation)) else {
            return true;
        };
        c.feeds.is_empty()
            || c.feeds
                .iter()
                .any(|(t, _)| self.corrs.get(*t).is_some_and(|t| t.rule.generate))
    }

    /// Ids and names of every detection rule the correlations reference.
    pub fn referenced_rules(&self) -> BTreeSet<String> {
        self.by_rule.keys().cloned().collect()
    }

    /// Counters so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// The limits in effect.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Groups currently held, over all correlations.
    pub fn group_count(&self) -> usize {
        self.corrs.iter().map(|c| c.groups.len()).sum()
    }

    /// Feeds one match of a detection rule (`rule`, e.g. `&compiled.meta`) on `event`
    /// at `time_ms` (event time, ms since the Unix epoch); returns the hits it completes,
    /// including those of chained correlations. Feed matches in time order.
    pub fn observe(
        &mut self,
        rule: &RuleMeta,
        event: &Map<String, Value>,
        time_ms: i64,
        event_ref: R,
    ) -> Vec<CorrelationHit<R>> {
        self.observe_keys(rule_keys(rule), event, time_ms, event_ref)
    }

    /// [`Engine::observe`] for a rule known only by its id or name (e.g. a stored
    /// detection).
    pub fn observe_by_name(
        &mut self,
        rule: &str,
        event: &Map<String, Value>,
        time_ms: i64,
        event_ref: R,
    ) -> Vec<CorrelationHit<R>> {
        self.observe_keys(std::iter::once(rule), event, time_ms, event_ref)
    }

    fn observe_keys<'k>(
        &mut self,
        keys: impl Iterator<Item = &'k str>,
        event: &Map<String, Value>,
        time_ms: i64,
        event_ref: R,
    ) -> Vec<CorrelationHit<R>> {
        let mut targets: Vec<(usize, usize)> = Vec::new();
        for k in keys {
            for t in self.by_rule.get(k).into_iter().flatten() {
                if !targets.contains(t) {
                    targets.push(*t);
                }
            }
        }
        let mut out = Vec::new();
        for (ci, pi) in targets {
            let refs = vec![event_ref.clone()];
            self.feed(ci, pi, event, (time_ms, None), refs, &mut out);
        }
        out
    }

    /// Closes the windows that end before `now_ms` and reports their hits; drops groups
    /// whose events have all left their window. `now_ms` is event time: typically the
    /// newest event time seen, or the current time minus the lateness allowed. Call it
    /// now and then, so that closing windows report without waiting for the group's next
    /// event and idle groups free their memory.
    pub fn advance(&mut self, now_ms: i64) -> Vec<CorrelationHit<R>> {
        let mut out = Vec::new();
        for ci in 0..self.corrs.len() {
            self.expire(ci, now_ms, &mut out);
        }
        out
    }

    /// Closes every open window (end of input) and reports their hits.
    pub fn finish(&mut self) -> Vec<CorrelationHit<R>> {
        self.advance(i64::MAX)
    }
}

fn rule_keys(meta: &RuleMeta) -> impl Iterator<Item = &str> {
    meta.id.as_deref().into_iter().chain(meta.name.as_deref())
}

fn same(a: &RuleMeta, b: &RuleMeta) -> bool {
    a.id == b.id && a.name == b.name && a.title == b.title
}
