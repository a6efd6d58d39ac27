//! Loading rule files into a compiled [`RuleSet`] and matching events against it.

use crate::compile::{CompileOptions, CompiledDetection, Compiler};
use crate::correlation::CorrelationRule;
use crate::error::{Result, SigmaError, invalid};
use crate::fields::{EventCtx, FieldTable};
use crate::gate::{self, GateIndex, GateScratch, RuleGate};
use crate::groups::GroupIndex;
use crate::mapping::FieldMapping;
use crate::matcher::FieldTest;
use crate::parse::parse_documents;
use crate::prefilter::{Prefilter, PrefilterBuilder};
use crate::rule::{FilterRule, LogSource, RuleMeta, SigmaDocument, SigmaRule};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest rule file read (bytes); anything bigger is refused, not parsed.
pub const MAX_RULE_FILE: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
struct Branch {
    logsource: Option<usize>,
    detection: CompiledDetection,
    filters: Vec<CompiledDetection>,
}

/// A rule ready to match.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// The logsource as written.
    pub logsource: LogSource,
    /// Names of the filter rules applied to it.
    pub filters: Vec<String>,
    branches: Vec<Branch>,
    /// Literals of which one must occur for the rule to match (see [`crate::gate`]).
    gate: RuleGate,
    /// A test of the rule or its filters searches every value of the event (keywords).
    keyword: bool,
}

impl CompiledRule {
    /// The id, else the title.
    pub fn name(&self) -> &str {
        self.meta.id.as_deref().unwrap_or(&self.meta.title)
    }

    /// Whether the rule has a necessary-literal gate (else it is evaluated on every event
    /// of its logsource).
    pub fn gated(&self) -> bool {
        self.gate.is_some()
    }
}

/// Collects rule documents, then compiles them together (filters need their targets).
pub struct RuleSetBuilder {
    mapping: FieldMapping,
    options: CompileOptions,
    docs: Vec<SigmaDocument>,
    errors: Vec<SigmaError>,
}

/// The outcome of [`RuleSetBuilder::build`].
pub struct BuildReport {
    /// The compiled rules.
    pub ruleset: RuleSet,
    /// Documents that loaded (rules, filters, correlations).
    pub loaded: usize,
    /// Everything that failed, one entry per document or file.
    pub errors: Vec<SigmaError>,
}

