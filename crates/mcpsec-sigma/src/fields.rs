//! Field paths resolved ahead of time, and the per-event cache of their values.

use serde_json::{Map, Value};
use std::cell::{Cell, OnceCell};
use std::collections::HashMap;

/// Index of an interned field (a list of candidate paths) in a [`FieldTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldId(pub(crate) u32);

/// A dotted path split once, with every run of segments pre-joined, so a lookup that
/// has to try flat keys such as `"host.name"` allocates nothing.
#[derive(Debug, Clone)]
pub struct PathSpec {
    text: String,
    /// `joined[i][k]` = segments `i..=i+k` joined with dots.
    joined: Vec<Vec<String>>,
}

impl PathSpec {
    /// Splits a dotted path.
    pub fn new(path: &str) -> PathSpec {
        let segs: Vec<&str> = path.split('.').collect();
        let joined = (0..segs.len())
            .map(|i| (i..segs.len()).map(|j| segs[i..=j].join(".")).collect())
            .collect();
        PathSpec {
            text: path.to_owned(),
            joined,
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Resolves the path; nested objects first, flat dotted keys as the fallback. A `*`
    /// segment stands for any key of an object (the first that leads to a value wins).
    pub fn get<'a>(&self, root: &'a Map<String, Value>) -> Option<&'a Value> {
        if let Some(v) = root.get(&self.text) {
            return Some(v);
        }
        self.walk_obj(root, 0)
    }

    fn walk_obj<'a>(&self, obj: &'a Map<String, Value>, i: usize) -> Option<&'a Value> {
        let runs = self.joined.get(i)?;
        if runs.first().is_some_and(|s| s == "*") {
            let next = i + 1;
            return obj.values().find_map(|v| {
                if next == self.joined.len() {
                    Some(v)
                } else {
                    self.walk_value(v, next)
                }
            });
        }
        for (k, key) in runs.iter().enumerate() {
            if let Some(v) = obj.get(key) {
                let next = i + k + 1;
                if next == self.joined.len() {
                    return Some(v);
                }
                if let Some(found) = self.walk_value(v, next) {
                    return Some(found);
                }
            }
        }
        None
    }

    fn walk_value<'a>(&self, v: &'a Value, i: usize) -> Option<&'a Value> {
        match v {
            Value::Object(m) => self.walk_obj(m, i),
            Value::Array(items) => {
                let idx: usize = self.joined.get(i)?.first()?.parse().ok()?;
                let item = items.get(idx)?;
                if i + 1 == self.joined.len() {
                    Some(item)
                } else {
                    self.walk_value(item, i + 1)
                }
            }
            _ => None,
        }
    }
}

/// Interned fields: each is a list of candidate paths, the first present wins.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    fields: Vec<Vec<PathSpec>>,
    index: HashMap<Vec<String>, FieldId>,
    /// Parents whose children are also indexed under `*` (from paths like `a.*.b`).
    wild_parents: Vec<String>,
}

impl FieldTable {
    /// Interns a candidate list (identical lists share one id).
    pub fn intern(&mut self, paths: Vec<String>) -> FieldId {
        if let Some(id) = self.index.get(&paths) {
            return *id;
        }
        let id = FieldId(u32::try_from(self.fields.len()).unwrap_or(u32::MAX));
        for p in &paths {
            let parent = if p.starts_with("*") {
                Some("")
            } else {
                p.find(".*").map(|i| &p[..i])
            };
            if let Some(parent) = parent
                && !self.wild_parents.iter().any(|w| w == parent)
            {
                self.wild_parents.push(parent.to_owned());
            }
        }
        self.fields
            .push(paths.iter().map(|p| PathSpec::new(p)).collect());
        self.index.insert(paths, id);
        id
    }

    /// Number of interned fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The candidate paths of a field.
    pub fn paths(&self, id: FieldId) -> &[PathSpec] {
        self.fields.get(id.0 as usize).map_or(&[], Vec::as_slice)
    }
}

#[derive(Clone, Copy)]
enum Slot<'a> {
    Unknown,
    Absent,
    Present(&'a Value),
}

/// One event being matched: field values are looked up at most once per event.
pub struct EventCtx<'a> {
    root: &'a Map<String, Value>,
    table: &'a FieldTable,
    cache: Vec<Cell<Slot<'a>>>,
    folded: Vec<OnceCell<Option<Box<str>>>>,
    flat: OnceCell<HashMap<Box<str>, &'a Value>>,
    prefilter: &'a crate::prefilter::Prefilter,
    hits: Vec<OnceCell<Box<[u64]>>>,
    /// Cached results of shared logsource conditions.
    pub(crate) logsource_cache: Vec<Cell<Option<bool>>>,
}

impl<'a> EventCtx<'a> {
    pub(crate) fn new(
        root: &'a Map<String, Value>,
        table: &'a FieldTable,
        groups: usize,
        prefilter: &'a crate::prefilter::Prefilter,
    ) -> Self {
        EventCtx {
            prefilter,
            hits: std::iter::repeat_with(OnceCell::new)
                .take(prefilter.len())
                .collect(),
            root,
            table,
            cache: vec![Cell::new(Slot::Unknown); table.len()],
            folded: std::iter::repeat_with(OnceCell::new)
                .take(table.len())
                .collect(),
            flat: OnceCell::new(),
            logsource_cache: vec![Cell::new(None); groups],
        }
    }

