//! Field paths resolved ahead of time, and the per-event cache of their values.

use serde_json::{Map, Value};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

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
///
/// Every path, and every dotted prefix of one, is also a node of a tree of path segments
/// with a small integer id: an event is indexed once into a slot per id, visiting only
/// the nodes on the way to a path (a key is looked up among its parent node's children,
/// never joined into a dotted string), so looking a field up costs an array read per
/// candidate path.
#[derive(Debug, Clone)]
pub struct FieldTable {
    fields: Vec<Vec<PathSpec>>,
    /// Node id of each candidate path, parallel to `fields`.
    path_ids: Vec<Vec<u32>>,
    index: HashMap<Vec<String>, FieldId>,
    /// By node id: the node's children by path segment (node 0 is the root).
    children: Vec<HashMap<Box<str>, u32, foldhash::fast::RandomState>>,
    /// By node id: the node has grandchildren (only then can a key with dots, a flat
    /// `"host.name"`, lead anywhere from it).
    deep: Vec<bool>,
    /// By node id: the node's children are also filed under `*` (from `a.*.b`).
    wild: Vec<bool>,
    /// By node id: the node is a whole candidate path (not only a prefix of one).
    leaf: Vec<bool>,
    /// The root's children are also filed under `*`.
    root_wild: bool,
}

impl Default for FieldTable {
    fn default() -> Self {
        FieldTable {
            fields: Vec::new(),
            path_ids: Vec::new(),
            index: HashMap::new(),
            children: vec![HashMap::default()],
            deep: vec![false],
            wild: vec![false],
            leaf: vec![false],
            root_wild: false,
        }
    }
}

/// The root node of a [`FieldTable`]'s path tree.
pub(crate) const ROOT: u32 = 0;

/// Object nesting beyond which an event's nodes are not indexed.
pub(crate) const MAX_DEPTH: usize = 32;

impl FieldTable {
    /// Interns a candidate list (identical lists share one id).
    pub fn intern(&mut self, paths: Vec<String>) -> FieldId {
        if let Some(id) = self.index.get(&paths) {
            return *id;
        }
        let id = FieldId(u32::try_from(self.fields.len()).unwrap_or(u32::MAX));
        let mut ids = Vec::with_capacity(paths.len());
        for p in &paths {
            let node = self.node(p);
            if let Some(l) = self.leaf.get_mut(node as usize) {
                *l = true;
            }
            ids.push(node);
            let parent = if p.starts_with('*') {
                Some("")
            } else {
                p.find(".*").map(|i| &p[..i])
            };
            match parent {
                Some("") => self.root_wild = true,
                Some(parent) => {
                    let node = self.node(parent) as usize;
                    if let Some(w) = self.wild.get_mut(node) {
                        *w = true;
                    }
                }
                None => {}
            }
        }
        self.fields
            .push(paths.iter().map(|p| PathSpec::new(p)).collect());
        self.path_ids.push(ids);
        self.index.insert(paths, id);
        id
    }

    /// The node of a dotted path, created with its ancestors when new.
    fn node(&mut self, path: &str) -> u32 {
        let (mut id, mut parent) = (ROOT, None);
        for seg in path.split('.') {
            let next = u32::try_from(self.wild.len()).unwrap_or(u32::MAX);
            let Some(children) = self.children.get_mut(id as usize) else {
                return id;
            };
            if let Some(d) = parent.and_then(|p: u32| self.deep.get_mut(p as usize)) {
                *d = true;
            }
            parent = Some(id);
            id = *children.entry(seg.into()).or_insert(next);
            if id == next {
                self.children.push(HashMap::default());
                self.deep.push(false);
                self.wild.push(false);
                self.leaf.push(false);
            }
        }
        id
    }

    /// The child of node `parent` under an object key; a key holding dots (a flat
    /// `"host.name"`) is followed segment by segment. `None` when no path goes there.
    pub(crate) fn child(&self, parent: u32, key: &str) -> Option<u32> {
        let step = |id: u32, seg: &str| self.children.get(id as usize)?.get(seg).copied();
        if let Some(id) = step(parent, key) {
            return Some(id);
        }
        // No segment holds a dot: a dotted key is a path of two or more segments.
        if !self.deep.get(parent as usize).copied().unwrap_or(false) || !key.contains('.') {
            return None;
        }
        key.split('.').try_fold(parent, step)
    }