impl RuleSetBuilder {
    /// A builder using `mapping`.
    pub fn new(mapping: FieldMapping) -> Self {
        RuleSetBuilder {
            mapping,
            options: CompileOptions::default(),
            docs: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Sets compile options (placeholder values).
    pub fn options(mut self, options: CompileOptions) -> Self {
        self.options = options;
        self
    }

    /// Adds the documents of a YAML text.
    pub fn add_text(&mut self, text: &str, file: Option<&Path>) {
        self.add_parsed(parse_documents(text, file));
    }

    fn add_parsed(&mut self, parsed: Result<Vec<Result<SigmaDocument>>>) {
        match parsed {
            Ok(docs) => {
                for d in docs {
                    match d {
                        Ok(d) => self.docs.push(d),
                        Err(e) => self.errors.push(e),
                    }
                }
            }
            Err(e) => self.errors.push(e),
        }
    }

    /// Adds a file, or every `.yml`/`.yaml` file under a directory. Files are read and
    /// parsed on all cores; documents and errors are kept in file order.
    pub fn add_path(&mut self, path: &Path) {
        let mut files = Vec::new();
        if let Err(e) = rule_files(path, &mut files) {
            self.errors.push(e);
        }
        let parsed: Vec<_> = files
            .par_iter()
            .map(|f| read_rule_file(f).and_then(|text| parse_documents(&text, Some(f))))
            .collect();
        for p in parsed {
            self.add_parsed(p);
        }
    }

    /// Compiles everything added.
    pub fn build(self) -> BuildReport {
        let RuleSetBuilder {
            mapping,
            options,
            docs,
            mut errors,
        } = self;
        let mut compiler = Compiler::new(&mapping, options);
        let mut rules = Vec::new();
        let mut filters: Vec<FilterRule> = Vec::new();
        let mut correlations = Vec::new();
        for d in docs {
            match d {
                SigmaDocument::Rule(r) => rules.push(*r),
                SigmaDocument::Filter(f) => filters.push(*f),
                SigmaDocument::Correlation(c) => correlations.push(*c),
            }
        }
        let mut loaded = correlations.len();
        let mut by_target: HashMap<&str, Vec<&FilterRule>> = HashMap::new();
        for f in &filters {
            for target in &f.rules {
                by_target.entry(target.as_str()).or_default().push(f);
            }
        }
        let mut groups: Vec<Vec<FieldTest>> = Vec::new();
        let mut group_index: HashMap<Vec<String>, usize> = HashMap::new();
        let mut compiled = Vec::with_capacity(rules.len());
        let mut filter_ok: HashMap<*const FilterRule, bool> = HashMap::new();
        for rule in &rules {
            let applicable: Vec<&FilterRule> = [rule.meta.id.as_deref(), rule.meta.name.as_deref()]
                .into_iter()
                .flatten()
                .flat_map(|k| by_target.get(k).cloned().unwrap_or_default())
                .collect();
            match compile_rule(
                &mut compiler,
                rule,
                &applicable,
                &mut groups,
                &mut group_index,
            ) {
                Ok(c) => {
                    for f in &applicable {
                        filter_ok.entry(*f as *const _).or_insert(true);
                    }
                    compiled.push(c);
                    loaded += 1;
                }
                Err((e, bad_filter)) => {
                    if let Some(f) = bad_filter {
                        filter_ok.insert(f as *const _, false);
                    }
                    errors.push(e);
                }
            }
        }
        for f in &filters {
            match filter_ok.get(&(f as *const _)) {
                Some(false) => {}
                Some(true) => loaded += 1,
                None => {
                    // No target loaded: still check that the filter compiles on its own.
                    match compiler.detection(&f.detection, None) {
                        Ok(_) => loaded += 1,
                        Err(e) => errors.push(located(e, &f.meta)),
                    }
                }
            }
        }
        let before = correlations.len();
        let correlations =
            crate::correlate::link::link(&mapping, &compiled, correlations, &mut errors);
        loaded -= before - correlations.len();
        let mut pf = PrefilterBuilder::default();
        // Each needle is registered with the logsource groups of the rules that read it,
        // so that an event's scan can leave out those of groups that do not hold.
        for_each_test(&mut compiled, &mut groups, |t, g| {
            let g = g.map(|g| [g]);
            t.register(&mut pf, g.as_ref().map(|g| g.as_slice()));
        });
        // A field with no candidate path: never present, it stands for all the values.
        let keywords = compiler.fields.intern(Vec::new());
        for r in &mut compiled {
            let need = gate::any_of(r.branches.iter().map(|b| b.detection.need(keywords)));
            let (_, rule_groups) = gate_entry(r);
            r.gate = gate::intern(&need, &mut pf, rule_groups.as_deref());
        }
        // The selective parse joins the keyword text with newlines (and may hold more
        // values than a whole parse when keys repeat): exact for needles without one.
        let sparse = !pf.any_needle(keywords, |n| n.contains('\n'));
        let (prefilter, failed) = pf.build(compiler.fields.len(), Some(keywords));
        if !failed.is_empty() {
            for_each_test(&mut compiled, &mut groups, |t, _| t.unregister(&failed));
            for r in &mut compiled {
                if r.gate
                    .as_ref()
                    .is_some_and(|g| g.iter().any(|(f, _)| failed.contains(f)))
                {
                    r.gate = None;
                }
            }
        }
        let gates = GateIndex::build(compiled.iter().map(gate_entry), Some(keywords));
        let group_index = GroupIndex::build(&groups);
        BuildReport {
            ruleset: RuleSet {
                rules: compiled,
                fields: compiler.fields,
                groups,
                group_index,
                correlations,
                prefilter,
                gates,
                sparse,
            },
            loaded,
            errors,
        }
    }
}

/// A rule's gate and the logsource groups of its branches, for the gate index.
fn gate_entry(r: &CompiledRule) -> (&RuleGate, Option<Vec<usize>>) {
    let groups = r.branches.iter().map(|b| b.logsource).collect();
    (&r.gate, groups)
}

/// Calls `f` with every test of the rules (with the logsource group of its branch, `None`
/// for a branch that applies everywhere) and of the logsource groups (`None`: a group's
/// own test runs on any event).
fn for_each_test(
    rules: &mut [CompiledRule],
    groups: &mut [Vec<FieldTest>],
    mut f: impl FnMut(&mut FieldTest, Option<usize>),
) {
    for r in rules {
        for b in &mut r.branches {
            let g = b.logsource;
            b.detection.tests_mut().for_each(|t| f(t, g));
            for fd in &mut b.filters {
                fd.tests_mut().for_each(|t| f(t, g));
            }
        }
    }
    groups.iter_mut().flatten().for_each(|t| f(t, None));
}

fn located(e: SigmaError, meta: &RuleMeta) -> SigmaError {
    let name = meta.id.as_deref().unwrap_or(&meta.title);
    e.with_context(meta.source.file.as_deref(), Some(name))
        .with_line(meta.source.line)
}

type CompileFailure<'f> = (SigmaError, Option<&'f FilterRule>);

fn compile_rule<'f>(
    compiler: &mut Compiler<'_>,
    rule: &SigmaRule,
    filters: &[&'f FilterRule],
    groups: &mut Vec<Vec<FieldTest>>,
    group_index: &mut HashMap<Vec<String>, usize>,
) -> std::result::Result<CompiledRule, CompileFailure<'f>> {
    let mapped = compiler.branches(&rule.logsource);
    let branch_list: Vec<Option<&crate::mapping::LogsourceBranch>> = if mapped.is_empty() {
        vec![None]
    } else {
        mapped.iter().map(Some).collect()
    };
    let mut branches = Vec::with_capacity(branch_list.len());
    for b in branch_list {
        let logsource = match b {
            None => None,
            Some(b) => Some(match group_index.get(&b.entries) {
                Some(i) => *i,
                None => {
                    let tests = compiler
                        .branch_tests(b)
                        .map_err(|e| (located(e, &rule.meta), None))?;
                    groups.push(tests);
                    group_index.insert(b.entries.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            }),
        };
        let detection = compiler
            .detection(&rule.detection, b)
            .map_err(|e| (located(e, &rule.meta), None))?;
        let mut fdets = Vec::with_capacity(filters.len());
        for f in filters {
            let d = compiler.detection(&f.detection, b).map_err(|e| {
                let e = located(e, &f.meta);
                (e, Some(*f))
            })?;
            fdets.push(d);
        }
        branches.push(Branch {
            logsource,
            detection,
            filters: fdets,
        });
    }
    Ok(CompiledRule {
        meta: rule.meta.clone(),
        logsource: rule.logsource.clone(),
        filters: filters
            .iter()
            .map(|f| f.meta.id.clone().unwrap_or_else(|| f.meta.title.clone()))
            .collect(),
        keyword: branches.iter().any(|b| {
            b.detection.has_keyword_test() || b.filters.iter().any(|f| f.has_keyword_test())
        }),
        branches,
        gate: None,
    })
}

fn read_rule_file(path: &Path) -> Result<String> {
    let io = |source| SigmaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_RULE_FILE {
        return Err(
            invalid(format!("file is larger than {MAX_RULE_FILE} bytes"))
                .with_context(Some(path), None),
        );
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes)
        .map_err(|_| invalid("file is not UTF-8").with_context(Some(path), None))
}

/// Lists `.yml`/`.yaml` files: the path itself if it is a file, else recursively, sorted.
pub fn rule_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|source| SigmaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| SigmaError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        if is_dir {
            rule_files(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Per-thread buffers of the candidate pass, reused from event to event.
#[derive(Default)]
struct Scratch {
    gate: GateScratch,
    /// The logsource groups that hold for the event (a bitset by group).
    groups: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (fresh ones when a callback of `f`
/// matches another event on the same thread).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut sc) => f(&mut sc),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Compiled rules, ready to match events.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    fields: FieldTable,
    groups: Vec<Vec<FieldTest>>,
    /// Finds the few logsource groups that may hold for an event.
    group_index: GroupIndex,
    correlations: Vec<CorrelationRule>,
    prefilter: Prefilter,
    gates: GateIndex,
    /// Whether [`RuleSet::no_match_json`] may decide from a selective parse.
    sparse: bool,
}

impl RuleSet {
    /// Loads and compiles rule files/directories with a mapping; errors are returned beside.
    pub fn load(paths: &[PathBuf], mapping: FieldMapping) -> BuildReport {
        RuleSet::load_with(paths, mapping, CompileOptions::default())
    }

    /// [`RuleSet::load`] with compile options (regexes built on first use, for one).
    pub fn load_with(
        paths: &[PathBuf],
        mapping: FieldMapping,
        options: CompileOptions,
    ) -> BuildReport {
        let mut b = RuleSetBuilder::new(mapping).options(options);
        for p in paths {
            b.add_path(p);
        }
        b.build()
    }

    /// Number of distinct fields (candidate path lists) the rules look at.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Number of rules evaluated on every event of their logsource because no necessary
    /// literal could be derived from their condition (the others are gated).
    pub fn ungated_rules(&self) -> usize {
        self.gates.ungated()
    }

    /// The rules.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Correlation rules, linked to the rules they reference; evaluate them with a
    /// [`crate::correlate::Engine`].
    pub fn correlations(&self) -> &[CorrelationRule] {
        &self.correlations
    }

    /// Keeps only the rules `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&CompiledRule) -> bool) {
        self.rules.retain(keep);
        self.gates = GateIndex::build(self.rules.iter().map(gate_entry), self.gates.keywords());
    }

    /// Calls `f` for every rule that matches the event.
    pub fn for_each_match<'s>(
        &'s self,
        event: &Map<String, Value>,
        mut f: impl FnMut(&'s CompiledRule),
    ) {
        let ctx = EventCtx::new(event, &self.fields, self.groups.len(), &self.prefilter);
        if self.gates.len() != self.rules.len() {
            // Not indexed (never the case for a built set): evaluate every rule.
            for rule in &self.rules {
                if self.rule_matches(rule, &ctx) {
                    f(rule);
                }
            }
            return;
        }
        with_scratch(|sc| {
            self.candidates(&ctx, sc);
            for (w, word) in sc.gate.out.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let i = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    if let Some(rule) = self.rules.get(i)
                        && self.rule_matches(rule, &ctx)
                    {
                        f(rule);
                    }
                }
            }
        });
    }

    /// Whether no rule matches the JSON object `text`, decided from a selective parse
    /// that keeps only the fields rules read (much cheaper than parsing the whole event).
    /// `false` means "unsure" or "some rule matches": see [`RuleSet::matches_json`].
    pub fn no_match_json(&self, text: &str) -> bool {
        self.matches_json(text).is_some_and(|hits| hits.is_empty())
    }

    /// The rules that match the JSON object `text`, in the order
    /// [`RuleSet::for_each_match`] reports them, decided from a selective parse that keeps
    /// only the fields rules read. `None` means "unsure": parse the event and call
    /// [`RuleSet::for_each_match`]; so it is for texts that are not a JSON object, and
    /// for events on which a rule whose keywords search every value is a candidate (the
    /// selective parse matches exactly like the whole event for every other rule).
    pub fn matches_json<'s>(&'s self, text: &str) -> Option<Vec<&'s CompiledRule>> {
        if !self.sparse || self.gates.len() != self.rules.len() {
            return None;
        }
        let ev = crate::sparse::parse(&self.fields, text, self.gates.has_keyword_gate()).ok()?;
        let mut ctx =
            EventCtx::from_nodes(&ev.nodes, &self.fields, self.groups.len(), &self.prefilter)?;
        ctx.keyword_text = ev.text.as_deref();
        with_scratch(|sc| {
            self.candidates(&ctx, sc);
            let mut hits = Vec::new();
            for (w, word) in sc.gate.out.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let i = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    let Some(rule) = self.rules.get(i) else {
                        continue;
                    };
                    if rule.keyword {
                        return None;
                    }
                    if self.rule_matches(rule, &ctx) {
                        hits.push(rule);
                    }
                }
            }
            Some(hits)
        })
    }

    /// The candidate rules of an event into `sc.gate.out`: first the logsource groups
    /// that hold (only those the group index lists are evaluated; the others are cached
    /// as false), then the gates of the fields those groups' rules look at.
    fn candidates(&self, ctx: &EventCtx<'_>, sc: &mut Scratch) {
        sc.groups.clear();
        sc.groups.resize(self.groups.len().div_ceil(64), 0);
        if self.group_index.len() == self.groups.len() {
            for c in &ctx.logsource_cache {
                c.set(Some(false));
            }
            self.group_index.plausible(ctx, |g| {
                if let Some(c) = ctx.logsource_cache.get(g) {
                    c.set(None);
                }
            });
        }
        for g in 0..self.groups.len() {
            if self.group(g, ctx)
                && let Some(w) = sc.groups.get_mut(g / 64)
            {
                *w |= 1 << (g % 64);
            }
        }
        if let Some(scope) = self.prefilter.scope(&sc.groups) {
            let _ = ctx.scope.set(scope);
        }
        self.gates
            .candidates(ctx, &self.prefilter, &sc.groups, &mut sc.gate);
    }

    /// Evaluates every rule on its own and reports whether it matched and how long it
    /// took: slower than [`RuleSet::for_each_match`], for sampled per-rule profiling.
    pub fn profile_each<'s>(
        &'s self,
        event: &Map<String, Value>,
        mut f: impl FnMut(&'s CompiledRule, bool, std::time::Duration),
    ) {
        let ctx = EventCtx::new(event, &self.fields, self.groups.len(), &self.prefilter);
        for rule in &self.rules {
            let started = std::time::Instant::now();
            let matched = self.rule_matches(rule, &ctx);
            f(rule, matched, started.elapsed());
        }
    }

    /// The rules that match the event.
    pub fn matches(&self, event: &Map<String, Value>) -> Vec<&CompiledRule> {
        let mut out = Vec::new();
        self.for_each_match(event, |r| out.push(r));
        out
    }

    fn group(&self, i: usize, ctx: &EventCtx<'_>) -> bool {
        let Some(cell) = ctx.logsource_cache.get(i) else {
            return false;
        };
        if let Some(v) = cell.get() {
            return v;
        }
        let v = self
            .groups
            .get(i)
            .is_some_and(|tests| tests.iter().all(|t| t.eval(ctx)));
        cell.set(Some(v));
        v
    }

    fn rule_matches(&self, rule: &CompiledRule, ctx: &EventCtx<'_>) -> bool {
        rule.branches.iter().any(|b| {
            b.logsource.is_none_or(|g| self.group(g, ctx))
                && b.detection.eval(ctx)
                && b.filters.iter().all(|f| f.eval(ctx))
        })
    }
}
