//! Needle sets narrowed to the logsource groups that hold for an event.
//!
//! Most needles are read only by the rules of some logsource groups (a `contains` of a
//! process-creation rule, a keyword of a rule for the Security channel); a few by tests
//! that run on every event. Once the groups that hold for an event are known, only the
//! needles of those groups can change a result, and a field's automaton over them alone
//! is often a small part of the whole: SigmaHQ's 516 keyword needles come down to the
//! few dozen of the rules for any Windows event. A smaller automaton stays in cache, and
//! one of a few dozen needles skips ahead with a vectorized prefilter instead of stepping
//! through every byte. Narrowed automata are built on first use, once per group set and
//! field, and shared by every thread (identical needle sets share one automaton).

use super::{FieldPatterns, Prefilter, Scanner};
use crate::fields::FieldId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Most group sets kept (each holds a slot per field, some kilobytes); events of further
/// sets scan with the whole automata.
const MAX_SCOPES: usize = 1024;

/// The events on which a needle can matter.
#[derive(Debug, Clone)]
pub(crate) enum Reach {
    /// Read by a test that runs whatever the logsource.
    Everywhere,
    /// Read only by rules of these logsource groups (sorted).
    Groups(Vec<u32>),
}

impl Reach {
    /// The reach of a needle read by rules of `groups` (`None`: on every event).
    pub(crate) fn of(groups: Option<&[usize]>) -> Reach {
        match groups {
            None => Reach::Everywhere,
            Some(gs) => {
                let mut v: Vec<u32> = gs
                    .iter()
                    .map(|g| u32::try_from(*g).unwrap_or(u32::MAX))
                    .collect();
                v.sort_unstable();
                v.dedup();
                Reach::Groups(v)
            }
        }
    }

    /// Widens the reach by another reader's.
    pub(crate) fn widen(&mut self, other: Reach) {
        match (&mut *self, other) {
            (Reach::Everywhere, _) => {}
            (_, Reach::Everywhere) => *self = Reach::Everywhere,
            (Reach::Groups(a), Reach::Groups(b)) => {
                a.extend(b);
                a.sort_unstable();
                a.dedup();
            }
        }
    }

    /// Whether the needle can matter when the groups of `hold` (a bitset) hold.
    fn within(&self, hold: &[u64]) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Groups(gs) => gs.iter().any(|g| {
                let g = *g as usize;
                hold.get(g / 64).is_some_and(|w| w >> (g % 64) & 1 == 1)
            }),
        }
    }
}

/// A field's automaton for one group set.
#[derive(Debug)]
pub(crate) enum Narrowed {
    /// No needle of the field matters: nothing to scan.
    Empty,
    /// Most needles matter: the field's whole automaton.
    Whole,
    /// An automaton over the needles that matter.
    Part(Arc<Part>),
}

/// An automaton over some of a field's needles.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) ac: Scanner,
    /// The field's pattern id of each of this automaton's patterns.
    pub(crate) ids: Vec<u32>,
}

/// The narrowed automata of one group set, field by field, built on first use.
#[derive(Debug)]
pub struct Scope {
    /// The prefilter it belongs to (the address of its shared [`Scopes`]): another
    /// prefilter's scope is ignored.
    owner: usize,
    hold: Box<[u64]>,
    fields: Box<[OnceLock<Narrowed>]>,
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A field and some of its pattern ids.
type PartKey = (u32, Vec<u32>);

/// Scopes by group set, shared by the clones of a prefilter.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    by_hold: RwLock<Map<Box<[u64]>, Arc<Scope>>>,
    /// Narrowed automata by (field, pattern ids), so group sets that keep the same
    /// needles of a field share one.
    parts: Mutex<Map<PartKey, Arc<Part>>>,
}

impl Prefilter {
    /// The scope of the group set `hold` (a bitset by logsource group); `None` once
    /// [`MAX_SCOPES`] sets are kept (then the whole automata serve).
    pub fn scope(&self, hold: &[u64]) -> Option<Arc<Scope>> {
        let end = hold.iter().rposition(|w| *w != 0).map_or(0, |i| i + 1);
        let hold = hold.get(..end)?;
        if let Ok(map) = self.scopes.by_hold.read()
            && let Some(s) = map.get(hold)
        {
            return Some(Arc::clone(s));
        }
        let mut map = self.scopes.by_hold.write().ok()?;
        if let Some(s) = map.get(hold) {
            return Some(Arc::clone(s));
        }
        if map.len() >= MAX_SCOPES {
            return None;
        }
        let scope = Arc::new(Scope {
            owner: self.owner(),
            hold: hold.into(),
            fields: std::iter::repeat_with(OnceLock::new)
                .take(self.per_field.len())
                .collect(),
        });
        map.insert(hold.into(), Arc::clone(&scope));
        Some(scope)
    }

    fn owner(&self) -> usize {
        Arc::as_ptr(&self.scopes) as usize
    }