    /// Whether the root's children are filed under `*` too (then every key matters).
    pub(crate) fn root_wild(&self) -> bool {
        self.root_wild
    }

    /// What a selective parse does with the value of node `id`: nodes that are a whole
    /// candidate path (or whose children are filed under `*`) are kept whole, the
    /// others are read key by key (nodes off every path have no id: they are skipped).
    pub(crate) fn node_kind(&self, id: u32) -> NodeKind {
        let id = id as usize;
        if self.leaf.get(id).copied().unwrap_or(true) || self.wild.get(id).copied().unwrap_or(true)
        {
            NodeKind::Whole
        } else {
            NodeKind::Descend
        }
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

    /// Every node of an event on the way to an interned path, by node id; the first node
    /// (depth first, in key order) with a given dotted path wins. Flat dotted keys are
    /// paths already; children of wild nodes are also filed under `parent.*`.
    fn index_event<'a>(&self, root: &'a Map<String, Value>, ix: &mut NodeIndex<'a>) {
        for (k, v) in root {
            self.add(ROOT, k, v, ix, 0);
            if self.root_wild {
                self.add(ROOT, "*", v, ix, 0);
            }
        }
    }

    fn add<'a>(&self, parent: u32, key: &str, c: &'a Value, ix: &mut NodeIndex<'a>, depth: usize) {
        // A node off every interned path has no interned path below it either.
        if let Some(id) = self.child(parent, key) {
            // The first node on a path wins; the later ones are still walked.
            ix.file(id, c);
            self.walk(id, c, ix, depth + 1);
        }
    }

    /// Files the nodes below `v`, the value of node `id` at nesting `depth`.
    fn walk<'a>(&self, id: u32, v: &'a Value, ix: &mut NodeIndex<'a>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match v {
            Value::Object(m) => {
                let is_wild = self.wild.get(id as usize).copied().unwrap_or(false);
                for (k, c) in m {
                    self.add(id, k, c, ix, depth);
                    if is_wild {
                        self.add(id, "*", c, ix, depth);
                    }
                }
            }
            Value::Array(items) => {
                let mut buf = [0u8; 3];
                for (i, c) in items.iter().enumerate().take(256) {
                    self.add(id, index_key(i, &mut buf), c, ix, depth);
                }
            }
            _ => {}
        }
    }
}

/// The decimal text of an array index below 1,000, written into `buf`.
pub(crate) fn index_key(i: usize, buf: &mut [u8; 3]) -> &str {
    let digits = [i / 100 % 10, i / 10 % 10, i % 10].map(|d| b'0' + d as u8);
    let skip = if i >= 100 {
        0
    } else if i >= 10 {
        1
    } else {
        2
    };
    *buf = digits;
    std::str::from_utf8(buf.get(skip..).unwrap_or_default()).unwrap_or_default()
}

/// See [`FieldTable::node_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// Keep the whole value.
    Whole,
    /// Read its keys one by one.
    Descend,
}

/// The per-event state of one field.
#[derive(Default)]
struct FieldState {
    /// The lowercased text of a string value.
    folded: OnceCell<Option<Box<str>>>,
    /// The prefilter needles found in it.
    hits: OnceCell<Box<[u64]>>,
}

/// Tables sized by the whole rule set (every node id, every field), handed from one
/// event to the next on a thread so that an event neither allocates nor zeroes them:
/// only the entries an event touched are reset when it is done. A pooled table is clean
/// (all zero, all states empty).
#[derive(Default)]
struct Dense {
    /// By node id: 1 + the node's position in [`NodeIndex::nodes`], 0 when absent.
    slot_of: Vec<u32>,
    /// By field id.
    state: Vec<FieldState>,
}

thread_local! {
    static POOL: RefCell<Vec<Dense>> = const { RefCell::new(Vec::new()) };
}

/// The nodes of one event on the way to interned paths.
struct NodeIndex<'a> {
    /// (node id, node), in the order found.
    nodes: Vec<(u32, &'a Value)>,
    slot_of: Vec<u32>,
}

