//! Parsing and validation of playbooks, with errors that name the line and the step.

use crate::actions::Registry;
use crate::model::{Playbook, Step, parse_duration};
use crate::template::Templates;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

/// Largest playbook accepted.
pub const MAX_PLAYBOOK_BYTES: usize = 1 << 20;
/// Most steps in one playbook.
pub const MAX_STEPS: usize = 500;

/// One problem found in a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The step concerned.
    pub step: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        if let Some(s) = &self.step {
            write!(f, "step '{s}': ")?;
        }
        f.write_str(&self.message)
    }
}

/// All the problems of one playbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<Diagnostic>);

fn valid_id(id: &str, dots: bool) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (dots && b == b'.'))
}

/// Finds the line of `id: <step>` in the source (first match).
fn line_of_step(source: &str, step: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix("id:")
                .is_some_and(|rest| rest.trim().trim_matches(|c| c == '"' || c == '\'') == step)
        })
        .map(|i| i + 1)
}

/// Parses YAML (or JSON) text and validates it.
pub fn parse_playbook(source: &str, registry: &Registry) -> Result<Playbook, Invalid> {
    if source.len() > MAX_PLAYBOOK_BYTES {
        return Err(Invalid(vec![Diagnostic {
            line: None,
            column: None,
            step: None,
            message: format!("playbook is larger than {MAX_PLAYBOOK_BYTES} bytes"),
        }]));
    }
    let pb: Playbook = serde_norway::from_str(source).map_err(|e| {
        let loc = e.location();
        Invalid(vec![Diagnostic {
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            step: None,
            message: e.to_string(),
        }])
    })?;
    let mut diags = check(&pb, registry);
    for d in &mut diags {
        if d.line.is_none() {
            d.line = d
                .step
                .as_deref()
                .and_then(|s| line_of_step(source, s.split('/').next_back().unwrap_or(s)));
        }
    }
    if diags.is_empty() {
        Ok(pb)
    } else {
        Err(Invalid(diags))
    }
}

struct Ctx<'a> {
    diags: Vec<Diagnostic>,
    templates: Templates,
    registry: &'a Registry,
}

impl Ctx<'_> {
    fn err(&mut self, step: Option<&str>, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            line: None,
            column: None,
            step: step.map(str::to_owned),
            message: message.into(),
        });
    }

    fn action(&mut self, step: &str, name: &str, inputs: &Map<String, Value>) {
        let Some(action) = self.registry.get(name) else {
            self.err(
                Some(step),
                format!(
                    "unknown action '{name}' (known: {})",
                    self.registry.names().join(", ")
                ),
            );
            return;
        };
        let known = action.known();
        if known != ["*"] {
            for k in inputs.keys() {
                if !known.contains(&k.as_str()) {
                    self.err(
                        Some(step),
                        format!("{name} has no input '{k}' (inputs: {})", known.join(", ")),
                    );
                }
            }
        }
        for r in action.required() {
            if !inputs.contains_key(*r) {
                self.err(Some(step), format!("{name} needs input '{r}'"));
            }
        }
        if let Err(e) = action.check(inputs) {
            self.err(Some(step), format!("{name}: {e}"));
        }
    }

    fn duration(&mut self, step: &str, what: &str, v: Option<&str>) {
        if let Some(Err(e)) = v.map(parse_duration) {
            self.err(Some(step), format!("{what}: {e}"));
        }
    }

    /// Checks a template/expression's step references against what the step may see.
    fn refs(
        &mut self,
        step: &str,
        vars: BTreeSet<String>,
        visible: &HashSet<String>,
        all: &HashSet<&str>,
    ) {
        for v in vars {
            let mut parts = v.split('.');
            let root = parts.next().unwrap_or("");
            match root {
                "alert" | "trigger" | "input" | "run" | "item" | "index" | "error" => {}
                "steps" => {
                    let Some(target) = parts.next() else { continue };
                    if !all.contains(target) {
                        self.err(Some(step), format!("refers to unknown step '{target}' ({v})"));
                    } else if !visible.contains(target) {
                        self.err(
                            Some(step),
                            format!("uses steps.{target} but does not run after '{target}' (add it to needs)"),
                        );
                    }
                }
                // Builtin functions and filters show up as names too.
                "range" | "dict" | "namespace" | "debug" | "loop" | "true" | "false" | "none" => {}
                other => self.err(
                    Some(step),
                    format!("unknown variable '{other}' (alert, trigger, input, run, steps, item, index, error)"),
                ),
            }
        }
    }
}

