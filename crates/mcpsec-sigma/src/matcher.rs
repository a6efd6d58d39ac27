//! Compiled matchers and their evaluation against one event.
//!
//! Literals are lowercased once at compile time; ASCII needles are compared with
//! ASCII case folding directly on the event's bytes, so the common case allocates
//! nothing per event. Non-ASCII needles fall back to lowercasing the value.

use crate::fields::{EventCtx, FieldId, unwrap_text};
use crate::gate::{self, Need};
use crate::lazy_regex::LazyRegex;
use crate::modifiers::TimePart;
use chrono::{Datelike as _, Timelike as _};
use serde_json::Value;
use std::net::IpAddr;

/// How a string is compared.
#[derive(Debug, Clone)]
pub enum StrMatch {
    /// Whole value equals.
    Equals(String),
    /// Value starts with.
    Prefix(String),
    /// Value ends with.
    Suffix(String),
    /// Value contains.
    Contains(String),
    /// Any value (`*`).
    Any,
    /// Regular expression (also wildcard patterns with `?` or inner `*`).
    Regex(LazyRegex),
}

/// A string comparison, case-insensitive unless `cased`.
#[derive(Debug, Clone)]
pub struct StringMatcher {
    /// The comparison; literals are lowercased when not `cased`.
    pub kind: StrMatch,
    /// Case-sensitive.
    pub cased: bool,
    /// For `Equals`: the literal as a number, to compare with numeric event values.
    pub number: Option<f64>,
    /// The needle has no character whose case folding leaves ASCII, so ASCII case
    /// folding on raw bytes is exact.
    byte_fold: bool,
    /// Precompiled substring searcher for `Contains`.
    finder: Option<Box<memchr::memmem::Finder<'static>>>,
    /// The needle's id in the field's shared prefilter (set after compilation).
    pub(crate) pattern: Option<u32>,
    /// For `Regex`: lowercased literals of which every match contains one (gates).
    regex_literals: Option<Box<[String]>>,
}

fn caseless(c: char) -> bool {
    c.is_ascii()
        || (c.to_lowercase().eq(std::iter::once(c)) && c.to_uppercase().eq(std::iter::once(c)))
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `==`.
    Eq,
}

impl CmpOp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Eq => a == b,
        }
    }
}

/// One compiled value test.
#[derive(Debug, Clone)]
pub enum ValueMatcher {
    /// String comparison.
    Str(StringMatcher),
    /// The field is absent, null or empty.
    Null,
    /// Numeric comparison with the value (number or numeric string).
    Numeric(CmpOp, f64),
    /// IP address inside a network.
    Cidr(IpAddr, u8),
    /// A part of a date value compared with a number.
    Time(TimePart, CmpOp, f64),
    /// Compare with another field of the same event.
    FieldRef {
        /// The other field.
        other: FieldId,
        /// Position: 0 equals, 1 prefix, 2 suffix, 3 contains.
        position: u8,
        /// Case-sensitive.
        cased: bool,
    },
    /// Never matches (e.g. an unknown placeholder).
    Never,
}

/// The alternatives for one value (OR-ed), with the shared-prefilter needle ids split
/// out so the common case scans a compact list of ids instead of whole matchers.
#[derive(Debug, Clone, Default)]
pub struct Alts {
    /// Every alternative.
    pub matchers: Vec<ValueMatcher>,
    patterns: Vec<u32>,
    others: Vec<u32>,
    has_null: bool,
}

impl Alts {
    /// Wraps a list of alternatives.
    pub fn new(matchers: Vec<ValueMatcher>) -> Self {
        let mut a = Alts {
            matchers,
            ..Alts::default()
        };
        a.reindex();
        a
    }

    fn reindex(&mut self) {
        self.patterns.clear();
        self.others.clear();
        for (i, m) in self.matchers.iter().enumerate() {
            match m {
                ValueMatcher::Str(StringMatcher {
                    pattern: Some(p), ..
                }) => self.patterns.push(*p),
                _ => self.others.push(u32::try_from(i).unwrap_or(u32::MAX)),
            }
        }
        self.has_null = self.matchers.iter().any(ValueMatcher::matches_absent);
    }
}

/// A test of one field (or of the whole event for keywords).
#[derive(Debug, Clone)]
pub enum FieldTest {
    /// The field holds values: AND over `values`, OR within each entry.
    Values {
        /// The field; `None` searches every value of the event (keywords).
        field: Option<FieldId>,
        /// AND of ORs.
        values: Vec<Alts>,
        /// `neq`: the field is present and matches none of them.
        negate: bool,
    },
    /// The field is (not) present.
    Exists {
        /// The field.
        field: FieldId,
        /// Expected presence.
        expect: bool,
    },
}