impl<'a> NodeIndex<'a> {
    /// Files `v` under node `id` unless a node is there already (then `false`).
    fn file(&mut self, id: u32, v: &'a Value) -> bool {
        match self.slot_of.get_mut(id as usize) {
            Some(slot) if *slot == 0 => {
                self.nodes.push((id, v));
                *slot = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
                true
            }
            _ => false,
        }
    }

    fn get(&self, id: u32) -> Option<&'a Value> {
        let at = *self.slot_of.get(id as usize)?;
        let (_, v) = self.nodes.get((at as usize).checked_sub(1)?)?;
        Some(*v)
    }
}

/// One event being matched: the event is indexed once, and each field's lowercased text
/// and prefilter scan are computed at most once.
pub struct EventCtx<'a> {
    root: &'a Map<String, Value>,
    table: &'a FieldTable,
    index: NodeIndex<'a>,
    state: Vec<FieldState>,
    /// Fields whose state was computed (reset when the event is done).
    touched: RefCell<Vec<u32>>,
    prefilter: &'a crate::prefilter::Prefilter,
    /// Cached results of shared logsource conditions.
    pub(crate) logsource_cache: Vec<Cell<Option<bool>>>,
    /// The lowercased text of all the event's scalars, when computed while parsing (the
    /// keyword gate then reads it instead of walking the event).
    pub(crate) keyword_text: Option<&'a str>,
    /// The needles of the logsource groups that hold for the event, once those are known
    /// (only rules of those groups are evaluated then, so scans look for no other).
    pub(crate) scope: OnceCell<Arc<crate::prefilter::Scope>>,
}

impl<'a> EventCtx<'a> {
    pub(crate) fn new(
        root: &'a Map<String, Value>,
        table: &'a FieldTable,
        groups: usize,
        prefilter: &'a crate::prefilter::Prefilter,
    ) -> Self {
        let mut ctx = EventCtx::empty(root, table, groups, prefilter);
        table.index_event(root, &mut ctx.index);
        ctx
    }

    /// An event given as the nodes a selective parse kept: (node id, nesting, value),
    /// in document order. Only what rules read is there: [`EventCtx::root`] is empty.
    /// `None` when two of them land on one path (a flat `"a.b"` key beside an `a`
    /// object holding `b`): which one a whole event's index keeps depends on the map
    /// order `serde_json` was built with, so the caller has to index the whole event.
    pub(crate) fn from_nodes(
        nodes: &'a [(u32, u32, Value)],
        table: &'a FieldTable,
        groups: usize,
        prefilter: &'a crate::prefilter::Prefilter,
    ) -> Option<Self> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let root = EMPTY.get_or_init(Map::new);
        let mut ctx = EventCtx::empty(root, table, groups, prefilter);
        for (id, depth, v) in nodes {
            if !ctx.index.file(*id, v) {
                return None;
            }
            table.walk(*id, v, &mut ctx.index, *depth as usize + 1);
        }
        Some(ctx)
    }

    fn empty(
        root: &'a Map<String, Value>,
        table: &'a FieldTable,
        groups: usize,
        prefilter: &'a crate::prefilter::Prefilter,
    ) -> Self {
        let mut dense = POOL
            .with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()))
            .unwrap_or_default();
        // Grown entries are clean; a larger table from another rule set stays as it is.
        if dense.slot_of.len() < table.wild.len() {
            dense.slot_of.resize(table.wild.len(), 0);
        }
        if dense.state.len() < table.len() {
            dense.state.resize_with(table.len(), FieldState::default);
        }
        EventCtx {
            prefilter,
            root,
            table,
            index: NodeIndex {
                nodes: Vec::with_capacity(32),
                slot_of: dense.slot_of,
            },
            state: dense.state,
            touched: RefCell::new(Vec::new()),
            logsource_cache: vec![Cell::new(None); groups],
            keyword_text: None,
            scope: OnceCell::new(),
        }
    }

    /// The event's fields.
    pub fn root(&self) -> &'a Map<String, Value> {
        self.root
    }

    /// The value of a field (`{"#text": v}` objects unwrapped), `None` when absent.
    pub fn get(&self, id: FieldId) -> Option<&'a Value> {
        let ids = self.table.path_ids.get(id.0 as usize)?;
        ids.iter().find_map(|p| self.index.get(*p)).map(unwrap_text)
    }
}