    /// The event's fields.
    pub fn root(&self) -> &'a Map<String, Value> {
        self.root
    }

    /// The value of a field (`{"#text": v}` objects unwrapped), `None` when absent.
    pub fn get(&self, id: FieldId) -> Option<&'a Value> {
        let cell = self.cache.get(id.0 as usize)?;
        match cell.get() {
            Slot::Present(v) => return Some(v),
            Slot::Absent => return None,
            Slot::Unknown => {}
        }
        let index = self
            .flat
            .get_or_init(|| flatten(self.root, &self.table.wild_parents));
        let found = self
            .table
            .paths(id)
            .iter()
            .find_map(|p| index.get(p.as_str()).copied())
            .map(unwrap_text);
        cell.set(found.map_or(Slot::Absent, Slot::Present));
        found
    }
}

impl EventCtx<'_> {
    /// The prefilter needles (a bitset by needle id) found in the string field `id`.
    pub fn pattern_bits(&self, id: FieldId) -> &[u64] {
        let Some(cell) = self.hits.get(id.0 as usize) else {
            return &[];
        };
        cell.get_or_init(|| match self.folded(id) {
            Some(text) => self.prefilter.scan(id, text),
            None => Box::new([]),
        })
    }

    /// The lowercased text of a string field, computed once per event.
    pub fn folded(&self, id: FieldId) -> Option<&str> {
        let cell = self.folded.get(id.0 as usize)?;
        cell.get_or_init(|| match self.get(id) {
            Some(Value::String(s)) => Some(if s.is_ascii() {
                s.to_ascii_lowercase().into_boxed_str()
            } else {
                s.to_lowercase().into_boxed_str()
            }),
            _ => None,
        })
        .as_deref()
    }
}

/// Every node of an event by its dotted path (flat dotted keys are paths already), so a
/// candidate path costs one hash lookup. Children of `wild` parents are also filed
/// under `parent.*`.
fn flatten<'a>(root: &'a Map<String, Value>, wild: &[String]) -> HashMap<Box<str>, &'a Value> {
    fn add<'a>(
        prefix: &mut String,
        key: &str,
        c: &'a Value,
        wild: &[String],
        out: &mut HashMap<Box<str>, &'a Value>,
        depth: usize,
    ) {
        let len = prefix.len();
        if len > 0 {
            prefix.push('.');
        }
        prefix.push_str(key);
        out.entry(prefix.as_str().into()).or_insert(c);
        walk(prefix, c, wild, out, depth + 1);
        prefix.truncate(len);
    }
    fn walk<'a>(
        prefix: &mut String,
        v: &'a Value,
        wild: &[String],
        out: &mut HashMap<Box<str>, &'a Value>,
        depth: usize,
    ) {
        if depth > 32 {
            return;
        }
        let is_wild = !wild.is_empty() && wild.iter().any(|w| w == prefix);
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    add(prefix, k, c, wild, out, depth);
                    if is_wild {
                        add(prefix, "*", c, wild, out, depth);
                    }
                }
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate().take(256) {
                    add(prefix, &i.to_string(), c, wild, out, depth);
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::with_capacity(64);
    let mut prefix = String::with_capacity(128);
    let root_value_walk = |prefix: &mut String, out: &mut HashMap<Box<str>, &'a Value>| {
        for (k, v) in root {
            add(prefix, k, v, wild, out, 0);
            if wild.iter().any(String::is_empty) {
                add(prefix, "*", v, wild, out, 0);
            }
        }
    };
    root_value_walk(&mut prefix, &mut out);
    out
}

/// `{"#text": v, ...}` (XML text next to attributes) stands for `v`.
pub fn unwrap_text(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("#text").unwrap_or(v),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_flat_array_and_text_paths() {
        let v = json!({"Event": {"System": {"EventID": {"#text": 4688, "#attributes": {}}}},
                       "host.name": "h", "a": {"b.c": 1}, "arr": [{"x": 2}],
                       "U": {"Wrap": {"Op": "x"}}});
        let Value::Object(root) = v else { panic!() };
        let mut t = FieldTable::default();
        let eid = t.intern(vec!["Event.System.EventID".into()]);
        let host = t.intern(vec!["missing".into(), "host.name".into()]);
        let abc = t.intern(vec!["a.b.c".into()]);
        let arr = t.intern(vec!["arr.0.x".into()]);
        let none = t.intern(vec!["Event.Nope".into()]);
        let wild = t.intern(vec!["U.*.Op".into()]);
        let pf = crate::prefilter::Prefilter::default();
        let ctx = EventCtx::new(&root, &t, 0, &pf);
        assert_eq!(ctx.get(eid), Some(&json!(4688)));
        assert_eq!(ctx.get(host), Some(&json!("h")));
        assert_eq!(ctx.get(abc), Some(&json!(1)));
        assert_eq!(ctx.get(arr), Some(&json!(2)));
        assert_eq!(ctx.get(none), None);
        assert_eq!(ctx.get(none), None);
        assert_eq!(ctx.get(wild), Some(&json!("x")));
    }
}
