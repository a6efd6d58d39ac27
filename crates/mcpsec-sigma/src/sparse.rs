//! Selective parsing: a JSON object read into only the nodes some rule can look at.
//!
//! Most events match no rule, and most of an event's fields are read by no rule. This
//! parser keeps the nodes whose dotted path is an interned path or a prefix of one (the
//! same nodes [`crate::fields::FieldTable`] indexes), skips the rest without building
//! values, and collects the lowercased text of every scalar for the keyword gate. The
//! result matches exactly like the whole event for every rule that has no keyword test;
//! [`crate::RuleSet::matches_json`] falls back to "unsure" for the others.
//!
//! Every value goes through `serde_json`'s own `deserialize_any`, as `Value` parsing does,
//! so a text parses here if and only if it parses as a `Value` (same syntax checks, same
//! nesting limit); anything unexpected is an error, and an error only means "unsure".

use crate::fields::{FieldTable, NodeKind};
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// The key `serde_json` treats specially when it parses a `Value` (raw values).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A selectively parsed event.
pub(crate) struct SparseEvent {
    /// The kept nodes, in document order.
    pub fields: Map<String, Value>,
    /// Lowercased text of every scalar, one per line (when asked for).
    pub text: Option<String>,
}

/// Parses `text` (one JSON object); `Err` when it is not an object or not valid JSON.
pub(crate) fn parse(
    table: &FieldTable,
    text: &str,
    want_text: bool,
) -> Result<SparseEvent, serde_json::Error> {
    let mut st = State {
        table,
        // The scalars' text is usually shorter than the document: one allocation.
        text: want_text.then(|| String::with_capacity(text.len())),
        path: String::with_capacity(64),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = (&mut de).deserialize_any(NodeVisitor {
        st: &mut st,
        root: true,
    })?;
    de.end()?;
    match fields {
        Value::Object(fields) => Ok(SparseEvent {
            fields,
            text: st.text,
        }),
        _ => Err(de::Error::custom("not an object")),
    }
}

struct State<'t> {
    table: &'t FieldTable,
    text: Option<String>,
    /// Dotted path of the node being read ("" at the root).
    path: String,
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
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(t, "{n}");
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

/// A node on the way to interned paths: objects are read key by key, anything else is
/// kept whole (built exactly as `Value` builds it).
struct NodeVisitor<'s, 't> {
    st: &'s mut State<'t>,
    root: bool,
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.st.push_bool(b);
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        let n = Number::from(n);
        self.st.push_number(&n);
        Ok(Value::Number(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        let n = Number::from(n);
        self.st.push_number(&n);
        Ok(Value::Number(n))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        let v = number_f64(f);
        self.st.push_value(&v);
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.st.push_str(s);
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        self.st.push_str(&s);
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            self.st.push_value(&v);
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let st = self.st;
        let mut out = Map::new();
        let base = st.path.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key.as_ref() == RAW_VALUE_TOKEN {
                return Err(de::Error::custom("raw value token"));
            }
            if !self.root {
                st.path.push('.');
            }
            st.path.push_str(&key);
            match st.table.node_kind(&st.path) {
                NodeKind::Skip => {
                    map.next_value_seed(SkipSeed { st: &mut *st })?;
                }
                NodeKind::Whole => {
                    let v: Value = map.next_value()?;
                    st.push_value(&v);
                    out.insert(key.into_owned(), v);
                }
                NodeKind::Descend => {
                    let v = map.next_value_seed(NodeSeed { st: &mut *st })?;
                    out.insert(key.into_owned(), v);
                }
            }
            st.path.truncate(base);
        }
        Ok(Value::Object(out))
    }
}

struct NodeSeed<'s, 't> {
    st: &'s mut State<'t>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(NodeVisitor {
            st: self.st,
            root: false,
        })
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

    #[test]
    fn keeps_only_nodes_on_interned_paths() {
        let t = table();
        let line = r##"{"Event":{"System":{"EventID":{"#text":1,"a":2},"Other":"x"},
            "EventData":{"CommandLine":"Cmd.EXE /c","Image":"C:\\A.exe"}},
            "host.name":"H","junk":[1,{"k":true}],"cmd":null}"##;
        let ev = parse(&t, line, true).expect("parses");
        assert_eq!(
            Value::Object(ev.fields),
            serde_json::json!({"Event":{"System":{"EventID":{"#text":1,"a":2}},
                "EventData":{"CommandLine":"Cmd.EXE /c"}},"host.name":"H","cmd":null})
        );
        let text = ev.text.expect("text asked for");
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
