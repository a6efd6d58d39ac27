//! Selective parsing: a JSON object read into only the nodes some rule can look at.
//!
//! Most events match no rule, and most of an event's fields are read by no rule. This
//! parser follows the tree of interned paths of a [`crate::fields::FieldTable`] while it
//! reads: a key with no node below its parent is skipped without building its value, an
//! object on the way to a path is read key by key without building it either, and only
//! the values of whole candidate paths are built, into a flat list of (node, value) in
//! document order (the nodes and order [`crate::fields::FieldTable`] indexes a whole
//! event in). It also collects the lowercased text of every scalar for the keyword gate.
//! The result matches exactly like the whole event for every rule that has no keyword
//! test; [`crate::RuleSet::matches_json`] falls back to "unsure" for the others.
//!
//! Every value goes through `serde_json`'s own `deserialize_any`, as `Value` parsing does,
//! so a text parses here if and only if it parses as a `Value` (same syntax checks, same
//! nesting limit); anything unexpected is an error, and an error only means "unsure". So
//! is a repeated key on the way to a path (a whole parse keeps the last value, in the
//! first one's place: not worth following here).

use crate::fields::{FieldTable, MAX_DEPTH, NodeKind, ROOT, index_key};
use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// The key `serde_json` treats specially when it parses a `Value` (raw values).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A selectively parsed event.
pub(crate) struct SparseEvent {
    /// The kept values: (node id, nesting of the node, value), in document order.
    pub nodes: Vec<(u32, u32, Value)>,
    /// Lowercased text of every scalar, one per line (when asked for).
    pub text: Option<String>,
    /// Scratch of the parse, returned to this thread's pool with the buffers above.
    seen: Vec<u32>,
}

/// Buffers of a parse: kept values, text, keys seen.
type Buffers = (Vec<(u32, u32, Value)>, String, Vec<u32>);

thread_local! {
    /// One set of buffers per thread, handed from one event to the next.
    static SPARE: std::cell::RefCell<Option<Buffers>> = const { std::cell::RefCell::new(None) };
}

/// Buffers that grew beyond this (bytes of text) are not kept for the next event.
const KEEP_TEXT: usize = 1 << 20;

impl Drop for SparseEvent {
    fn drop(&mut self) {
        let mut text = self.text.take().unwrap_or_default();
        if text.capacity() > KEEP_TEXT {
            return;
        }
        text.clear();
        let mut nodes = std::mem::take(&mut self.nodes);
        nodes.clear();
        let mut seen = std::mem::take(&mut self.seen);
        seen.clear();
        SPARE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = Some((nodes, text, seen));
            }
        });
    }
}

/// Parses `text` (one JSON object); `Err` when it is not an object or not valid JSON.
pub(crate) fn parse(
    table: &FieldTable,
    text: &str,
    want_text: bool,
) -> Result<SparseEvent, serde_json::Error> {
    if table.root_wild() {
        // Every key matters at the root: not worth a selective parse.
        return Err(de::Error::custom("wildcard at the root"));
    }
    let (nodes, mut buf, seen) = SPARE
        .with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .unwrap_or_default();
    // The scalars' text is usually shorter than the document.
    buf.reserve(text.len());
    let mut st = State {
        table,
        text: want_text.then_some(buf),
        nodes,
        seen,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let object = (&mut de).deserialize_any(NodeVisitor {
        st: &mut st,
        id: ROOT,
        depth: 0,
    })?;
    de.end()?;
    if !object {
        return Err(de::Error::custom("not an object"));
    }
    Ok(SparseEvent {
        nodes: st.nodes,
        text: st.text,
        seen: st.seen,
    })
}

struct State<'t> {
    table: &'t FieldTable,
    text: Option<String>,
    nodes: Vec<(u32, u32, Value)>,
    /// Nodes met in the objects being read, innermost last (to catch repeated keys).
    seen: Vec<u32>,
}

impl State<'_> {
    fn push_str(&mut self, s: &str) {
        if let Some(t) = &mut self.text {
            if s.is_ascii() {
                let start = t.len();
                t.push_str(s);
                t[start..].make_ascii_lowercase();
            } else {
                t.push_str(&s.to_lowercase());
            }
            t.push('\n');
        }
    }

    fn push_number(&mut self, n: &Number) {
        if let Some(t) = &mut self.text {
            crate::fields::push_number(t, n);
            t.push('\n');
        }
    }

    fn push_bool(&mut self, b: bool) {
        if let Some(t) = &mut self.text {
            t.push_str(if b { "true\n" } else { "false\n" });
        }
    }

    /// The text of every scalar of a kept value.
    fn push_value(&mut self, v: &Value) {
        if self.text.is_none() {
            return;
        }
        match v {
            Value::Null => {}
            Value::Bool(b) => self.push_bool(*b),
            Value::Number(n) => self.push_number(n),
            Value::String(s) => self.push_str(s),
            Value::Array(a) => a.iter().for_each(|x| self.push_value(x)),
            Value::Object(o) => o.values().for_each(|x| self.push_value(x)),
        }
    }
}

