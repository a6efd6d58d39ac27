//! Necessary-literal gates: which rules an event can possibly match, before evaluating any.
//!
//! For every rule we derive, from its condition's AND/OR structure, a set of
//! `(field, literal)` pairs such that *if the rule matches, at least one literal occurs in
//! the lowercased text of its field*. The literals go into the per-field Aho-Corasick
//! automata of the [`crate::prefilter`] (the same pass that serves `contains` tests), and
//! an inverted index maps each literal to the rules it gates. Per event, the gated fields
//! are scanned once; only rules with a literal seen (plus the rules without a gate) are
//! evaluated. Skipping is exact: a gate never drops a rule that would match.
//!
//! How a gate is derived (`None` = no bound, the rule is always evaluated):
//! - a value list (`Field: [a, b]`): the union of each alternative's literal (`equals`,
//!   `startswith`, `endswith`, `contains` all imply "the literal occurs in the value");
//!   unbounded when an alternative has none (regex, `null`, numbers, CIDR, field refs…);
//! - an AND (a search's map, `and`, `all of`): the cheapest bounded member;
//! - an OR (`or`, a list of maps, `1 of`): the union of all members, unbounded if any is;
//! - `not`: unbounded.
//!
//! Non-string values are checked through their text (`4688`, `true`); arrays and objects
//! let every literal of their field through.

use crate::fields::{EventCtx, FieldId};
use crate::prefilter::{Prefilter, PrefilterBuilder};
use serde_json::Value;

/// A necessary condition: at least one of these literals occurs in its field's text.
/// `None` when no such bound is known.
pub(crate) type Need = Option<Vec<(FieldId, String)>>;

/// Estimated cost of evaluating a gate: short literals occur often, long ones rarely.
pub(crate) fn cost(need: &[(FieldId, String)]) -> f64 {
    need.iter()
        .map(|(_, lit)| {
            let n = lit.chars().count().min(16) as f64;
            1.0 / (n * n)
        })
        .sum()
}

/// The cheapest of several necessary conditions that all hold (an AND).
pub(crate) fn all_of(needs: impl IntoIterator<Item = Need>) -> Need {
    needs
        .into_iter()
        .flatten()
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
}

/// The union of conditions of which one holds (an OR); unbounded if any member is.
pub(crate) fn any_of(needs: impl IntoIterator<Item = Need>) -> Need {
    let mut out = Vec::new();
    for n in needs {
        out.extend(n?);
    }
    out.sort_unstable_by(|a, b| (a.0.0, &a.1).cmp(&(b.0.0, &b.1)));
    out.dedup();
    Some(out)
}

/// Whether `n` is a decimal integer written the way a JSON number prints, so a numeric
/// event value equal to it contains it in its text (`4688` yes; `04688`, `1e3`, `-0` no).
pub(crate) fn plain_integer(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let ok = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    ok && n != "-0"
}

/// The gate of one rule, as pattern ids in the prefilter.
pub(crate) type RuleGate = Option<Vec<(FieldId, u32)>>;

/// Interns a rule's necessary literals into the prefilter builder; `groups` are the
/// logsource groups of the rule (`None`: it applies to any event).
pub(crate) fn intern(need: &Need, pf: &mut PrefilterBuilder, groups: Option<&[usize]>) -> RuleGate {
    need.as_ref().map(|lits| {
        lits.iter()
            .map(|(f, l)| (*f, pf.intern_for(*f, l, groups)))
            .collect()
    })
}

#[derive(Debug, Clone)]
struct GateField {
    field: FieldId,
    /// Rules gated by each pattern id of the field.
    by_pattern: Vec<Vec<u32>>,
    /// Every rule gated by the field (for values that are arrays or objects).
    all: Vec<u32>,
}

