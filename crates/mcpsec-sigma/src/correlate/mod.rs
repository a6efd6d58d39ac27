//! Evaluating correlation rules over the matches of detection rules.
//!
//! An [`Engine`] is built from a [`RuleSet`]'s correlations and fed matches in event-time
//! order with [`Engine::observe`]; it returns the [`CorrelationHit`]s the match completes.
//! Hits of a correlation that another one references feed that one in turn (chains).
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

pub use hit::CorrelationHit;
pub use state::CorrelationState;

use crate::correlation::{CorrelationCondition, CorrelationRule, CorrelationType};
use crate::fields::{PathSpec, unwrap_text};
use crate::rule::RuleMeta;
use crate::ruleset::RuleSet;
use group::{Entry, Group};
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

fn value_text(v: &Value) -> Option<String> {
    let mut s = match unwrap_text(v) {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    if s.len() > MAX_VALUE_LEN {
        // FNV-1a: stable across builds, so saved windows match after a restart.
        let hash = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut end = MAX_VALUE_LEN - 20;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(&format!("…{hash:016x}"));
    }
    Some(s)
}

fn value_number(v: &Value) -> Option<f64> {
    match unwrap_text(v) {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn lookup<'a>(event: &'a Map<String, Value>, paths: &[PathSpec]) -> Option<&'a Value> {
    paths
        .iter()
        .find_map(|p| p.get(event))
        .filter(|v| !v.is_null())
}

impl<R: Clone> Engine<R> {
    /// An engine for the correlations of `set`.
    pub fn new(set: &RuleSet, limits: Limits) -> Self {
        Engine::from_correlations(set.correlations(), limits)
    }

    /// An engine for correlations linked by a rule set build.
    pub fn from_correlations(rules: &[CorrelationRule], limits: Limits) -> Self {
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

    fn expire(&mut self, ci: usize, now_ms: i64, out: &mut Vec<CorrelationHit<R>>) {
        let Some(c) = self.corrs.get_mut(ci) else {
            return;
        };
        let span = c.span_ms;
        let sliding = c.sliding;
        let mut closed: Vec<Vec<String>> = Vec::new();
        let mut dropped = 0usize;
        c.groups.retain(|key, g| {
            let ended = if sliding {
                g.newest().is_none_or(|n| n.saturating_add(span) < now_ms)
            } else {
                g.start.saturating_add(span) < now_ms
            };
            if ended && !sliding && !g.entries.is_empty() {
                closed.push(key.clone());
                return true;
            }
            if ended {
                dropped += g.entries.len();
            }
            !ended
        });
        c.held = c.held.saturating_sub(dropped);
        // Hash order differs between runs; report in window order.
        closed.sort_by(|a, b| {
            let start = |k: &Vec<String>| self.corrs[ci].groups.get(k).map(|g| g.start);
            start(a).cmp(&start(b)).then_with(|| a.cmp(b))
        });
        for key in closed {
            if let Some(mut g) = self.take(ci, &key) {
                self.close(ci, &key, &mut g, out);
            }
        }
    }

    /// Evaluates a closing window and reports it if the condition holds.
    fn close(
        &mut self,
        ci: usize,
        key: &[String],
        g: &mut Group<R>,
        out: &mut Vec<CorrelationHit<R>>,
    ) {
        let c = &self.corrs[ci];
        if let Some(v) = g.value(c.rule.kind, &c.cond)
            && c.cond.holds(v)
        {
            let hit = self.hit(ci, key, g, v);
            g.clear();
            self.emit(ci, hit, out);
        } else {
            g.clear();
        }
    }

    fn hit(&self, ci: usize, key: &[String], g: &Group<R>, value: f64) -> CorrelationHit<R> {
        let c = &self.corrs[ci];
        let total: usize = g.entries.iter().map(|e| e.refs.len()).sum();
        let max = self.limits.max_refs_per_hit.max(1);
        let mut events: Vec<R> = g
            .entries
            .iter()
            .flat_map(|e| e.refs.iter())
            .take(max.saturating_sub(1).min(total))
            .cloned()
            .collect();
        if total > events.len()
            && let Some(last) = g.entries.back().and_then(|e| e.refs.last())
        {
            events.push(last.clone());
        }
        CorrelationHit {
            meta: Arc::clone(&c.meta),
            kind: c.rule.kind,
            group: c
                .rule
                .group_by
                .iter()
                .cloned()
                .zip(key.iter().cloned())
                .collect(),
            value,
            window_start_ms: g.oldest().unwrap_or(g.start),
            window_end_ms: g.entries.back().map_or(g.start, |e| e.t),
            events,
            event_count: total as u64,
        }
    }

    /// Reports a hit and feeds it to the correlations chained on this one.
    fn emit(&mut self, ci: usize, hit: CorrelationHit<R>, out: &mut Vec<CorrelationHit<R>>) {
        self.stats.hits += 1;
        let feeds = self.corrs[ci].feeds.clone();
        if !feeds.is_empty() {
            let event: Map<String, Value> = hit
                .group
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            for (ti, pi) in feeds {
                let t = (hit.window_end_ms, Some(hit.window_start_ms));
                self.feed(ti, pi, &event, t, hit.events.clone(), out);
            }
        }
        out.push(hit);
    }

    fn feed(
        &mut self,
        ci: usize,
        pi: usize,
        event: &Map<String, Value>,
        (t, from): (i64, Option<i64>),
        refs: Vec<R>,
        out: &mut Vec<CorrelationHit<R>>,
    ) {
        self.stats.observed += 1;
        self.seq += 1;
        let Some(c) = self.corrs.get(ci) else { return };
        let Some(plan) = c.rule.plan.get(pi) else {
            return;
        };
        let mut key = Vec::with_capacity(plan.group_paths.len());
        for paths in &plan.group_paths {
            match lookup(event, paths).and_then(value_text) {
                Some(v) => key.push(v),
                None => {
                    self.stats.missing_group += 1;
                    return;
                }
            }
        }
        let kind = c.rule.kind;
        let (mut dkey, mut num) = (None, None);
        if kind == CorrelationType::ValueCount
            || (kind == CorrelationType::ValuePercentile && c.cond.percentile.is_none())
        {
            let mut parts = Vec::with_capacity(plan.value_paths.len());
            for paths in &plan.value_paths {
                match lookup(event, paths).and_then(value_text) {
                    Some(v) => parts.push(v),
                    None => {
                        self.stats.missing_value += 1;
                        return;
                    }
                }
            }
            dkey = Some(parts.join("\u{1f}").into_boxed_str());
        } else if kind.is_metric() {
            match plan
                .value_paths
                .first()
                .and_then(|p| lookup(event, p))
                .and_then(value_number)
            {
                Some(n) => num = Some(n),
                None => {
                    self.stats.missing_value += 1;
                    return;
                }
            }
        }
        let entry = Entry {
            t,
            pos: u16::try_from(pi).unwrap_or(u16::MAX),
            key: dkey,
            num,
            refs,
            from,
        };
        let rules = c.rule.rules.len();
        if !self.corrs[ci].groups.contains_key(&key) {
            self.make_room(ci, t, out);
        }
        let mut g = self.take(ci, &key).unwrap_or_else(|| Group::new(t, rules));
        g.touched = self.seq;
        let hit = self.update(ci, &key, &mut g, entry, out);
        self.put(ci, key, g);
        if let Some(h) = hit {
            self.emit(ci, h, out);
        }
        self.shed(ci);
    }

    /// Adds an entry to a group's window; returns the hit it completes (sliding mode).
    fn update(
        &mut self,
        ci: usize,
        key: &[String],
        g: &mut Group<R>,
        entry: Entry<R>,
        out: &mut Vec<CorrelationHit<R>>,
    ) -> Option<CorrelationHit<R>> {
        let (span, sliding) = (self.corrs[ci].span_ms, self.corrs[ci].sliding);
        let t = entry.t;
        if sliding {
            let newest = g.newest().unwrap_or(t).max(t);
            let limit = newest.saturating_sub(span);
            if t < limit {
                self.stats.late += 1;
                return None;
            }
            g.drop_before(limit);
        } else if !g.entries.is_empty() && t > g.start.saturating_add(span) {
            self.close(ci, key, g, out);
        } else if t < g.start {
            self.stats.late += 1;
            return None;
        }
        if g.entries.is_empty() {
            g.start = t;
        }
        g.push(entry);
        let max_events = self.limits.max_events_per_group.max(1);
        while g.entries.len() > max_events {
            g.pop_oldest();
            self.stats.evicted_events += 1;
        }
        let c = &self.corrs[ci];
        if sliding
            && let Some(v) = g.value(c.rule.kind, &c.cond)
            && c.cond.holds(v)
        {
            let hit = self.hit(ci, key, g, v);
            g.clear();
            return Some(hit);
        }
        None
    }

    /// Takes a group out of its correlation (to update it without holding a borrow).
    fn take(&mut self, ci: usize, key: &[String]) -> Option<Group<R>> {
        let c = self.corrs.get_mut(ci)?;
        let g = c.groups.remove(key)?;
        c.held = c.held.saturating_sub(g.entries.len());
        Some(g)
    }

    /// Puts a group back; an empty one is dropped.
    fn put(&mut self, ci: usize, key: Vec<String>, g: Group<R>) {
        if let Some(c) = self.corrs.get_mut(ci)
            && !g.entries.is_empty()
        {
            c.held += g.entries.len();
            c.groups.insert(key, g);
        }
    }

    /// Drops the least recently updated groups while the correlation holds more
    /// events than [`Limits::max_events`].
    fn shed(&mut self, ci: usize) {
        let max = self.limits.max_events.max(1);
        while self.corrs[ci].held > max {
            let n = self.corrs[ci].groups.len();
            self.evict_oldest(ci, (n / 8).max(1));
        }
    }

    /// Drops the `n` least recently updated groups of a correlation.
    fn evict_oldest(&mut self, ci: usize, n: usize) {
        let c = &mut self.corrs[ci];
        if c.groups.is_empty() || n == 0 {
            c.held = 0;
            return;
        }
        let mut touched: Vec<u64> = c.groups.values().map(|g| g.touched).collect();
        let n = n.min(touched.len());
        let (_, nth, _) = touched.select_nth_unstable(n - 1);
        let cut = *nth;
        let (mut groups, mut events) = (0u64, 0usize);
        c.groups.retain(|_, g| {
            let keep = g.touched > cut;
            if !keep {
                groups += 1;
                events += g.entries.len();
            }
            keep
        });
        c.held = c.held.saturating_sub(events);
        self.stats.evicted_groups += groups;
        self.stats.evicted_events += events as u64;
    }

    /// Makes room for one more group: ends windows that are over, then drops the least
    /// recently updated eighth of the groups.
    fn make_room(&mut self, ci: usize, now: i64, out: &mut Vec<CorrelationHit<R>>) {
        let max = self.limits.max_groups.max(1);
        if self.corrs[ci].groups.len() < max {
            return;
        }
        self.expire(ci, now, out);
        let n = self.corrs[ci].groups.len();
        if n >= max {
            self.evict_oldest(ci, (n / 8).max(1));
        }
    }
}

fn rule_keys(meta: &RuleMeta) -> impl Iterator<Item = &str> {
    meta.id.as_deref().into_iter().chain(meta.name.as_deref())
}

fn same(a: &RuleMeta, b: &RuleMeta) -> bool {
    a.id == b.id && a.name == b.name && a.title == b.title
}