/// Lowercases when not cased; used at compile time only.
pub(crate) fn fold(s: &str, cased: bool) -> String {
    if cased {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

fn ascii_ci_find(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while from <= last_start {
        let Some(off) = memchr::memchr2(lo, up, &hay[from..=last_start]) else {
            return false;
        };
        let at = from + off;
        if hay[at..at + needle.len()].eq_ignore_ascii_case(needle) {
            return true;
        }
        from = at + 1;
    }
    false
}

impl StringMatcher {
    /// A matcher; `kind`'s literal must already be folded when not `cased`.
    pub fn new(kind: StrMatch, cased: bool, number: Option<f64>) -> Self {
        let (byte_fold, finder) = match &kind {
            StrMatch::Equals(n) | StrMatch::Prefix(n) | StrMatch::Suffix(n) => {
                (n.chars().all(caseless), None)
            }
            StrMatch::Contains(n) => (
                n.chars().all(caseless),
                Some(Box::new(
                    memchr::memmem::Finder::new(n.as_bytes()).into_owned(),
                )),
            ),
            _ => (true, None),
        };
        StringMatcher {
            kind,
            cased,
            number,
            byte_fold,
            finder,
            pattern: None,
            regex_literals: None,
        }
    }

    /// Derives the gate literals of a `Regex` matcher; `case_insensitive`, `multi_line`
    /// and `dot_all` must be the flags the regex was built with.
    pub(crate) fn with_regex_literals(
        mut self,
        case_insensitive: bool,
        multi_line: bool,
        dot_all: bool,
    ) -> Self {
        if let StrMatch::Regex(re) = &self.kind {
            self.regex_literals =
                gate::regex_literals(re.as_str(), case_insensitive, multi_line, dot_all)
                    .map(Vec::into_boxed_slice);
        }
        self
    }

    /// Offers `lit`, a lowercased ASCII literal that every match contains, as the gate
    /// literal; kept when it is rarer (longer) than the prefix/suffix literals found.
    pub(crate) fn with_inner_literal(mut self, lit: Option<String>) -> Self {
        let score = |ls: &[String]| {
            ls.iter()
                .map(|l| 1.0 / (l.len().min(16) as f64).powi(2))
                .sum::<f64>()
        };
        if let (StrMatch::Regex(_), Some(lit)) = (&self.kind, lit) {
            let lit = [lit];
            if self
                .regex_literals
                .as_ref()
                .is_none_or(|cur| score(&lit) < score(cur))
            {
                self.regex_literals = Some(Box::new(lit));
            }
        }
        self
    }

    /// Matches a value that was already lowercased (when not `cased`).
    pub fn matches_folded(&self, s: &str) -> bool {
        match &self.kind {
            StrMatch::Any => true,
            StrMatch::Regex(re) => re.is_match(s),
            StrMatch::Equals(n) => s == n,
            StrMatch::Prefix(n) => s.starts_with(n.as_str()),
            StrMatch::Suffix(n) => s.ends_with(n.as_str()),
            StrMatch::Contains(n) => match &self.finder {
                Some(f) => f.find(s.as_bytes()).is_some(),
                None => s.contains(n.as_str()),
            },
        }
    }

    /// Whether this matcher wants the lowercased value (cheaper when shared per event).
    pub fn wants_folded(&self) -> bool {
        !self.cased && !matches!(self.kind, StrMatch::Regex(_) | StrMatch::Any)
    }

    /// Matches a string value.
    pub fn matches_str(&self, s: &str) -> bool {
        let needle = match &self.kind {
            StrMatch::Any => return true,
            StrMatch::Regex(re) => return re.is_match(s),
            StrMatch::Equals(n)
            | StrMatch::Prefix(n)
            | StrMatch::Suffix(n)
            | StrMatch::Contains(n) => n,
        };
        if self.cased {
            return self.matches_folded(s);
        }
        if self.byte_fold {
            let (h, n) = (s.as_bytes(), needle.as_bytes());
            return match &self.kind {
                StrMatch::Equals(_) => h.eq_ignore_ascii_case(n),
                StrMatch::Prefix(_) => h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n),
                StrMatch::Suffix(_) => {
                    h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
                }
                _ => ascii_ci_find(h, n),
            };
        }
        self.matches_folded(&s.to_lowercase())
    }

    fn matches_value(&self, v: &Value, folded: Option<&str>) -> bool {
        match v {
            Value::String(s) => match folded {
                Some(f) if self.wants_folded() => self.matches_folded(f),
                _ => self.matches_str(s),
            },
            Value::Number(n) => {
                if let (StrMatch::Equals(_), Some(want)) = (&self.kind, self.number) {
                    return n.as_f64() == Some(want);
                }
                self.matches_str(&n.to_string())
            }
            Value::Bool(b) => self.matches_str(if *b { "true" } else { "false" }),
            _ => false,
        }
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok().map(|n| n as f64),
                None => t.parse().ok(),
            }
        }
        _ => None,
    }
}