fn number_f64(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The value of a node on the way to interned paths (node `id`, its keys or items at
/// nesting `depth`): objects and arrays are read key by key and item by item, scalars
/// only give their text. Yields whether it was an object.
struct NodeVisitor<'s, 't> {
    st: &'s mut State<'t>,
    id: u32,
    depth: u32,
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        self.st.push_bool(b);
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<bool, E> {
        self.st.push_number(&Number::from(n));
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<bool, E> {
        self.st.push_number(&Number::from(n));
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<bool, E> {
        self.st.push_value(&number_f64(f));
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        self.st.push_str(s);
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let st = self.st;
        // Items are nodes too (`arr.0.x`), the first 256 of them.
        let mut buf = [0u8; 3];
        for i in 0usize.. {
            let child = (i < 256 && self.depth as usize <= MAX_DEPTH)
                .then(|| st.table.child(self.id, index_key(i, &mut buf)))
                .flatten();
            let more = match child {
                None => seq.next_element_seed(SkipSeed { st: &mut *st })?.is_some(),
                Some(child) => seq
                    .next_element_seed(KeptSeed {
                        st: &mut *st,
                        id: child,
                        depth: self.depth,
                    })?
                    .is_some(),
            };
            if !more {
                break;
            }
        }
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let st = self.st;
        let mark = st.seen.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key.as_ref() == RAW_VALUE_TOKEN {
                return Err(de::Error::custom("raw value token"));
            }
            // Nodes deeper than the index goes are not indexed in a whole event either.
            let child = (self.depth as usize <= MAX_DEPTH)
                .then(|| st.table.child(self.id, &key))
                .flatten();
            let Some(child) = child else {
                map.next_value_seed(SkipSeed { st: &mut *st })?;
                continue;
            };
            if st.seen.get(mark..).is_some_and(|s| s.contains(&child)) {
                return Err(de::Error::custom("repeated key"));
            }
            st.seen.push(child);
            map.next_value_seed(KeptSeed {
                st: &mut *st,
                id: child,
                depth: self.depth,
            })?;
        }
        st.seen.truncate(mark);
        Ok(true)
    }
}

/// The value of node `id`, a key or item of an object or array at nesting `depth`:
/// built whole when the node is a candidate path, else read key by key.
struct KeptSeed<'s, 't> {
    st: &'s mut State<'t>,
    id: u32,
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for KeptSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let st = self.st;
        match st.table.node_kind(self.id) {
            NodeKind::Whole => {
                let v = Value::deserialize(d)?;
                st.push_value(&v);
                st.nodes.push((self.id, self.depth, v));
            }
            NodeKind::Descend => {
                d.deserialize_any(NodeVisitor {
                    st,
                    id: self.id,
                    depth: self.depth + 1,
                })?;
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the input unless it holds escapes (most keys are only
/// looked up, never kept, so they are not copied).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

/// A value no rule reads: parsed and checked, only its text kept.
struct SkipSeed<'s, 't> {
    st: &'s mut State<'t>,
}

impl<'de> DeserializeSeed<'de> for SkipSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SkipSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.st.push_bool(b);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.st.push_number(&Number::from(n));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.st.push_number(&Number::from(n));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<(), E> {
        self.st.push_value(&number_f64(f));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.st.push_str(s);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        while seq.next_element_seed(SkipSeed { st: &mut *st })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        while let Some(key) = map.next_key_seed(KeySkip)? {
            if key {
                return Err(de::Error::custom("raw value token"));
            }
            map.next_value_seed(SkipSeed { st: &mut *st })?;
        }
        Ok(())
    }
}

/// An object key that is not kept; `true` when it is the raw-value token.
struct KeySkip;

impl<'de> DeserializeSeed<'de> for KeySkip {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySkip {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(s == RAW_VALUE_TOKEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> FieldTable {
        let mut t = FieldTable::default();
        t.intern(vec!["Event.System.EventID".into()]);
        t.intern(vec!["Event.EventData.CommandLine".into(), "cmd".into()]);
        t.intern(vec!["host.name".into()]);
        t
    }

    /// The node of a dotted path.
    fn node(t: &FieldTable, path: &str) -> u32 {
        path.split('.')
            .try_fold(ROOT, |n, seg| t.child(n, seg))
            .unwrap_or(u32::MAX)
    }

    #[test]
    fn keeps_only_nodes_on_interned_paths() {
        let t = table();
        let line = r##"{"Event":{"System":{"EventID":{"#text":1,"a":2},"Other":"x"},
            "EventData":{"CommandLine":"Cmd.EXE /c","Image":"C:\\A.exe"}},
            "host.name":"H","junk":[1,{"k":true}],"cmd":null}"##;
        let ev = parse(&t, line, true).expect("parses");
        assert_eq!(
            ev.nodes,
            vec![
                (
                    node(&t, "Event.System.EventID"),
                    2,
                    serde_json::json!({"#text":1,"a":2})
                ),
                (
                    node(&t, "Event.EventData.CommandLine"),
                    2,
                    serde_json::json!("Cmd.EXE /c")
                ),
                (node(&t, "host.name"), 0, serde_json::json!("H")),
                (node(&t, "cmd"), 0, Value::Null),
            ]
        );
        let text = ev.text.as_deref().expect("text asked for");
        for piece in [
            "1\n",
            "2\n",
            "x\n",
            "cmd.exe /c\n",
            "c:\\a.exe\n",
            "h\n",
            "true\n",
        ] {
            assert!(text.contains(piece), "{piece:?} in {text:?}");
        }
    }

    /// Every field of the selectively parsed event reads as in the whole event, or the
    /// selective parse says it is unsure.
    #[test]
    fn fields_read_as_in_the_whole_event() {
        let mut t = FieldTable::default();
        let fields = [
            t.intern(vec!["Event.System.EventID".into()]),
            t.intern(vec!["a.b".into()]),
            t.intern(vec!["a.b.c".into()]),
            t.intern(vec!["arr.1.x".into()]),
            t.intern(vec!["w.*.op".into()]),
            t.intern(vec!["missing".into(), "host.name".into()]),
        ];
        let pf = crate::prefilter::Prefilter::default();
        let docs = [
            r#"{"Event":{"System":{"EventID":4688}},"host":{"name":"h"}}"#,
            r#"{"host.name":"flat","a":{"b":{"c":1}}}"#,
            r#"{"a.b":{"c":1},"a":{"b":{"c":2}}}"#,
            r#"{"a":{"b":{"c":2}},"a.b":{"c":1}}"#,
            r#"{"a":{"b.c":3}}"#,
            r#"{"arr":[{"x":1},{"x":2},{"x":3}],"w":{"k":{"op":"o"}}}"#,
            r#"{"arr":{"1":{"x":"obj"}}}"#,
            r#"{"a":1,"a":{"b":2}}"#,
            r#"{"a":{"b":1},"a":{"c":2}}"#,
            r#"{"Event":{"System":{"EventID":1}},"Event":{"Other":2}}"#,
            r#"{"junk":{"a":{"b":1}},"a":[1,2]}"#,
        ];
        let (mut decided, mut unsure) = (0, 0);
        for doc in docs {
            let Ok(Value::Object(whole)) = serde_json::from_str::<Value>(doc) else {
                panic!("{doc}")
            };
            let full = crate::fields::EventCtx::new(&whole, &t, 0, &pf);
            let sparse = parse(&t, doc, false).ok();
            let ctx = sparse
                .as_ref()
                .and_then(|ev| crate::fields::EventCtx::from_nodes(&ev.nodes, &t, 0, &pf));
            let Some(ctx) = ctx else {
                unsure += 1;
                continue;
            };
            decided += 1;
            for f in fields {
                assert_eq!(ctx.get(f), full.get(f), "{doc}: {:?}", t.paths(f));
            }
        }
        // Unsure: the two flat/nested collisions and the three repeated keys.
        assert_eq!((decided, unsure), (6, 5));
    }

    #[test]
    fn accepts_exactly_what_value_parsing_accepts() {
        let t = table();
        let deep = format!("{{\"junk\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for bad in [
            "",
            "[1]",
            "3",
            "{",
            "{\"a\":1",
            "{\"a\":1}x",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":1e999}",
            "{\"junk\":\"\u{1}\"}",
            "{\"junk\":{\"$serde_json::private::RawValue\":\"1\"}}",
            deep.as_str(),
        ] {
            let full: Result<Value, _> = serde_json::from_str(bad);
            let sparse = parse(&t, bad, true);
            assert!(
                sparse.is_err() || matches!(full, Ok(Value::Object(_))),
                "{bad:?}: sparse accepted what Value rejects"
            );
        }
        assert!(parse(&t, " {\"a\": [1, 2.5, -3]} \n", true).is_ok());
    }
}