fn ancestors(pb: &Playbook, index_of: &HashMap<&str, usize>, i: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut todo = pb.needs_of(i);
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone())
            && let Some(&j) = index_of.get(n.as_str())
        {
            todo.extend(pb.needs_of(j));
        }
    }
    seen
}

/// Semantic checks of a parsed playbook.
pub fn check(pb: &Playbook, registry: &Registry) -> Vec<Diagnostic> {
    let mut c = Ctx {
        diags: Vec::new(),
        templates: Templates::new(),
        registry,
    };
    if !valid_id(&pb.id, true) {
        c.err(
            None,
            format!("playbook id '{}' must be 1-100 of [A-Za-z0-9_.-]", pb.id),
        );
    }
    if pb.name.trim().is_empty() {
        c.err(None, "name is empty");
    }
    if pb.steps.is_empty() {
        c.err(None, "a playbook needs at least one step");
    }
    if pb.steps.len() > MAX_STEPS {
        c.err(None, format!("more than {MAX_STEPS} steps"));
    }
    for t in &pb.triggers {
        let tenants = match t {
            crate::model::Trigger::Schedule(sc) => {
                if let Err(e) =
                    crate::schedule::next_run(&sc.cron, &sc.timezone, chrono::Utc::now())
                {
                    c.err(None, format!("trigger schedule: {e}"));
                }
                &sc.tenants
            }
            crate::model::Trigger::Risk(r) => {
                if r.min_score > 100 {
                    c.err(None, "trigger risk: min_score must be 0-100");
                }
                for k in &r.kinds {
                    if !crate::trigger::RISK_KINDS.contains(&k.as_str()) {
                        c.err(
                            None,
                            format!("trigger risk: kind '{k}' is not threshold or rise"),
                        );
                    }
                }
                &r.tenants
            }
            _ => &Vec::new(),
        };
        for t in tenants {
            if mcpsec_core::TenantId::new(t).is_err() {
                c.err(
                    None,
                    format!("trigger tenant '{t}' is not a valid tenant name"),
                );
            }
        }
        if let crate::model::Trigger::Alert(f) = t {
            for l in f.levels.iter().chain(f.min_level.iter()) {
                if mcpsec_store::parse_level(l).is_none() {
                    c.err(
                        None,
                        format!("trigger level '{l}' is not {}", mcpsec_store::LEVEL_NAMES),
                    );
                }
            }
            for t in &f.tenants {
                if mcpsec_core::TenantId::new(t).is_err() {
                    c.err(
                        None,
                        format!("trigger tenant '{t}' is not a valid tenant name"),
                    );
                }
            }
        }
    }
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (i, s) in pb.steps.iter().enumerate() {
        if !valid_id(&s.id, false) {
            c.err(Some(&s.id), "step id must be 1-100 of [A-Za-z0-9_-]");
        }
        if index_of.insert(&s.id, i).is_some() {
            c.err(Some(&s.id), "duplicate step id");
        }
    }
    let all: HashSet<&str> = index_of.keys().copied().collect();
    for (i, s) in pb.steps.iter().enumerate() {
        for n in pb.needs_of(i) {
            if !all.contains(n.as_str()) {
                c.err(Some(&s.id), format!("needs unknown step '{n}'"));
            } else if n == s.id {
                c.err(Some(&s.id), "needs itself");
            }
        }
    }
    if let Some(cycle) = find_cycle(pb, &index_of) {
        c.err(Some(&cycle[0]), format!("cycle: {}", cycle.join(" -> ")));
    }
    for (i, s) in pb.steps.iter().enumerate() {
        check_step(&mut c, pb, &index_of, &all, i, s);
    }
    c.diags
}

