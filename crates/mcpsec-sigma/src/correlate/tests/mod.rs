//! Engine tests: helpers here, cases in the submodules.

mod rules;
mod types;

use super::{CorrelationHit, Engine, Limits};
use crate::{FieldMapping, RuleSet, RuleSetBuilder};
use serde_json::{Map, Value, json};

/// Base rules `a`, `b`, `c` match events whose `r` field is their name.
pub(crate) const BASE: &str = "
title: A
id: rule-a
name: a
logsource: {product: test}
detection: {sel: {r: a}, condition: sel}
---
title: B
name: b
logsource: {product: test}
detection: {sel: {r: b}, condition: sel}
---
title: C
name: c
logsource: {product: test}
detection: {sel: {r: c}, condition: sel}
";

pub(crate) fn build(text: &str) -> RuleSet {
    let mut b = RuleSetBuilder::new(FieldMapping::empty());
    b.add_text(text, None);
    let r = b.build();
    assert!(
        r.errors.is_empty(),
        "{:?}",
        r.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
    r.ruleset
}

pub(crate) fn with_base(corr: &str) -> RuleSet {
    build(&format!("{BASE}---\n{corr}"))
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Feeds `(seconds, event)` pairs through matching and the engine; event refs are the
/// positions. `finish` closes the open windows at the end.
pub(crate) fn feed(
    set: &RuleSet,
    engine: &mut Engine<u64>,
    events: &[(i64, Value)],
) -> Vec<CorrelationHit<u64>> {
    let mut out = Vec::new();
    for (i, (t, v)) in events.iter().enumerate() {
        let m = obj(v.clone());
        for r in set.matches(&m) {
            out.extend(engine.observe(&r.meta, &m, t * 1000, i as u64));
        }
    }
    out
}

pub(crate) fn run(set: &RuleSet, events: &[(i64, Value)]) -> Vec<CorrelationHit<u64>> {
    let mut e = Engine::new(set, Limits::default());
    let mut hits = feed(set, &mut e, events);
    hits.extend(e.finish());
    hits
}

pub(crate) fn ev(r: &str, host: &str) -> Value {
    json!({"r": r, "host": host})
}

pub(crate) fn count_rule(cond: &str) -> RuleSet {
    with_base(&format!(
        "title: Count\nid: count\nlevel: high\ncorrelation: {{type: event_count, rules: [a], \
         group-by: [host], timespan: 1m, condition: {{{cond}}}}}"
    ))
}
