//! One group of one correlation: the events in its window and their aggregates.

use crate::correlation::{CorrelationCondition, CorrelationType};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// One correlated event (or chained hit) kept in a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry<R> {
    /// Event time, milliseconds since the Unix epoch.
    pub t: i64,
    /// Position of the matching rule in `correlation.rules`.
    pub pos: u16,
    /// The distinct value (value_count, rarity percentile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Box<str>>,
    /// The number (value_sum, value_avg, value_percentile, value_median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num: Option<f64>,
    /// The events it stands for: one, or those of a chained correlation hit.
    pub refs: Vec<R>,
    /// For a chained hit: the start of its window, which is earlier than `t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
}

/// The window of one group. Aggregates are kept up to date as entries come and go,
/// and rebuilt from the entries after a restore.
#[derive(Debug, Clone)]
pub(crate) struct Group<R> {
    /// Entries in time order (ties in arrival order).
    pub entries: VecDeque<Entry<R>>,
    /// Start of the window (closing mode: the first event after the last reset).
    pub start: i64,
    /// Engine sequence number of the last update, for least-recently-used eviction.
    pub touched: u64,
    sum: f64,
    distinct: HashMap<Box<str>, u32>,
    per_pos: Vec<u32>,
}

impl<R> Group<R> {
    pub fn new(start: i64, rules: usize) -> Self {
        Group {
            entries: VecDeque::new(),
            start,
            touched: 0,
            sum: 0.0,
            distinct: HashMap::new(),
            per_pos: vec![0; rules],
        }
    }

    /// A group rebuilt from saved entries.
    pub fn from_entries(start: i64, rules: usize, entries: Vec<Entry<R>>) -> Self {
        let mut g = Group::new(start, rules);
        for e in entries {
            g.account(&e, true);
            g.entries.push_back(e);
        }
        g
    }

    /// Time of the oldest event the window stands for (chained hits reach back).
    pub fn oldest(&self) -> Option<i64> {
        self.entries
            .iter()
            .map(|e| e.from.unwrap_or(e.t).min(e.t))
            .min()
    }

    /// Newest event time in the window.
    pub fn newest(&self) -> Option<i64> {
        self.entries.back().map(|e| e.t)
    }

    fn account(&mut self, e: &Entry<R>, add: bool) {
        if let Some(n) = e.num {
            self.sum += if add { n } else { -n };
        }
        if let Some(k) = &e.key {
            if add {
                *self.distinct.entry(k.clone()).or_insert(0) += 1;
            } else if let Some(c) = self.distinct.get_mut(k) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.distinct.remove(k);
                }
            }
        }
        if let Some(c) = self.per_pos.get_mut(usize::from(e.pos)) {
            *c = if add {
                c.saturating_add(1)
            } else {
                c.saturating_sub(1)
            };
        }
    }

    /// Adds an entry at its place in time order.
    pub fn push(&mut self, e: Entry<R>) {
        self.account(&e, true);
        let at = self
            .entries
            .iter()
            .rposition(|x| x.t <= e.t)
            .map_or(0, |i| i + 1);
        self.entries.insert(at, e);
    }

    /// Drops the oldest entry.
    pub fn pop_oldest(&mut self) -> bool {
        match self.entries.pop_front() {
            Some(e) => {
                self.account(&e, false);
                if self.entries.is_empty() {
                    // Floating-point sums drift; an empty window starts from zero.
                    self.sum = 0.0;
                }
                true
            }
            None => false,
        }
    }

    /// Drops entries older than `limit`; returns how many.
    pub fn drop_before(&mut self, limit: i64) -> usize {
        let mut n = 0;
        while self.entries.front().is_some_and(|e| e.t < limit) {
            self.pop_oldest();
            n += 1;
        }
        n
    }

    /// Empties the window.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.sum = 0.0;
        self.distinct.clear();
        self.per_pos.iter_mut().for_each(|c| *c = 0);
    }

    /// The aggregated value of the window, `None` when there is nothing to aggregate.
    pub fn value(&self, kind: CorrelationType, cond: &CorrelationCondition) -> Option<f64> {
        let n = self.entries.len();
        if n == 0 {
            return None;
        }
        Some(match kind {
            CorrelationType::EventCount => n as f64,
            CorrelationType::ValueCount => self.distinct.len() as f64,
            CorrelationType::Temporal => self.per_pos.iter().filter(|c| **c > 0).count() as f64,
            CorrelationType::TemporalOrdered => self.ordered_prefix() as f64,
            CorrelationType::ValueSum => self.sum,
            CorrelationType::ValueAvg => self.sum / n as f64,
            CorrelationType::ValueMedian => self.percentile(50.0)?,
            CorrelationType::ValuePercentile => match cond.percentile {
                Some(p) => self.percentile(p)?,
                None => self.rarest_share()?,
            },
        })
    }

    /// How many of the referenced rules, in their listed order, match one after the
    /// other in the window (greedy earliest match, which finds the longest prefix).
    fn ordered_prefix(&self) -> usize {
        let mut next = 0usize;
        let mut last_t = i64::MIN;
        for e in &self.entries {
            if usize::from(e.pos) == next && e.t >= last_t {
                next += 1;
                last_t = e.t;
                if next == self.per_pos.len() {
                    break;
                }
            }
        }
        next
    }

    /// Linear-interpolation percentile of the numbers in the window.
    fn percentile(&self, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = self.entries.iter().filter_map(|e| e.num).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = (p / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
        let lo = rank.floor() as usize;
        let hi = rank.ceil() as usize;
        let (a, b) = (*v.get(lo)?, *v.get(hi)?);
        Some(a + (b - a) * (rank - lo as f64))
    }

    /// The share, in percent, of the rarest value among the entries with a value.
    fn rarest_share(&self) -> Option<f64> {
        let total: u32 = self.distinct.values().sum();
        let min = self.distinct.values().min()?;
        (total > 0).then(|| f64::from(*min) * 100.0 / f64::from(total))
    }
}
