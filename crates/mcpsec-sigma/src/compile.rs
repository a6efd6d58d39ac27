//! From parsed rules to matchers: field names resolved through the mapping, literals
//! folded, modifiers applied, the condition turned into a tree over search indices.

use crate::condition::{self, Cond};
use crate::error::{Result, invalid};
use crate::fields::{EventCtx, FieldId, FieldTable};
use crate::gate::{self, Need};
use crate::lazy_regex::{LazyRegex, RegexFlags};
use crate::mapping::{FieldMapping, LogsourceBranch};
use crate::matcher::{Alts, CmpOp, FieldTest, StrMatch, StringMatcher, ValueMatcher, fold};
use crate::modifiers::{self, Modifier, Tok};
use crate::rule::{Detection, FieldCondition, SigmaValue};
use std::collections::HashMap;

pub use crate::lazy_regex::{REGEX_DFA_LIMIT, REGEX_SIZE_LIMIT, REGEX_SIZE_LIMIT_LARGE};

/// Options that shape compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Values for `expand` placeholders (`%Admins%` → list). Unknown ones never match.
    pub placeholders: HashMap<String, Vec<String>>,
    /// Build regexes (`re` values, wildcard patterns) on first use instead of now: much
    /// faster loading when most rules never run, but a pattern over the size budget is
    /// then not reported (it never matches); see [`crate::lazy_regex`].
    pub lazy_regexes: bool,
}

/// A condition tree over search indices.
#[derive(Debug, Clone)]
pub enum CondNode {
    /// A search.
    Search(usize),
    /// Negation.
    Not(Box<CondNode>),
    /// All.
    And(Vec<CondNode>),
    /// Any.
    Or(Vec<CondNode>),
    /// At least `n` of the searches.
    AtLeast(usize, Vec<usize>),
}

/// A compiled detection: searches (OR of AND groups) and the condition.
#[derive(Debug, Clone)]
pub struct CompiledDetection {
    searches: Vec<Vec<Vec<FieldTest>>>,
    condition: CondNode,
}

impl CompiledDetection {
    /// Every field test, for post-compilation passes.
    pub(crate) fn tests_mut(&mut self) -> impl Iterator<Item = &mut FieldTest> {
        self.searches.iter_mut().flatten().flatten()
    }

    /// Whether a test searches every value of the event (keywords).
    pub(crate) fn has_keyword_test(&self) -> bool {
        self.searches
            .iter()
            .flatten()
            .flatten()
            .any(|t| matches!(t, FieldTest::Values { field: None, .. }))
    }

    /// Evaluates on an event.
    pub fn eval(&self, ctx: &EventCtx<'_>) -> bool {
        self.node(&self.condition, ctx)
    }

    /// A necessary condition for the detection to match (see [`crate::gate`]).
    /// `keywords` is the pseudo-field that stands for all the event's values.
    pub(crate) fn need(&self, keywords: FieldId) -> Need {
        self.node_need(&self.condition, keywords)
    }

    fn search_need(&self, i: usize, kw: FieldId) -> Need {
        let groups = self.searches.get(i)?;
        gate::any_of(
            groups
                .iter()
                .map(|g| gate::all_of(g.iter().map(|t| t.need(kw)))),
        )
    }

    fn node_need(&self, n: &CondNode, kw: FieldId) -> Need {
        match n {
            CondNode::Search(i) => self.search_need(*i, kw),
            CondNode::Not(_) => None,
            CondNode::And(items) => gate::all_of(items.iter().map(|c| self.node_need(c, kw))),
            CondNode::Or(items) => gate::any_of(items.iter().map(|c| self.node_need(c, kw))),
            CondNode::AtLeast(_, idx) => gate::any_of(idx.iter().map(|i| self.search_need(*i, kw))),
        }
    }

    fn search(&self, i: usize, ctx: &EventCtx<'_>) -> bool {
        self.searches
            .get(i)
            .is_some_and(|groups| groups.iter().any(|g| g.iter().all(|t| t.eval(ctx))))
    }