/// The inverted index from literals to the rules they gate.
#[derive(Debug, Clone, Default)]
pub(crate) struct GateIndex {
    /// Rules evaluated on every event (a bitset by rule index).
    always: Vec<u64>,
    fields: Vec<GateField>,
    /// Gate fields looked at on every event (a bitset by position in `fields`): some
    /// rule they gate applies whatever the logsource.
    fields_always: Vec<u64>,
    /// By logsource group: the gate fields of the rules of the group (same bitsets). A
    /// field none of whose groups holds for an event is not even looked at.
    fields_by_group: Vec<Vec<u64>>,
    rules: usize,
    /// The pseudo-field of keyword tests: the text of all the event's values.
    keywords: Option<FieldId>,
}

/// Reusable per-thread buffers of [`GateIndex::candidates`], so the candidate pass
/// allocates nothing once they have grown to size.
#[derive(Debug, Default)]
pub(crate) struct GateScratch {
    /// The candidate rules (a bitset by rule index).
    pub(crate) out: Vec<u64>,
    /// The gate fields to look at.
    fields: Vec<u64>,
    /// Needles found by one scan.
    bits: Vec<u64>,
    /// Text of a non-string value, or the keyword text when not given.
    text: String,
}

fn set_bit(bits: &mut Vec<u64>, i: usize) {
    if bits.len() <= i / 64 {
        bits.resize(i / 64 + 1, 0);
    }
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

impl GateIndex {
    /// Builds the index for rules in order.
    /// `gates` yields each rule's gate and logsource groups (`None`: applies everywhere).
    pub(crate) fn build<'a>(
        gates: impl IntoIterator<Item = (&'a RuleGate, Option<Vec<usize>>)>,
        keywords: Option<FieldId>,
    ) -> GateIndex {
        let mut ix = GateIndex {
            keywords,
            ..GateIndex::default()
        };
        let mut slot: Vec<Option<usize>> = Vec::new();
        // By gate field: the logsource groups of its rules (`None`: one applies everywhere).
        let mut field_groups: Vec<Option<Vec<usize>>> = Vec::new();
        let mut n = 0usize;
        for (r, (g, rule_groups)) in gates.into_iter().enumerate() {
            n = r + 1;
            let words = n.div_ceil(64);
            ix.always.resize(words, 0);
            let r32 = u32::try_from(r).unwrap_or(u32::MAX);
            let Some(lits) = g else {
                if let Some(w) = ix.always.get_mut(r / 64) {
                    *w |= 1 << (r % 64);
                }
                continue;
            };
            for (f, p) in lits {
                let fi = f.0 as usize;
                if slot.len() <= fi {
                    slot.resize(fi + 1, None);
                }
                let i = match slot.get(fi).copied().flatten() {
                    Some(i) => i,
                    None => {
                        ix.fields.push(GateField {
                            field: *f,
                            by_pattern: Vec::new(),
                            all: Vec::new(),
                        });
                        field_groups.push(Some(Vec::new()));
                        let i = ix.fields.len() - 1;
                        if let Some(s) = slot.get_mut(fi) {
                            *s = Some(i);
                        }
                        i
                    }
                };
                let Some(gf) = ix.fields.get_mut(i) else {
                    continue;
                };
                let p = *p as usize;
                if gf.by_pattern.len() <= p {
                    gf.by_pattern.resize(p + 1, Vec::new());
                }
                if let Some(list) = gf.by_pattern.get_mut(p)
                    && list.last() != Some(&r32)
                {
                    list.push(r32);
                }
                if gf.all.last() != Some(&r32) {
                    gf.all.push(r32);
                    match (field_groups.get_mut(i), &rule_groups) {
                        (None, _) => {}
                        (Some(Some(gs)), Some(rg)) => {
                            gs.extend(rg);
                            gs.sort_unstable();
                            gs.dedup();
                        }
                        (Some(gs), _) => *gs = None,
                    }
                }
            }
        }
        for (i, gs) in field_groups.iter().enumerate() {
            match gs {
                None => set_bit(&mut ix.fields_always, i),
                Some(gs) => {
                    for g in gs {
                        if ix.fields_by_group.len() <= *g {
                            ix.fields_by_group.resize(*g + 1, Vec::new());
                        }
                        if let Some(bits) = ix.fields_by_group.get_mut(*g) {
                            set_bit(bits, i);
                        }
                    }
                }
            }
        }
        ix.rules = n;
        ix.always.resize(n.div_ceil(64), 0);
        ix
    }

    /// The keyword pseudo-field.
    pub(crate) fn keywords(&self) -> Option<FieldId> {
        self.keywords
    }

    /// Whether a rule is gated on the keyword pseudo-field.
    pub(crate) fn has_keyword_gate(&self) -> bool {
        self.keywords
            .is_some_and(|k| self.fields.iter().any(|gf| gf.field == k))
    }

    /// Number of rules evaluated on every event.
    pub(crate) fn ungated(&self) -> usize {
        self.always.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Number of rules indexed.
    pub(crate) fn len(&self) -> usize {
        self.rules
    }

    /// The rules worth evaluating on this event, as a bitset by rule index in
    /// `sc.out`; `groups` is the bitset of the logsource groups that hold for the event.
    pub(crate) fn candidates(
        &self,
        ctx: &EventCtx<'_>,
        prefilter: &Prefilter,
        groups: &[u64],
        sc: &mut GateScratch,
    ) {
        let GateScratch {
            out,
            fields,
            bits,
            text,
        } = sc;
        out.clear();
        out.extend_from_slice(&self.always);
        fields.clear();
        fields.extend_from_slice(&self.fields_always);
        for (w, word) in groups.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let g = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if let Some(gf) = self.fields_by_group.get(g) {
                    if fields.len() < gf.len() {
                        fields.resize(gf.len(), 0);
                    }
                    fields.iter_mut().zip(gf).for_each(|(a, b)| *a |= b);
                }
            }
        }
        let mut mark = |rules: &[u32]| {
            for r in rules {
                let r = *r as usize;
                if let Some(w) = out.get_mut(r / 64) {
                    *w |= 1 << (r % 64);
                }
            }
        };
        for (w, word) in fields.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let Some(gf) = self.fields.get(i) else {
                    continue;
                };
                if Some(gf.field) == self.keywords {
                    let kw = match ctx.keyword_text {
                        Some(t) => t,
                        None => {
                            text.clear();
                            for v in ctx.root().values() {
                                all_text(v, text, 0);
                            }
                            text.as_str()
                        }
                    };
                    let scope = ctx.scope.get().map(|s| &**s);
                    prefilter.scan_into(gf.field, kw, scope, bits);
                    mark_bits(bits, &gf.by_pattern, &mut mark);
                    continue;
                }
                match ctx.get(gf.field) {
                    None | Some(Value::Null) => continue,
                    Some(Value::String(_)) => {
                        mark_bits(ctx.pattern_bits(gf.field), &gf.by_pattern, &mut mark);
                        continue;
                    }
                    Some(Value::Number(n)) => {
                        text.clear();
                        // A number's text is ASCII digits, signs, dots and `e`: lowercase.
                        crate::fields::push_number(text, n);
                        text.make_ascii_lowercase();
                    }
                    Some(Value::Bool(b)) => {
                        text.clear();
                        text.push_str(if *b { "true" } else { "false" });
                    }
                    Some(Value::Array(_) | Value::Object(_)) => {
                        mark(&gf.all);
                        continue;
                    }
                };
                prefilter.scan_into(gf.field, text, None, bits);
                mark_bits(bits, &gf.by_pattern, &mut mark);
            }
        }
    }
}

