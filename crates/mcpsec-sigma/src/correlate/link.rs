//! Linking correlations to the rules they reference, when a rule set is built:
//! unknown references and loops are errors, aliases are resolved and field names are
//! turned into event paths through the field mapping.

use crate::correlation::CorrelationRule;
use crate::error::{SigmaError, invalid};
use crate::fields::PathSpec;
use crate::mapping::FieldMapping;
use crate::rule::RuleMeta;
use crate::ruleset::CompiledRule;
use std::collections::HashMap;

/// How one entry of `correlation.rules` is matched and read.
#[derive(Debug, Clone)]
pub(crate) struct RefPlan {
    /// The keys an observed rule may carry to be this entry: the reference as written
    /// and the id and name of the rule it resolved to.
    pub keys: Vec<String>,
    /// Index of the referenced correlation, `None` for a detection rule.
    pub correlation: Option<usize>,
    /// Per `group-by` name: the event paths to try (aliases applied).
    pub group_paths: Vec<Vec<PathSpec>>,
    /// Per `condition.field`: the event paths to try.
    pub value_paths: Vec<Vec<PathSpec>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Rule(usize),
    Correlation(usize),
}

fn keys_of(meta: &RuleMeta) -> impl Iterator<Item = &str> {
    meta.id.as_deref().into_iter().chain(meta.name.as_deref())
}

fn located(e: SigmaError, meta: &RuleMeta) -> SigmaError {
    let name = meta.id.as_deref().unwrap_or(&meta.title);
    e.with_context(meta.source.file.as_deref(), Some(name))
        .with_line(meta.source.line)
}

fn paths(mapping: &FieldMapping, field: &str, chained: bool) -> Vec<PathSpec> {
    let mut out = if chained {
        Vec::new()
    } else {
        mapping.paths(field, None)
    };
    if !out.iter().any(|p| p == field) {
        out.insert(0, field.to_owned());
    }
    out.iter().map(|p| PathSpec::new(p)).collect()
}