impl Drop for EventCtx<'_> {
    fn drop(&mut self) {
        for (id, _) in &self.index.nodes {
            if let Some(s) = self.index.slot_of.get_mut(*id as usize) {
                *s = 0;
            }
        }
        for id in self.touched.get_mut().iter() {
            if let Some(st) = self.state.get_mut(*id as usize) {
                *st = FieldState::default();
            }
        }
        let dense = Dense {
            slot_of: std::mem::take(&mut self.index.slot_of),
            state: std::mem::take(&mut self.state),
        };
        POOL.with(|p| {
            if let Ok(mut p) = p.try_borrow_mut()
                && p.len() < 4
            {
                p.push(dense);
            }
        });
    }
}

impl EventCtx<'_> {
    fn touch(&self, id: FieldId) {
        if let Ok(mut t) = self.touched.try_borrow_mut() {
            t.push(id.0);
        }
    }

    /// The prefilter needles (a bitset by needle id) found in the string field `id`.
    pub fn pattern_bits(&self, id: FieldId) -> &[u64] {
        let Some(st) = self.state.get(id.0 as usize) else {
            return &[];
        };
        st.hits.get_or_init(|| {
            self.touch(id);
            let mut bits = Vec::new();
            if let Some(text) = self.folded(id) {
                let scope = self.scope.get().map(|s| &**s);
                self.prefilter.scan_into(id, text, scope, &mut bits);
            }
            bits.into_boxed_slice()
        })
    }

    /// The lowercased text of a string field, computed once per event.
    pub fn folded(&self, id: FieldId) -> Option<&str> {
        let st = self.state.get(id.0 as usize)?;
        st.folded
            .get_or_init(|| {
                self.touch(id);
                match self.get(id) {
                    Some(Value::String(s)) => Some(if s.is_ascii() {
                        s.to_ascii_lowercase().into_boxed_str()
                    } else {
                        s.to_lowercase().into_boxed_str()
                    }),
                    _ => None,
                }
            })
            .as_deref()
    }
}

/// Appends a number's text as `Number` displays it (integers without the formatting
/// machinery: events are full of them).
pub(crate) fn push_number(out: &mut String, n: &serde_json::Number) {
    let mut buf = itoa::Buffer::new();
    if let Some(u) = n.as_u64() {
        out.push_str(buf.format(u));
    } else if let Some(i) = n.as_i64() {
        out.push_str(buf.format(i));
    } else {
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = write!(out, "{n}");
    }
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
    fn numbers_print_as_displayed() {
        for n in [
            "0",
            "-1",
            "4688",
            "18446744073709551615",
            "-9223372036854775808",
            "1.5",
            "1e300",
        ] {
            let Ok(Value::Number(n)) = serde_json::from_str::<Value>(n) else {
                panic!("{n}")
            };
            let mut out = String::new();
            push_number(&mut out, &n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn pooled_tables_carry_nothing_from_one_event_to_the_next() {
        let mut t = FieldTable::default();
        let cmd = t.intern(vec!["Event.CommandLine".into()]);
        let user = t.intern(vec!["User".into()]);
        let pf = crate::prefilter::Prefilter::default();
        let first = json!({"Event": {"CommandLine": "CMD.EXE /C"}, "User": "Alice"});
        let second = json!({"User": "BOB", "Other": 1});
        let (Value::Object(first), Value::Object(second)) = (first, second) else {
            panic!()
        };
        {
            let ctx = EventCtx::new(&first, &t, 0, &pf);
            assert_eq!(ctx.folded(cmd), Some("cmd.exe /c"));
            assert_eq!(ctx.folded(user), Some("alice"));
        }
        // The same thread gets the same tables back: the first event's nodes and
        // lowercased texts must be gone.
        let ctx = EventCtx::new(&second, &t, 0, &pf);
        assert_eq!(ctx.get(cmd), None);
        assert_eq!(ctx.folded(cmd), None);
        assert_eq!(ctx.folded(user), Some("bob"));
        // Two events alive at once on one thread do not share tables.
        let other = EventCtx::new(&first, &t, 0, &pf);
        assert_eq!(other.folded(user), Some("alice"));
        assert_eq!(ctx.folded(user), Some("bob"));
    }

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
