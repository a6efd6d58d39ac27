//! Which logsource groups can hold for an event, found without evaluating each of them.
//!
//! A logsource group is the list of tests a mapping branch adds to its rules (for
//! SigmaHQ on EVTX: `Channel` equals one channel name, often an `EventID`, the product
//! marker). Most groups have a *key*: a test whose alternatives are all case-insensitive
//! `equals` strings on one field. Such a group can only hold when the event's value of
//! that field, lowercased, is one of those strings, so one hash lookup of the event's
//! value finds the few groups worth evaluating; the others are false without a look.
//!
//! The lookup is exact: it is used only when the field's value is a string (the value a
//! keyed test compares with its lowercased literals); for any other value (number, array,
//! object, null) every group keyed on the field is evaluated as before. An absent field
//! fails an all-`equals` test, so its groups are false.

use crate::fields::{EventCtx, FieldId};
use crate::matcher::{FieldTest, StrMatch, ValueMatcher};
use serde_json::Value;
use std::collections::HashMap;

/// The groups keyed on one field.
#[derive(Debug, Clone)]
struct KeyField {
    field: FieldId,
    /// Lowercased value → the groups it may satisfy.
    by_value: HashMap<Box<str>, Vec<usize>, foldhash::fast::RandomState>,
    /// Every group keyed on the field (when the value is not a string).
    all: Vec<usize>,
}

/// The index over a rule set's logsource groups.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupIndex {
    count: usize,
    /// Groups without a key: evaluated on every event.
    unkeyed: Vec<usize>,
    keys: Vec<KeyField>,
}

/// The lowercased literals of a test whose every alternative of one AND member is a
/// case-insensitive `equals` string, with its field.
fn key_values(t: &FieldTest) -> Option<(FieldId, Vec<&str>)> {
    let FieldTest::Values {
        field: Some(f),
        values,
        negate: false,
    } = t
    else {
        return None;
    };
    values.iter().find_map(|alts| {
        let lits: Option<Vec<&str>> = alts
            .matchers
            .iter()
            .map(|m| match m {
                ValueMatcher::Str(s) if !s.cased => match &s.kind {
                    StrMatch::Equals(n) => Some(n.as_str()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        lits.filter(|l| !l.is_empty()).map(|l| (*f, l))
    })
}

impl GroupIndex {
    /// Indexes `groups` (each an AND of tests). A group's key is taken on the field
    /// that keys the most groups, so they share one lookup.
    pub(crate) fn build(groups: &[Vec<FieldTest>]) -> GroupIndex {
        let mut uses: HashMap<FieldId, usize> = HashMap::new();
        for g in groups {
            let mut seen = Vec::new();
            for (f, _) in g.iter().filter_map(key_values) {
                if !seen.contains(&f) {
                    seen.push(f);
                    *uses.entry(f).or_default() += 1;
                }
            }
        }
        let mut ix = GroupIndex {
            count: groups.len(),
            ..GroupIndex::default()
        };
        for (i, g) in groups.iter().enumerate() {
            let key = g
                .iter()
                .filter_map(key_values)
                .max_by_key(|(f, _)| (uses.get(f).copied().unwrap_or(0), std::cmp::Reverse(f.0)));
            let Some((field, lits)) = key else {
                ix.unkeyed.push(i);
                continue;
            };
            let k = match ix.keys.iter().position(|k| k.field == field) {
                Some(k) => k,
                None => {
                    ix.keys.push(KeyField {
                        field,
                        by_value: HashMap::default(),
                        all: Vec::new(),
                    });
                    ix.keys.len() - 1
                }
            };
            if let Some(kf) = ix.keys.get_mut(k) {
                kf.all.push(i);
                for lit in lits {
                    let list = kf.by_value.entry(lit.into()).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        ix
    }

    /// Number of groups indexed.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Calls `f` with every group that may hold for the event (each at most once per key
    /// field; a group is listed under one key only).
    pub(crate) fn plausible(&self, ctx: &EventCtx<'_>, mut f: impl FnMut(usize)) {
        self.unkeyed.iter().for_each(|g| f(*g));
        for k in &self.keys {
            match ctx.get(k.field) {
                None => {}
                Some(Value::String(_)) => {
                    if let Some(gs) = ctx.folded(k.field).and_then(|v| k.by_value.get(v)) {
                        gs.iter().for_each(|g| f(*g));
                    }
                }
                Some(_) => k.all.iter().for_each(|g| f(*g)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;
    use crate::matcher::{Alts, StringMatcher};
    use crate::prefilter::Prefilter;
    use serde_json::json;

    fn eq(f: FieldId, vals: &[&str]) -> FieldTest {
        FieldTest::Values {
            field: Some(f),
            values: vec![Alts::new(
                vals.iter()
                    .map(|v| {
                        ValueMatcher::Str(StringMatcher::new(
                            StrMatch::Equals(v.to_lowercase()),
                            false,
                            None,
                        ))
                    })
                    .collect(),
            )],
            negate: false,
        }
    }

    /// The groups `plausible` lists must include every group that holds.
    fn check(groups: &[Vec<FieldTest>], table: &FieldTable, event: serde_json::Value) {
        let ix = GroupIndex::build(groups);
        let serde_json::Value::Object(root) = event else {
            panic!("not an object")
        };
        let pf = Prefilter::default();
        let ctx = EventCtx::new(&root, table, groups.len(), &pf);
        let mut listed = Vec::new();
        ix.plausible(&ctx, |g| listed.push(g));
        for (i, g) in groups.iter().enumerate() {
            if g.iter().all(|t| t.eval(&ctx)) {
                assert!(listed.contains(&i), "group {i} holds but was not listed");
            }
        }
    }

    #[test]
    fn keyed_groups_are_found_by_value_and_others_fall_back() {
        let mut t = FieldTable::default();
        let ch = t.intern(vec!["Channel".into()]);
        let id = t.intern(vec!["EventID".into()]);
        let groups = vec![
            vec![eq(ch, &["Security"]), eq(id, &["4688"])],
            vec![
                eq(ch, &["Microsoft-Windows-Sysmon/Operational"]),
                eq(id, &["1"]),
            ],
            vec![eq(ch, &["System", "Security"])],
            vec![FieldTest::Exists {
                field: ch,
                expect: true,
            }],
        ];
        let ix = GroupIndex::build(&groups);
        assert_eq!(ix.unkeyed, vec![3]);
        assert_eq!(
            ix.keys.len(),
            1,
            "all keyed on Channel, the most shared field"
        );
        for ev in [
            json!({"Channel": "SECURITY", "EventID": 4688}),
            json!({"Channel": "security", "EventID": "4688"}),
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}),
            json!({"Channel": ["Security"], "EventID": 4688}),
            json!({"Channel": {"#text": "System"}}),
            json!({"Channel": 5}),
            json!({"Channel": null}),
            json!({"EventID": 1}),
            json!({"Channel": "K\u{212A}"}),
        ] {
            check(&groups, &t, ev);
        }
        let serde_json::Value::Object(root) = json!({"Channel": "Other", "EventID": 1}) else {
            panic!("not an object")
        };
        let pf = Prefilter::default();
        let ctx = EventCtx::new(&root, &t, groups.len(), &pf);
        let mut listed = Vec::new();
        ix.plausible(&ctx, |g| listed.push(g));
        assert_eq!(
            listed,
            vec![3],
            "an unknown channel rules out every keyed group"
        );
    }
}