/// Checks and resolves the correlations against the compiled rules; the ones that fail
/// are left out and reported in `errors`.
pub(crate) fn link(
    mapping: &FieldMapping,
    rules: &[CompiledRule],
    mut corrs: Vec<CorrelationRule>,
    errors: &mut Vec<SigmaError>,
) -> Vec<CorrelationRule> {
    let mut index: HashMap<&str, Target> = HashMap::new();
    for (i, c) in corrs.iter().enumerate() {
        for k in keys_of(&c.meta) {
            index.entry(k).or_insert(Target::Correlation(i));
        }
    }
    for (i, r) in rules.iter().enumerate() {
        for k in keys_of(&r.meta) {
            index.entry(k).or_insert(Target::Rule(i));
        }
    }
    let mut plans: Vec<Option<Vec<RefPlan>>> = Vec::with_capacity(corrs.len());
    let mut failed: Vec<Option<SigmaError>> = Vec::with_capacity(corrs.len());
    for c in &corrs {
        match plan(mapping, rules, &corrs, &index, c) {
            Ok(p) => {
                plans.push(Some(p));
                failed.push(None);
            }
            Err(e) => {
                plans.push(None);
                failed.push(Some(located(e, &c.meta)));
            }
        }
    }
    // A correlation on a loop, or built on one that failed, fails too.
    loop {
        let mut changed = false;
        for i in 0..corrs.len() {
            if failed[i].is_some() {
                continue;
            }
            let deps: Vec<usize> = plans[i]
                .iter()
                .flatten()
                .filter_map(|p| p.correlation)
                .collect();
            let msg = if let Some(d) = deps.iter().find(|d| failed[**d].is_some()) {
                Some(format!(
                    "references correlation {:?}, which did not load",
                    corrs[*d].display_name()
                ))
            } else if reaches(&plans, i, i) {
                Some("correlation chain loops back to this correlation".to_owned())
            } else {
                None
            };
            if let Some(m) = msg {
                failed[i] = Some(located(invalid(m), &corrs[i].meta));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Keep the good ones; correlation indices in plans shift accordingly.
    let mut new_index = vec![None; corrs.len()];
    let mut n = 0;
    for (i, f) in failed.iter().enumerate() {
        if f.is_none() {
            new_index[i] = Some(n);
            n += 1;
        }
    }
    let mut out = Vec::with_capacity(n);
    for (c, (p, f)) in corrs.drain(..).zip(plans.into_iter().zip(failed)) {
        if let Some(e) = f {
            errors.push(e);
            continue;
        }
        let mut c = c;
        c.plan = p.unwrap_or_default();
        for rp in &mut c.plan {
            rp.correlation = rp.correlation.and_then(|j| new_index[j]);
        }
        out.push(c);
    }
    out
}

/// Whether correlation `from` reaches `target` through its references.
fn reaches(plans: &[Option<Vec<RefPlan>>], from: usize, target: usize) -> bool {
    let mut stack: Vec<usize> = vec![from];
    let mut seen = vec![false; plans.len()];
    while let Some(i) = stack.pop() {
        for d in plans
            .get(i)
            .and_then(Option::as_ref)
            .into_iter()
            .flatten()
            .filter_map(|p| p.correlation)
        {
            if d == target {
                return true;
            }
            if let Some(s) = seen.get_mut(d)
                && !*s
            {
                *s = true;
                stack.push(d);
            }
        }
    }
    false
}

fn plan(
    mapping: &FieldMapping,
    rules: &[CompiledRule],
    corrs: &[CorrelationRule],
    index: &HashMap<&str, Target>,
    c: &CorrelationRule,
) -> crate::error::Result<Vec<RefPlan>> {
    let mut out = Vec::with_capacity(c.rules.len());
    let mut seen: Vec<(Target, &str)> = Vec::with_capacity(c.rules.len());
    for r in &c.rules {
        let Some(target) = index.get(r.as_str()).copied() else {
            return Err(invalid(format!(
                "correlation references {r:?}, which is not a loaded rule or correlation \
                 (by id or name)"
            )));
        };
        if let Some((_, first)) = seen.iter().find(|(t, _)| *t == target) {
            return Err(invalid(format!(
                "correlation.rules names the same rule twice, as {first:?} and {r:?}"
            )));
        }
        seen.push((target, r));
        let (meta, correlation) = match target {
            Target::Rule(i) => (&rules[i].meta, None),
            Target::Correlation(i) => (&corrs[i].meta, Some(i)),
        };
        let mut keys = vec![r.clone()];
        for k in keys_of(meta) {
            if !keys.iter().any(|x| x == k) {
                keys.push(k.to_owned());
            }
        }
        out.push(RefPlan {
            keys,
            correlation,
            group_paths: Vec::new(),
            value_paths: Vec::new(),
        });
    }
    for (alias, per_rule) in &c.aliases {
        for k in per_rule.keys() {
            if !out.iter().any(|p| p.keys.contains(k)) {
                return Err(invalid(format!(
                    "alias {alias:?} names rule {k:?}, which correlation.rules does not reference"
                )));
            }
        }
    }
    let fields: Vec<String> = c
        .condition
        .as_ref()
        .map(|x| x.fields.clone())
        .unwrap_or_default();
    for p in &mut out {
        let chained = p.correlation.is_some();
        p.group_paths = c
            .group_by
            .iter()
            .map(|g| {
                let field = c
                    .aliases
                    .get(g)
                    .and_then(|m| p.keys.iter().find_map(|k| m.get(k)))
                    .map_or(g.as_str(), String::as_str);
                paths(mapping, field, chained)
            })
            .collect();
        p.value_paths = fields.iter().map(|f| paths(mapping, f, chained)).collect();
    }
    Ok(out)
}