/// Appends the lowercased text of every scalar in `v`, one per line (what keyword
/// tests look at: strings, numbers, booleans; the same depth bound).
fn all_text(v: &Value, out: &mut String, depth: usize) {
    match v {
        Value::Object(o) if depth < 64 => o.values().for_each(|x| all_text(x, out, depth + 1)),
        Value::Array(a) if depth < 64 => a.iter().for_each(|x| all_text(x, out, depth + 1)),
        Value::Object(_) | Value::Array(_) | Value::Null => {}
        Value::String(s) if s.is_ascii() => {
            let start = out.len();
            out.push_str(s);
            out[start..].make_ascii_lowercase();
            out.push('\n');
        }
        Value::String(s) => {
            out.push_str(&s.to_lowercase());
            out.push('\n');
        }
        Value::Number(n) => {
            crate::fields::push_number(out, n);
            out.push('\n');
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true\n" } else { "false\n" });
        }
    }
}

/// Lowercased literals of which every match of the regex contains one (its prefix
/// or suffix literals, whichever set is cheaper); `None` when there is no such finite set.
pub(crate) fn regex_literals(
    pattern: &str,
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let set = |kind: ExtractKind| -> Option<Vec<String>> {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let mut out = Vec::new();
        for lit in seq.literals()? {
            // Lowercasing is per character except for the Greek sigma (final form in
            // context), so a literal's lowercase occurs in the lowercased text.
            let text = std::str::from_utf8(lit.as_bytes()).ok()?;
            if text.is_empty() || text.contains(['Σ', 'σ', 'ς']) {
                return None;
            }
            out.push(text.to_lowercase());
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    };
    let pre = set(ExtractKind::Prefix);
    let suf = set(ExtractKind::Suffix);
    let score = |s: &Vec<String>| {
        s.iter()
            .map(|l| 1.0 / (l.len().min(16) as f64).powi(2))
            .sum::<f64>()
    };
    match (pre, suf) {
        (Some(a), Some(b)) => Some(if score(&b) < score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn mark_bits(bits: &[u64], by_pattern: &[Vec<u32>], mark: &mut impl FnMut(&[u32])) {
    for (w, word) in bits.iter().enumerate() {
        let mut word = *word;
        while word != 0 {
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            if let Some(rules) = by_pattern.get(w * 64 + b) {
                mark(rules);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_that_print_as_written() {
        for ok in ["0", "1", "4688", "-1", "123456789012345"] {
            assert!(plain_integer(ok), "{ok}");
        }
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "1.0",
            "1e3",
            "0x10",
            "1234567890123456",
            " 1",
        ] {
            assert!(!plain_integer(bad), "{bad}");
        }
    }

    #[test]
    fn regex_literals_are_necessary_and_ascii() {
        let lits = |p: &str, ci: bool| regex_literals(p, ci, false, false);
        assert_eq!(
            lits("Invoke-(Expression|WebRequest)", false),
            Some(vec!["invoke-expression".into(), "invoke-webrequest".into()])
        );
        // Case variants may be cut short; each is still the start of every match.
        let ps = lits("(?i)powershell", false).unwrap_or_default();
        assert!(!ps.is_empty());
        assert!(
            ps.iter()
                .all(|l| "powershell".starts_with(l.as_str())
                    || "powerſhell".starts_with(l.as_str())),
            "{ps:?}"
        );
        assert_eq!(lits("\\w+", false), None);
        assert_eq!(lits(".*", false), None);
        // Case-insensitive `k`/`s` also match the Kelvin sign and the long s.
        assert_eq!(lits("ks", true), Some(vec!["ks".into(), "kſ".into()]));
        assert_eq!(lits("(?i)Σ", false), None);
        assert_eq!(lits("(", false), None);
    }

    #[test]
    fn and_picks_the_cheapest_or_unions() {
        let f = FieldId(0);
        let long = Some(vec![(f, "powershell.exe".to_owned())]);
        let short = Some(vec![(f, "a".to_owned())]);
        assert_eq!(all_of([short.clone(), long.clone(), None]), long);
        assert_eq!(all_of([None, None]), None);
        assert_eq!(any_of([short.clone(), None]), None);
        assert_eq!(any_of([short.clone(), short.clone()]), short);
    }
}
