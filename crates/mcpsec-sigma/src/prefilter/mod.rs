//! The shared substring prefilter: every `contains` needle of every rule on a field goes
//! into one Aho-Corasick automaton per field, run once per event over the field's
//! lowercased text. A `contains` test is then a bit lookup instead of a substring search
//! per needle, so thousands of rules on `CommandLine` cost one pass over it.

use crate::fields::FieldId;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

mod scope;

pub use scope::Scope;
pub(crate) use scope::{Narrowed, Reach};

/// The busy field gets a DFA up to this many needles (SigmaHQ's 516 keyword needles make
/// a DFA of 4 MB; on 3,000 EVTX-shaped events it takes a seventh of the instructions off
/// the pre-match, callgrind).
const MAX_DFA_NEEDLES: usize = 2000;

/// Needles per field, collected while rules are compiled.
#[derive(Debug, Default)]
pub struct PrefilterBuilder {
    fields: HashMap<FieldId, Needles>,
}

/// One field's needles, with the events each can matter on.
#[derive(Debug, Default)]
struct Needles {
    list: Vec<String>,
    reach: Vec<Reach>,
    index: HashMap<String, u32>,
}

impl PrefilterBuilder {
    /// The id of `needle` (already lowercased) on `field`, read on any event.
    pub fn intern(&mut self, field: FieldId, needle: &str) -> u32 {
        self.intern_for(field, needle, None)
    }

    /// The id of `needle` on `field`, read by rules of the logsource `groups` only
    /// (`None`: whatever the logsource).
    pub(crate) fn intern_for(
        &mut self,
        field: FieldId,
        needle: &str,
        groups: Option<&[usize]>,
    ) -> u32 {
        let n = self.fields.entry(field).or_default();
        let reach = Reach::of(groups);
        if let Some(id) = n.index.get(needle) {
            if let Some(r) = n.reach.get_mut(*id as usize) {
                r.widen(reach);
            }
            return *id;
        }
        let id = u32::try_from(n.list.len()).unwrap_or(u32::MAX);
        n.list.push(needle.to_owned());
        n.reach.push(reach);
        n.index.insert(needle.to_owned(), id);
        id
    }

    /// Whether a needle of `field` satisfies `pred`.
    pub(crate) fn any_needle(&self, field: FieldId, pred: impl Fn(&str) -> bool) -> bool {
        self.fields
            .get(&field)
            .is_some_and(|n| n.list.iter().any(|x| pred(x)))
    }

    /// Builds the automata, one per field on all cores; `None` for a field whose
    /// automaton could not be built (its tests then search directly). `busy` is a field
    /// scanned on every event with a long text (the keyword text of all values): it gets
    /// a DFA, one table lookup per byte, where the others keep the default, smaller
    /// automaton (their texts are short, and the largest would take tens of MB as DFAs).
    pub fn build(self, field_count: usize, busy: Option<FieldId>) -> (Prefilter, Vec<FieldId>) {
        let built: Vec<_> = self
            .fields
            .into_par_iter()
            .map(|(f, n)| {
                let dfa = Some(f) == busy && n.list.len() <= MAX_DFA_NEEDLES;
                let p = Scanner::new(&n.list, dfa).map(|ac| FieldPatterns {
                    ac,
                    words: n.list.len().div_ceil(64),
                    needles: n.list,
                    reach: n.reach,
                    dfa: Some(f) == busy,
                });
                (f, p)
            })
            .collect();
        let mut per_field: Vec<Option<FieldPatterns>> =
            std::iter::repeat_with(|| None).take(field_count).collect();
        let mut failed = Vec::new();
        for (f, p) in built {
            match (p, per_field.get_mut(f.0 as usize)) {
                (Some(p), Some(slot)) => *slot = Some(p),
                _ => failed.push(f),
            }
        }
        let scopes = Arc::default();
        (Prefilter { per_field, scopes }, failed)
    }
}

/// An automaton over some needles, with a vectorized first look when there are few.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    ac: AhoCorasick,
    /// Finds where the first needle occurrence starts (or that there is none) much
    /// faster than the automaton walks; most texts hold none of a small set.
    first: Option<aho_corasick::packed::Searcher>,
}

/// Needle sets up to this size get a packed (SIMD) first look.
const PACKED_NEEDLES: usize = 64;

impl Scanner {
    /// An automaton over `needles` (a DFA when `dfa`); `None` when it cannot be built.
    pub(crate) fn new<I, P>(needles: I, dfa: bool) -> Option<Scanner>
    where
        I: IntoIterator<Item = P> + Clone,
        P: AsRef<[u8]>,
    {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(dfa.then_some(AhoCorasickKind::DFA))
            .build(needles.clone())
            .ok()?;
        let first = (ac.patterns_len() <= PACKED_NEEDLES)
            .then(|| {
                aho_corasick::packed::Config::new()
                    .builder()
                    .extend(needles)
                    .build()
            })
            .flatten();
        Some(Scanner { ac, first })
    }

    /// Calls `found` with the id of every needle occurring in `text`.
    pub(crate) fn scan(&self, text: &str, mut found: impl FnMut(usize)) {
        // Every occurrence starts at or after the leftmost one.
        let start = match &self.first {
            Some(first) => match first.find(text) {
                Some(m) => m.start(),
                None => return,
            },
            None => 0,
        };
        let input = aho_corasick::Input::new(text).range(start..);
        for m in self.ac.find_overlapping_iter(input) {
            found(m.pattern().as_usize());
        }
    }
}

#[derive(Debug, Clone)]
struct FieldPatterns {
    ac: Scanner,
    words: usize,
    /// The needles, by pattern id (narrowed automata are built from them).
    needles: Vec<String>,
    /// Where each needle can matter.
    reach: Vec<Reach>,
    /// The field is scanned on every event with a long text (it gets DFAs).
    dfa: bool,
}

/// One automaton per field, and narrowed ones per group set ([`Scope`]).
#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    per_field: Vec<Option<FieldPatterns>>,
    scopes: Arc<scope::Scopes>,
}

impl Prefilter {
    /// Number of fields the prefilter was built for.
    pub fn len(&self) -> usize {
        self.per_field.len()
    }

    /// Whether no field has an automaton.
    pub fn is_empty(&self) -> bool {
        self.per_field.iter().all(Option::is_none)
    }

    /// The set of needles (as a bitset) occurring in `text`, the lowercased field value.
    pub fn scan(&self, field: FieldId, text: &str) -> Box<[u64]> {
        let mut bits = Vec::new();
        self.scan_into(field, text, None, &mut bits);
        bits.into_boxed_slice()
    }

    /// [`Prefilter::scan`] into a reused buffer (cleared first; empty when the field has
    /// no automaton). With a `scope`, only the needles that can matter on its group set
    /// are looked for (the others read as absent).
    pub fn scan_into(
        &self,
        field: FieldId,
        text: &str,
        scope: Option<&Scope>,
        bits: &mut Vec<u64>,
    ) {
        bits.clear();
        let Some(Some(p)) = self.per_field.get(field.0 as usize) else {
            return;
        };
        bits.resize(p.words, 0);
        let mut set = |id: usize| {
            if let Some(w) = bits.get_mut(id / 64) {
                *w |= 1 << (id % 64);
            }
        };
        match scope.map(|s| self.narrowed(s, field)) {
            Some(Narrowed::Empty) => {}
            Some(Narrowed::Part(part)) => part.ac.scan(text, |i| {
                if let Some(id) = part.ids.get(i) {
                    set(*id as usize);
                }
            }),
            None | Some(Narrowed::Whole) => p.ac.scan(text, set),
        }
    }
}