fn check_step(
    c: &mut Ctx<'_>,
    pb: &Playbook,
    index_of: &HashMap<&str, usize>,
    all: &HashSet<&str>,
    i: usize,
    s: &Step,
) {
    let visible = ancestors(pb, index_of, i);
    c.action(&s.id, &s.action, &s.inputs);
    match c.templates.check_value(&Value::Object(s.inputs.clone())) {
        Ok(vars) => c.refs(&s.id, vars, &visible, all),
        Err(e) => c.err(Some(&s.id), format!("template: {e}")),
    }
    for (what, expr) in [("when", &s.when), ("foreach", &s.foreach)] {
        if let Some(e) = expr {
            let e = e.trim().trim_start_matches("{{").trim_end_matches("}}");
            match c.templates.check_expression(e) {
                Ok(vars) => c.refs(&s.id, vars, &visible, all),
                Err(err) => c.err(Some(&s.id), format!("{what}: {err}")),
            }
        }
    }
    c.duration(&s.id, "timeout", s.timeout.as_deref());
    if let Some(r) = &s.retry {
        if r.attempts == 0 || r.attempts > 20 {
            c.err(Some(&s.id), "retry.attempts must be 1 to 20");
        }
        c.duration(&s.id, "retry.backoff", r.backoff.as_deref());
        c.duration(&s.id, "retry.max_backoff", r.max_backoff.as_deref());
    }
    if let Some(a) = &s.approval {
        c.duration(&s.id, "approval.deadline", Some(&a.deadline));
        match (&a.role, a.approvers.is_empty()) {
            (None, true) => c.err(Some(&s.id), "approval needs a role or approvers"),
            (Some(_), false) => c.err(Some(&s.id), "approval takes a role or approvers, not both"),
            _ => {}
        }
        let distinct: HashSet<&String> = a.approvers.iter().collect();
        if distinct.len() != a.approvers.len() {
            c.err(Some(&s.id), "approval lists an approver twice");
        }
        if let Some(m) = a.min
            && (m == 0 || m as usize > a.approvers.len().max(1))
        {
            c.err(
                Some(&s.id),
                format!("approval.min {m} must be 1 to the number of approvers"),
            );
        }
        match (a.on_expiry, &a.escalate_to) {
            (crate::model::Expiry::Escalate, None) => {
                c.err(Some(&s.id), "on_expiry: escalate needs escalate_to")
            }
            (crate::model::Expiry::Reject, Some(_)) => c.err(
                Some(&s.id),
                "escalate_to is only used with on_expiry: escalate",
            ),
            _ => {}
        }
    }
    let mut comp_ids = HashSet::new();
    for comp in &s.on_failure {
        let label = format!("{}/{}", s.id, comp.id);
        if !valid_id(&comp.id, false) || !comp_ids.insert(&comp.id) {
            c.err(
                Some(&label),
                "compensation ids must be unique [A-Za-z0-9_-]",
            );
        }
        c.action(&label, &comp.action, &comp.inputs);
        c.duration(&label, "timeout", comp.timeout.as_deref());
        let mut vis = visible.clone();
        vis.insert(s.id.clone());
        match c.templates.check_value(&Value::Object(comp.inputs.clone())) {
            Ok(vars) => c.refs(&label, vars, &vis, all),
            Err(e) => c.err(Some(&label), format!("template: {e}")),
        }
    }
}

/// A cycle in the `needs` graph, as step ids with the first repeated at the end.
fn find_cycle(pb: &Playbook, index_of: &HashMap<&str, usize>) -> Option<Vec<String>> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; pb.steps.len()];
    for start in 0..pb.steps.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
        let deps = |i: usize| -> Vec<usize> {
            pb.needs_of(i)
                .iter()
                .filter_map(|n| index_of.get(n.as_str()).copied())
                .collect()
        };
        state[start] = 1;
        stack.push((start, deps(start)));
        while let Some((node, rest)) = stack.last_mut() {
            let node = *node;
            match rest.pop() {
                Some(next) if state[next] == 1 => {
                    let pos = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[pos..]
                        .iter()
                        .map(|(n, _)| pb.steps[*n].id.clone())
                        .collect();
                    cycle.push(pb.steps[next].id.clone());
                    return Some(cycle);
                }
                Some(next) if state[next] == 0 => {
                    state[next] = 1;
                    let d = deps(next);
                    stack.push((next, d));
                }
                Some(_) => {}
                None => {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
    }
    None
}