    /// The automaton for `field` in `scope`, built on first use.
    pub(crate) fn narrowed<'s>(&self, scope: &'s Scope, field: FieldId) -> &'s Narrowed {
        static WHOLE: Narrowed = Narrowed::Whole;
        if scope.owner != self.owner() {
            return &WHOLE;
        }
        let (Some(cell), Some(Some(p))) = (
            scope.fields.get(field.0 as usize),
            self.per_field.get(field.0 as usize),
        ) else {
            return &WHOLE;
        };
        cell.get_or_init(|| self.narrow(p, field, &scope.hold))
    }

    fn narrow(&self, p: &FieldPatterns, field: FieldId, hold: &[u64]) -> Narrowed {
        let ids: Vec<u32> = p
            .reach
            .iter()
            .enumerate()
            .filter(|(_, r)| r.within(hold))
            .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        // Narrowing pays when it drops at least half of the needles.
        if ids.is_empty() {
            return Narrowed::Empty;
        }
        if ids.len() * 2 > p.reach.len() {
            return Narrowed::Whole;
        }
        let Ok(mut parts) = self.scopes.parts.lock() else {
            return Narrowed::Whole;
        };
        let key = (field.0, ids);
        if let Some(part) = parts.get(&key) {
            return Narrowed::Part(Arc::clone(part));
        }
        let needles = key.1.iter().filter_map(|i| p.needles.get(*i as usize));
        let dfa = p.dfa || key.1.len() <= SMALL;
        match Scanner::new(needles, dfa) {
            Some(ac) => {
                let part = Arc::new(Part {
                    ac,
                    ids: key.1.clone(),
                });
                parts.insert(key, Arc::clone(&part));
                Narrowed::Part(part)
            }
            None => Narrowed::Whole,
        }
    }
}

/// Narrowed automata of up to this many needles are DFAs (fast, and small at that size).
const SMALL: usize = 64;

#[cfg(test)]
mod tests {
    use super::super::PrefilterBuilder;
    use crate::fields::FieldId;

    fn found(pf: &super::Prefilter, f: FieldId, text: &str, hold: Option<&[u64]>) -> Vec<usize> {
        let scope = hold.and_then(|h| pf.scope(h));
        let mut bits = Vec::new();
        pf.scan_into(f, text, scope.as_deref(), &mut bits);
        (0..bits.len() * 64)
            .filter(|i| bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1))
            .collect()
    }

    #[test]
    fn a_scope_looks_only_for_the_needles_of_its_groups() {
        let f = FieldId(0);
        let mut b = PrefilterBuilder::default();
        let net = b.intern_for(f, "curl", Some(&[1]));
        let proc_ = b.intern_for(f, "whoami", Some(&[0]));
        let any = b.intern_for(f, "bash", None);
        // Read by rules of two groups: reaches both.
        let shared = b.intern_for(f, "wget", Some(&[0]));
        assert_eq!(b.intern_for(f, "wget", Some(&[2])), shared);
        // Enough needles of group 0 that narrowing to group 1 drops more than half.
        for i in 0..8 {
            b.intern_for(f, &format!("tool{i}"), Some(&[0]));
        }
        let (pf, failed) = b.build(1, None);
        assert!(failed.is_empty());
        let text = "bash -c 'curl x | whoami; wget y'";
        let all = [net, proc_, any, shared].map(|i| i as usize);
        let mut sorted = all.to_vec();
        sorted.sort_unstable();
        // No scope: every needle.
        assert_eq!(found(&pf, f, text, None), sorted);
        // Group 1 holds: its needle and the one read everywhere.
        let mut want = vec![net as usize, any as usize];
        want.sort_unstable();
        assert_eq!(found(&pf, f, text, Some(&[0b010])), want);
        // Group 2: the shared needle reaches it.
        let mut want = vec![any as usize, shared as usize];
        want.sort_unstable();
        assert_eq!(found(&pf, f, text, Some(&[0b100])), want);
        // No group holds: only the needle read everywhere.
        assert_eq!(found(&pf, f, text, Some(&[0])), vec![any as usize]);
        // Group 0 holds most needles: the whole automaton serves, results unchanged.
        assert_eq!(found(&pf, f, text, Some(&[0b001])), sorted);
        // Another prefilter's scope is ignored: every needle again.
        let (other, _) = PrefilterBuilder::default().build(1, None);
        let foreign = other.scope(&[0b010]);
        let mut bits = Vec::new();
        pf.scan_into(f, text, foreign.as_deref(), &mut bits);
        let all_bits: Vec<usize> = (0..64)
            .filter(|i| bits.first().is_some_and(|w| w >> i & 1 == 1))
            .collect();
        assert_eq!(all_bits, sorted);
    }

    #[test]
    fn the_packed_first_look_misses_no_overlapping_needle() {
        let f = FieldId(0);
        let needles = ["abc", "bc", "c", "xabcd", "d", "zz"];
        let mut b = PrefilterBuilder::default();
        for n in needles {
            b.intern(f, n);
        }
        let (pf, _) = b.build(1, None);
        for text in [
            "",
            "q",
            "xabcd",
            "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqxabcdzz",
            "dc",
        ] {
            let want: Vec<usize> = (0..needles.len())
                .filter(|i| needles.get(*i).is_some_and(|n| text.contains(n)))
                .collect();
            assert_eq!(found(&pf, f, text, None), want, "{text:?}");
        }
    }
}