    fn node(&self, n: &CondNode, ctx: &EventCtx<'_>) -> bool {
        match n {
            CondNode::Search(i) => self.search(*i, ctx),
            CondNode::Not(inner) => !self.node(inner, ctx),
            CondNode::And(items) => items.iter().all(|c| self.node(c, ctx)),
            CondNode::Or(items) => items.iter().any(|c| self.node(c, ctx)),
            CondNode::AtLeast(k, idx) => {
                let mut hits = 0;
                for i in idx {
                    if self.search(*i, ctx) {
                        hits += 1;
                        if hits >= *k {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

/// The logsource fields that choose mapping branches.
type LogsourceKey = (Option<String>, Option<String>, Option<String>);

/// Compilation state shared by the rules of one rule set.
pub struct Compiler<'m> {
    /// The mapping fields go through.
    pub mapping: &'m FieldMapping,
    /// Interned fields.
    pub fields: FieldTable,
    /// Options.
    pub options: CompileOptions,
    /// Fields already interned by Sigma name, where no branch maps the name its own way
    /// (thousands of rules name the same few hundred fields).
    field_ids: HashMap<String, FieldId>,
    /// Mapping branches by logsource (thousands of rules share a few hundred).
    branches: HashMap<LogsourceKey, std::sync::Arc<Vec<LogsourceBranch>>>,
}

impl<'m> Compiler<'m> {
    /// A compiler for rules mapped through `mapping`.
    pub fn new(mapping: &'m FieldMapping, options: CompileOptions) -> Self {
        Compiler {
            mapping,
            fields: FieldTable::default(),
            options,
            field_ids: HashMap::new(),
            branches: HashMap::new(),
        }
    }

    /// The mapping branches of a logsource (see [`FieldMapping::branches`]).
    pub fn branches(
        &mut self,
        ls: &crate::rule::LogSource,
    ) -> std::sync::Arc<Vec<LogsourceBranch>> {
        let key = (ls.product.clone(), ls.service.clone(), ls.category.clone());
        let mapping = self.mapping;
        std::sync::Arc::clone(
            self.branches
                .entry(key)
                .or_insert_with(|| std::sync::Arc::new(mapping.branches(ls))),
        )
    }

    /// Interns a Sigma field name for a branch.
    pub fn field(&mut self, name: &str, branch: Option<&LogsourceBranch>) -> FieldId {
        let own = branch.is_some_and(|b| b.fieldmappings.contains_key(name));
        if !own && let Some(id) = self.field_ids.get(name) {
            return *id;
        }
        let paths = self.mapping.paths(name, branch);
        let id = self.fields.intern(paths);
        if !own {
            self.field_ids.insert(name.to_owned(), id);
        }
        id
    }

    /// Compiles logsource conditions of a branch into field tests.
    pub fn branch_tests(&mut self, branch: &LogsourceBranch) -> Result<Vec<FieldTest>> {
        let mut tests: Vec<FieldTest> = branch
            .exists
            .iter()
            .map(|(f, expect)| FieldTest::Exists {
                field: self.field(f, None),
                expect: *expect,
            })
            .collect();
        let conditions: Vec<FieldTest> = branch
            .conditions
            .iter()
            .map(|(field, values)| {
                self.condition(
                    &FieldCondition {
                        field: Some(field.clone()),
                        modifiers: Vec::new(),
                        values: values.clone(),
                    },
                    None,
                )
            })
            .collect::<Result<_>>()?;
        tests.extend(conditions);
        Ok(tests)
    }

    /// Compiles a detection for a branch.
    pub fn detection(
        &mut self,
        det: &Detection,
        branch: Option<&LogsourceBranch>,
    ) -> Result<CompiledDetection> {
        let mut searches = Vec::with_capacity(det.searches.len());
        for (name, s) in &det.searches {
            let mut groups = Vec::with_capacity(s.groups.len());
            for g in &s.groups {
                let tests = g
                    .iter()
                    .map(|fc| self.condition(fc, branch))
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| invalid(format!("search \"{name}\": {}", e.message())))?;
                groups.push(tests);
            }
            searches.push(groups);
        }
        let names: Vec<&str> = det.searches.iter().map(|(n, _)| n.as_str()).collect();
        let mut alts = Vec::new();
        for c in &det.conditions {
            alts.push(resolve(&condition::parse(c)?, &names)?);
        }
        let condition = if alts.len() == 1 {
            alts.remove(0)
        } else {
            CondNode::Or(alts)
        };
        Ok(CompiledDetection {
            searches,
            condition,
        })
    }

    /// Compiles one `Field|mods: values` entry.
    pub fn condition(
        &mut self,
        fc: &FieldCondition,
        branch: Option<&LogsourceBranch>,
    ) -> Result<FieldTest> {
        let has = |m: Modifier| fc.modifiers.contains(&m);
        let key = || {
            let mut k = fc.field.clone().unwrap_or_default();
            for m in &fc.modifiers {
                k.push_str(&format!("|{m:?}").to_lowercase());
            }
            k
        };
        if has(Modifier::Exists) {
            let field = fc
                .field
                .as_deref()
                .ok_or_else(|| invalid("exists needs a field"))?;
            let expect = match fc.values.as_slice() {
                [SigmaValue::Bool(b)] => *b,
                [SigmaValue::Str(s)] if s.eq_ignore_ascii_case("true") => true,
                [SigmaValue::Str(s)] if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(invalid(format!(
                        "exists needs true or false in \"{}\"",
                        key()
                    )));
                }
            };
            return Ok(FieldTest::Exists {
                field: self.field(field, branch),
                expect,
            });
        }
        let field = fc.field.as_deref().map(|f| self.field(f, branch));
        let mut per_value = Vec::with_capacity(fc.values.len());
        for v in &fc.values {
            let ms = self
                .value(v, &fc.modifiers, branch, fc.field.is_none())
                .map_err(|e| invalid(format!("{} in \"{}\"", e.message(), key())))?;
            per_value.push(ms);
        }
        let values = if has(Modifier::All) {
            per_value.into_iter().map(Alts::new).collect()
        } else {
            vec![Alts::new(per_value.into_iter().flatten().collect())]
        };
        Ok(FieldTest::Values {
            field,
            values,
            negate: has(Modifier::Neq),
        })
    }

    fn value(
        &mut self,
        v: &SigmaValue,
        mods: &[Modifier],
        branch: Option<&LogsourceBranch>,
        field_less: bool,
    ) -> Result<Vec<ValueMatcher>> {
        let has = |m: Modifier| mods.contains(&m);
        let cased = has(Modifier::Cased);
        if *v == SigmaValue::Null {
            return Ok(vec![ValueMatcher::Null]);
        }
        let text = v.as_text().unwrap_or_default();
        if has(Modifier::Re) {
            let flags = RegexFlags {
                case_insensitive: has(Modifier::ReIgnoreCase),
                multi_line: has(Modifier::ReMultiLine),
                dot_all: has(Modifier::ReDotAll),
            };
            let re = LazyRegex::new(text, flags, !self.options.lazy_regexes).map_err(|e| {
                invalid(format!(
                    "bad regular expression: {}",
                    one_line(&e.to_string())
                ))
            })?;
            return Ok(vec![ValueMatcher::Str(
                StringMatcher::new(StrMatch::Regex(re), true, None).with_regex_literals(
                    has(Modifier::ReIgnoreCase),
                    has(Modifier::ReMultiLine),
                    has(Modifier::ReDotAll),
                ),
            )]);
        }
        if has(Modifier::Cidr) {
            let (net, prefix) = parse_cidr(text)?;
            return Ok(vec![ValueMatcher::Cidr(net, prefix)]);
        }
        let cmp = [
            (Modifier::Lt, CmpOp::Lt),
            (Modifier::Lte, CmpOp::Lte),
            (Modifier::Gt, CmpOp::Gt),
            (Modifier::Gte, CmpOp::Gte),
        ]
        .into_iter()
        .find(|(m, _)| has(*m))
        .map(|(_, op)| op);
        let number = || -> Result<f64> {
            match v {
                SigmaValue::Num(n, _) => Ok(*n),
                SigmaValue::Str(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| invalid(format!("{s:?} is not a number"))),
                _ => Err(invalid("a number is needed")),
            }
        };
        if let Some(part) = mods.iter().find_map(|m| match m {
            Modifier::Time(p) => Some(*p),
            _ => None,
        }) {
            return Ok(vec![ValueMatcher::Time(
                part,
                cmp.unwrap_or(CmpOp::Eq),
                number()?,
            )]);
        }
        if let Some(op) = cmp {
            return Ok(vec![ValueMatcher::Numeric(op, number()?)]);
        }
        if has(Modifier::FieldRef) {
            let position = if has(Modifier::StartsWith) {
                1
            } else if has(Modifier::EndsWith) {
                2
            } else if has(Modifier::Contains) {
                3
            } else {
                0
            };
            return Ok(vec![ValueMatcher::FieldRef {
                other: self.field(text, branch),
                position,
                cased,
            }]);
        }
        let texts: Vec<String> = if has(Modifier::Expand) {
            match expand(text, &self.options.placeholders) {
                Some(list) => list,
                None => return Ok(vec![ValueMatcher::Never]),
            }
        } else {
            vec![text.to_owned()]
        };
        let encoding = mods.iter().any(|m| {
            matches!(
                m,
                Modifier::Base64
                    | Modifier::Base64Offset
                    | Modifier::Utf16
                    | Modifier::Utf16Be
                    | Modifier::Utf16Le
            )
        });
        let mut out = Vec::new();
        for t in texts {
            let variants: Vec<Vec<Tok>> = if encoding {
                modifiers::encode(&t, mods)?
                    .iter()
                    .map(|s| modifiers::literal(s))
                    .collect()
            } else if matches!(v, SigmaValue::Str(_)) {
                vec![modifiers::parse_wildcards(&t)]
            } else {
                vec![modifiers::literal(&t)]
            };
            for mut toks in variants {
                if has(Modifier::Windash) {
                    toks = modifiers::windash(&toks);
                }
                // Keywords (no field) match anywhere in a value, as full-text search does.
                let keyword = field_less && !has(Modifier::StartsWith) && !has(Modifier::EndsWith);
                if has(Modifier::Contains) || has(Modifier::EndsWith) || keyword {
                    toks.insert(0, Tok::Any);
                }
                if has(Modifier::Contains) || has(Modifier::StartsWith) || keyword {
                    toks.push(Tok::Any);
                }
                out.push(ValueMatcher::Str(string_matcher(
                    &toks,
                    cased,
                    self.options.lazy_regexes,
                )?));
            }
        }
        Ok(out)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces `%name%` placeholders; `None` when one is unknown.
fn expand(text: &str, known: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
    let mut results = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('%') else { break };
        let name = &after[..len];
        let values = known.get(name)?;
        let prefix = &rest[..start];
        let mut next = Vec::with_capacity(results.len() * values.len());
        for r in &results {
            for v in values {
                next.push(format!("{r}{prefix}{v}"));
            }
        }
        if next.len() > 4096 {
            return None;
        }
        results = next;
        rest = &after[len + 1..];
    }
    for r in &mut results {
        r.push_str(rest);
    }
    Some(results)
}

/// Parses `net/prefix` or a bare address.
pub fn parse_cidr(text: &str) -> Result<(std::net::IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let net: std::net::IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| invalid(format!("{text:?} is not a CIDR network")))?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| invalid(format!("{text:?} has a bad prefix length")))?,
        None => max,
    };
    Ok((net, prefix))
}

/// Turns a token pattern into the cheapest matcher that implements it (a regex built on
/// first use when `lazy`).
pub fn string_matcher(toks: &[Tok], cased: bool, lazy: bool) -> Result<StringMatcher> {
    let lead = toks.iter().take_while(|t| **t == Tok::Any).count();
    let trail = toks[lead..]
        .iter()
        .rev()
        .take_while(|t| **t == Tok::Any)
        .count();
    let middle = &toks[lead..toks.len() - trail];
    let literal: Option<String> = middle
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    if let Some(lit) = literal {
        let lit = fold(&lit, cased);
        let kind = match (lead > 0, trail > 0) {
            _ if lit.is_empty() && (lead > 0 || trail > 0) => StrMatch::Any,
            (true, true) => StrMatch::Contains(lit),
            (true, false) => StrMatch::Suffix(lit),
            (false, true) => StrMatch::Prefix(lit),
            (false, false) => {
                let number = lit.parse::<f64>().ok().filter(|n| n.is_finite());
                return Ok(StringMatcher::new(StrMatch::Equals(lit), cased, number));
            }
        };
        return Ok(StringMatcher::new(kind, cased, None));
    }
    let mut pat = String::from(if cased { "(?s)^" } else { "(?si)^" });
    for t in toks {
        match t {
            Tok::Lit(c) => pat.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            Tok::Any => pat.push_str(".*"),
            Tok::One => pat.push('.'),
            Tok::Class(chars) => {
                pat.push('[');
                for c in *chars {
                    pat.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
                }
                pat.push(']');
            }
        }
    }
    pat.push('$');
    let re = LazyRegex::new(&pat, RegexFlags::default(), !lazy)
        .map_err(|e| invalid(format!("pattern too complex: {}", one_line(&e.to_string()))))?;
    // The pattern carries its own flags.
    Ok(StringMatcher::new(StrMatch::Regex(re), cased, None)
        .with_regex_literals(false, false, false)
        .with_inner_literal(inner_literal(toks)))
}

/// The longest run of literal characters of a wildcard pattern that every match contains
/// as it is in the lowercased text: ASCII only, and without `k` and `s`, whose
/// case-insensitive matches include characters that do not lowercase to them (the Kelvin
/// sign, the long s).
fn inner_literal(toks: &[Tok]) -> Option<String> {
    let mut best = String::new();
    let mut run = String::new();
    for t in toks.iter().chain([&Tok::Any]) {
        match t {
            Tok::Lit(c) if c.is_ascii() && !matches!(c.to_ascii_lowercase(), 'k' | 's') => {
                run.push(c.to_ascii_lowercase());
            }
            _ => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    (!best.is_empty()).then_some(best)
}

fn resolve(c: &Cond, names: &[&str]) -> Result<CondNode> {
    let index = |n: &str| names.iter().position(|x| *x == n);
    Ok(match c {
        Cond::Search(n) => CondNode::Search(
            index(n)
                .ok_or_else(|| invalid(format!("condition refers to unknown search \"{n}\"")))?,
        ),
        Cond::Not(inner) => CondNode::Not(Box::new(resolve(inner, names)?)),
        Cond::And(items) => CondNode::And(
            items
                .iter()
                .map(|i| resolve(i, names))
                .collect::<Result<_>>()?,
        ),
        Cond::Or(items) => CondNode::Or(
            items
                .iter()
                .map(|i| resolve(i, names))
                .collect::<Result<_>>()?,
        ),
        Cond::Of { n, pattern } => {
            let idx: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, name)| {
                    if pattern == "them" {
                        !name.starts_with('_')
                    } else {
                        condition::name_matches(pattern, name)
                    }
                })
                .map(|(i, _)| i)
                .collect();
            if idx.is_empty() {
                return Err(invalid(format!("no search matches \"{pattern}\"")));
            }
            match n {
                None => CondNode::And(idx.into_iter().map(CondNode::Search).collect()),
                Some(k) => CondNode::AtLeast((*k).max(1), idx),
            }
        }
    })
}