/// Whether `addr` lies in `net/prefix` (IPv4-mapped IPv6 counts as IPv4).
pub fn in_cidr(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn time_part(v: &Value, part: TimePart) -> Option<f64> {
    let t = mcpsec_core::parse_timestamp(v)?;
    Some(f64::from(match part {
        TimePart::Minute => t.minute(),
        TimePart::Hour => t.hour(),
        TimePart::Day => t.day(),
        TimePart::Week => t.iso_week().week(),
        TimePart::Month => t.month(),
        TimePart::Year => u32::try_from(t.year()).unwrap_or(0),
    }))
}

fn value_text(v: &Value) -> Option<String> {
    match unwrap_text(v) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl ValueMatcher {
    /// Matches a present value (arrays: any element). `folded` is the lowercased value
    /// when `v` is a string and someone already computed it.
    fn matches(&self, v: &Value, ctx: &EventCtx<'_>, folded: Option<&str>) -> bool {
        let v = unwrap_text(v);
        if let Value::Array(items) = v {
            return match self {
                ValueMatcher::Null => items.is_empty(),
                _ => items.iter().any(|i| self.matches(i, ctx, None)),
            };
        }
        match self {
            ValueMatcher::Str(m) => m.matches_value(v, folded),
            ValueMatcher::Null => match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                _ => false,
            },
            ValueMatcher::Numeric(op, want) => as_number(v).is_some_and(|n| op.holds(n, *want)),
            ValueMatcher::Cidr(net, prefix) => match v {
                Value::String(s) => s
                    .trim()
                    .parse::<IpAddr>()
                    .is_ok_and(|a| in_cidr(a, *net, *prefix)),
                _ => false,
            },
            ValueMatcher::Time(part, op, want) => {
                time_part(v, *part).is_some_and(|n| op.holds(n, *want))
            }
            ValueMatcher::FieldRef {
                other,
                position,
                cased,
            } => {
                let (Some(a), Some(b)) = (value_text(v), ctx.get(*other).and_then(value_text))
                else {
                    return false;
                };
                let (a, b) = if *cased {
                    (a, b)
                } else {
                    (a.to_lowercase(), b.to_lowercase())
                };
                match position {
                    1 => a.starts_with(&b),
                    2 => a.ends_with(&b),
                    3 => a.contains(&b),
                    _ => a == b,
                }
            }
            ValueMatcher::Never => false,
        }
    }

    /// Matches an absent field.
    fn matches_absent(&self) -> bool {
        matches!(self, ValueMatcher::Null)
    }
}

/// Whether any scalar anywhere in `v` satisfies `m` (keyword search).
fn any_scalar(v: &Value, m: &ValueMatcher, ctx: &EventCtx<'_>, depth: usize) -> bool {
    match v {
        Value::Object(o) => depth < 64 && o.values().any(|x| any_scalar(x, m, ctx, depth + 1)),
        Value::Array(a) => depth < 64 && a.iter().any(|x| any_scalar(x, m, ctx, depth + 1)),
        Value::Null => false,
        other => m.matches(other, ctx, None),
    }
}

impl FieldTest {
    /// Evaluates the test on an event.
    pub fn eval(&self, ctx: &EventCtx<'_>) -> bool {
        match self {
            FieldTest::Exists { field, expect } => ctx.get(*field).is_some() == *expect,
            FieldTest::Values {
                field: Some(f),
                values,
                negate,
            } => {
                let v = ctx.get(*f);
                let folded = || ctx.folded(*f);
                let test = |m: &ValueMatcher, v: &Value| match m {
                    ValueMatcher::Str(s) if s.wants_folded() => m.matches(v, ctx, folded()),
                    _ => m.matches(v, ctx, None),
                };
                let any = |alts: &Alts, v: &Value| {
                    if v.is_string() {
                        (!alts.patterns.is_empty() && {
                            let bits = ctx.pattern_bits(*f);
                            alts.patterns.iter().any(|p| {
                                let p = *p as usize;
                                bits.get(p / 64).is_some_and(|w| w >> (p % 64) & 1 == 1)
                            })
                        }) || alts
                            .others
                            .iter()
                            .any(|i| alts.matchers.get(*i as usize).is_some_and(|m| test(m, v)))
                    } else {
                        alts.matchers.iter().any(|m| test(m, v))
                    }
                };
                if *negate {
                    return v.is_some_and(|v| !values.iter().any(|alts| any(alts, v)));
                }
                values.iter().all(|alts| match v {
                    Some(v) => any(alts, v),
                    None => alts.has_null,
                })
            }
            FieldTest::Values {
                field: None,
                values,
                negate,
            } => {
                let root = ctx.root();
                let hit = |m: &ValueMatcher| root.values().any(|v| any_scalar(v, m, ctx, 0));
                let all = values.iter().all(|alts| alts.matchers.iter().any(hit));
                if *negate { !all } else { all }
            }
        }
    }
}

impl StringMatcher {
    /// Lowercased literals of which one occurs in the (lowercased) text of every value
    /// this matcher accepts, for the rule gates; `None` when there are none.
    pub(crate) fn required_literals(&self) -> Option<Vec<String>> {
        let n = match &self.kind {
            StrMatch::Equals(n)
            | StrMatch::Prefix(n)
            | StrMatch::Suffix(n)
            | StrMatch::Contains(n) => n,
            StrMatch::Regex(_) => return self.regex_literals.as_ref().map(|l| l.to_vec()),
            StrMatch::Any => return None,
        };
        if n.is_empty() {
            return None;
        }
        // Numeric equality (4688 == 4688.0) only implies text containment for plain integers.
        if matches!(self.kind, StrMatch::Equals(_))
            && self.number.is_some()
            && !gate::plain_integer(n)
        {
            return None;
        }
        if self.cased {
            // Lowercasing a whole text and a piece of it agree only for ASCII.
            return n.is_ascii().then(|| vec![n.to_ascii_lowercase()]);
        }
        Some(vec![n.clone()])
    }
}

impl Alts {
    /// Literals of which one occurs in the field when these alternatives match.
    fn need(&self, field: FieldId) -> Need {
        if self.has_null {
            return None;
        }
        let mut out = Vec::with_capacity(self.matchers.len());
        for m in &self.matchers {
            match m {
                ValueMatcher::Str(s) => {
                    out.extend(s.required_literals()?.into_iter().map(|l| (field, l)));
                }
                ValueMatcher::Never => {}
                _ => return None,
            }
        }
        gate::any_of([Some(out)])
    }
}

impl FieldTest {
    /// A necessary condition for this test to hold (see [`crate::gate`]); keyword tests
    /// (no field) are gated on `keywords`, the pseudo-field of all the event's values.
    pub(crate) fn need(&self, keywords: FieldId) -> Need {
        match self {
            FieldTest::Values {
                field,
                values,
                negate: false,
            } => {
                let f = field.unwrap_or(keywords);
                gate::all_of(values.iter().map(|alts| alts.need(f)))
            }
            _ => None,
        }
    }

    /// Registers this test's `contains` needles with the shared prefilter.
    /// Registers the test's `contains` needles, read by rules of the logsource `groups`
    /// (`None`: on any event).
    pub(crate) fn register(
        &mut self,
        pf: &mut crate::prefilter::PrefilterBuilder,
        groups: Option<&[usize]>,
    ) {
        if let FieldTest::Values {
            field: Some(f),
            values,
            ..
        } = self
        {
            for alts in values.iter_mut() {
                for m in alts.matchers.iter_mut() {
                    if let ValueMatcher::Str(s) = m
                        && !s.cased
                        && let StrMatch::Contains(n) = &s.kind
                    {
                        s.pattern = Some(pf.intern_for(*f, n, groups));
                    }
                }
                alts.reindex();
            }
        }
    }

    /// Drops prefilter ids of fields whose automaton could not be built.
    pub(crate) fn unregister(&mut self, failed: &[FieldId]) {
        if let FieldTest::Values {
            field: Some(f),
            values,
            ..
        } = self
            && failed.contains(f)
        {
            for alts in values.iter_mut() {
                for m in alts.matchers.iter_mut() {
                    if let ValueMatcher::Str(s) = m {
                        s.pattern = None;
                    }
                }
                alts.reindex();
            }
        }
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn matchers_stay_small() {
        // Alternatives are scanned in tight loops: keep them within two cache lines.
        assert!(std::mem::size_of::<super::ValueMatcher>() <= 96);
    }
}
