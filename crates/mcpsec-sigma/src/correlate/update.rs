//! How an observation moves a group's window: grouping, sliding or closing, hits,
//! chains and the caps.

use super::group::{Entry, Group};
use super::values::{lookup, value_number, value_text};
use super::{CorrelationHit, Engine};
use crate::correlation::CorrelationType;
use serde_json::{Map, Value};
use std::sync::Arc;

impl<R: Clone> Engine<R> {
    pub(super) fn expire(&mut self, ci: usize, now_ms: i64, out: &mut Vec<CorrelationHit<R>>) {
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
    pub(super) fn close(
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
            self.emit(ci, hit, None, out);
        } else {
            g.clear();
        }
    }

    pub(super) fn hit(
        &self,
        ci: usize,
        key: &[String],
        g: &Group<R>,
        value: f64,
    ) -> CorrelationHit<R> {
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
    ///
    /// The chained correlations see the hit as an event: the fields of the event that
    /// completed it (when it was completed by one, not by a window closing), with the
    /// group-by values on top. So an outer correlation may group by a field the inner
    /// one does not group by, as in the specification's example.
    pub(super) fn emit(
        &mut self,
        ci: usize,
        hit: CorrelationHit<R>,
        trigger: Option<&Map<String, Value>>,
        out: &mut Vec<CorrelationHit<R>>,
    ) {
        self.stats.hits += 1;
        let feeds = self.corrs[ci].feeds.clone();
        if !feeds.is_empty() {
            let mut event = trigger.cloned().unwrap_or_default();
            for (k, v) in &hit.group {
                event.insert(k.clone(), Value::String(v.clone()));
            }
            for (ti, pi) in feeds {
                let t = (hit.window_end_ms, Some(hit.window_start_ms));
                self.feed(ti, pi, &event, t, hit.events.clone(), out);
            }
        }
        out.push(hit);
    }

    pub(super) fn feed(
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
            self.emit(ci, h, Some(event), out);
        }
        self.shed(ci);
    }

    /// Adds an entry to a group's window; returns the hit it completes (sliding mode).
    pub(super) fn update(
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
    pub(super) fn take(&mut self, ci: usize, key: &[String]) -> Option<Group<R>> {
        let c = self.corrs.get_mut(ci)?;
        let g = c.groups.remove(key)?;
        c.held = c.held.saturating_sub(g.entries.len());
        Some(g)
    }

    /// Puts a group back; an empty one is dropped.
    pub(super) fn put(&mut self, ci: usize, key: Vec<String>, g: Group<R>) {
        if let Some(c) = self.corrs.get_mut(ci)
            && !g.entries.is_empty()
        {
            c.held += g.entries.len();
            c.groups.insert(key, g);
        }
    }

    /// Drops the least recently updated groups while the correlation holds more
    /// events than [`Limits::max_events`].
    pub(super) fn shed(&mut self, ci: usize) {
        let max = self.limits.max_events.max(1);
        while self.corrs[ci].held > max {
            let n = self.corrs[ci].groups.len();
            self.evict_oldest(ci, (n / 8).max(1));
        }
    }

    /// Drops the `n` least recently updated groups of a correlation.
    pub(super) fn evict_oldest(&mut self, ci: usize, n: usize) {
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
    pub(super) fn make_room(&mut self, ci: usize, now: i64, out: &mut Vec<CorrelationHit<R>>) {
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
