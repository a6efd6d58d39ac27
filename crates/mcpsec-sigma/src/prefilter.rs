//! The shared substring prefilter: every `contains` needle of every rule on a field goes
//! into one Aho-Corasick automaton per field, run once per event over the field's
//! lowercased text. A `contains` test is then a bit lookup instead of a substring search
//! per needle, so thousands of rules on `CommandLine` cost one pass over it.

use crate::fields::FieldId;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rayon::prelude::*;
use std::collections::HashMap;

/// The busy field gets a DFA up to this many needles (SigmaHQ's 516 keyword needles make
/// a DFA of 4 MB; on 3,000 EVTX-shaped events it takes a seventh of the instructions off
/// the pre-match, callgrind).
const MAX_DFA_NEEDLES: usize = 2000;

/// Needles per field, collected while rules are compiled.
#[derive(Debug, Default)]
pub struct PrefilterBuilder {
    fields: HashMap<FieldId, (Vec<String>, HashMap<String, u32>)>,
}

impl PrefilterBuilder {
    /// The id of `needle` (already lowercased) on `field`.
    pub fn intern(&mut self, field: FieldId, needle: &str) -> u32 {
        let (list, index) = self.fields.entry(field).or_default();
        if let Some(id) = index.get(needle) {
            return *id;
        }
        let id = u32::try_from(list.len()).unwrap_or(u32::MAX);
        list.push(needle.to_owned());
        index.insert(needle.to_owned(), id);
        id
    }

    /// Whether a needle of `field` satisfies `pred`.
    pub(crate) fn any_needle(&self, field: FieldId, pred: impl Fn(&str) -> bool) -> bool {
        self.fields
            .get(&field)
            .is_some_and(|(list, _)| list.iter().any(|n| pred(n)))
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
            .map(|(f, (needles, _))| {
                let dfa = Some(f) == busy && needles.len() <= MAX_DFA_NEEDLES;
                let ac = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(dfa.then_some(AhoCorasickKind::DFA))
                    .build(&needles);
                (f, ac.ok(), needles.len().div_ceil(64))
            })
            .collect();
        let mut per_field: Vec<Option<FieldPatterns>> =
            std::iter::repeat_with(|| None).take(field_count).collect();
        let mut failed = Vec::new();
        for (f, ac, words) in built {
            match (ac, per_field.get_mut(f.0 as usize)) {
                (Some(ac), Some(slot)) => *slot = Some(FieldPatterns { ac, words }),
                _ => failed.push(f),
            }
        }
        (Prefilter { per_field }, failed)
    }
}

#[derive(Debug, Clone)]
struct FieldPatterns {
    ac: AhoCorasick,
    words: usize,
}

/// One automaton per field.
#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    per_field: Vec<Option<FieldPatterns>>,
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
        self.scan_into(field, text, &mut bits);
        bits.into_boxed_slice()
    }

    /// [`Prefilter::scan`] into a reused buffer (cleared first; empty when the field has
    /// no automaton).
    pub fn scan_into(&self, field: FieldId, text: &str, bits: &mut Vec<u64>) {
        bits.clear();
        let Some(Some(p)) = self.per_field.get(field.0 as usize) else {
            return;
        };
        bits.resize(p.words, 0);
        for m in p.ac.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            if let Some(w) = bits.get_mut(id / 64) {
                *w |= 1 << (id % 64);
            }
        }
    }
}
