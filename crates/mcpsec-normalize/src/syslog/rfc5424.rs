//! RFC 5424: `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] [MSG]`.
//!
//! The header is strict (single spaces, RFC 3339 or `-` timestamp); what follows MSGID is
//! lenient: a missing or malformed STRUCTURED-DATA makes the rest the MSG instead of
//! rejecting the line.

use super::{Syslog, nil, token};
use chrono::{DateTime, Utc};
use mcpsec_core::EventFormat;
use serde_json::{Map, Value};

/// Parses what follows `<PRI>`; `None` when it is not an RFC 5424 header.
pub(super) fn parse(pri: u8, rest: &str) -> Option<Syslog<'_>> {
    let (version, rest) = token(rest)?;
    let first = version.bytes().next()?;
    if version.len() > 3 || first == b'0' || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (timestamp, rest) = token(rest)?;
    let time = match timestamp {
        "-" => None,
        ts => Some(DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc)),
    };
    let (hostname, rest) = token(rest)?;
    let (app, rest) = token(rest)?;
    let (procid, rest) = token(rest)?;
    let (msgid, rest) = match rest.split_once(' ') {
        Some(parts) => parts,
        None => (rest, ""),
    };
    if msgid.is_empty() {
        return None;
    }
    let (structured_data, msg) = split_sd(rest);
    let mut s = Syslog::empty(EventFormat::Syslog5424, Some(pri));
    s.version = version.parse().ok();
    s.time = time;
    s.hostname = nil(hostname);
    s.app = nil(app);
    s.procid = nil(procid);
    s.msgid = nil(msgid);
    s.structured_data = structured_data;
    s.message = msg
        .map(|m| m.strip_prefix('\u{feff}').unwrap_or(m))
        .filter(|m| !m.is_empty());
    Some(s)
}

/// Splits STRUCTURED-DATA from MSG. `-` or valid SD elements are taken as SD; anything
/// else (no SD, malformed SD) leaves the whole text as MSG.
fn split_sd(rest: &str) -> (Option<Map<String, Value>>, Option<&str>) {
    if rest.is_empty() {
        return (None, None);
    }
    if rest == "-" {
        return (None, None);
    }
    if let Some(msg) = rest.strip_prefix("- ") {
        return (None, Some(msg));
    }
    if rest.starts_with('[')
        && let Some((sd, after)) = parse_sd(rest)
    {
        let msg = match after {
            "" => None,
            a => Some(a.strip_prefix(' ').unwrap_or(a)),
        };
        return (Some(sd), msg);
    }
    (None, Some(rest))
}

/// Parses one or more `[SD-ID param="value" ...]` elements. Repeated SD-IDs are merged;
/// a repeated parameter becomes an array of its values. Returns the rest of the text.
fn parse_sd(s: &str) -> Option<(Map<String, Value>, &str)> {
    let mut sd = Map::new();
    let mut rest = s;
    while let Some(inner) = rest.strip_prefix('[') {
        let id_end = inner.find([' ', ']', '=', '"'])?;
        let id = inner.get(..id_end)?;
        if id.is_empty() {
            return None;
        }
        let mut params = Map::new();
        let mut cur = inner.get(id_end..)?;
        loop {
            if let Some(after) = cur.strip_prefix(']') {
                rest = after;
                break;
            }
            cur = cur.strip_prefix(' ')?.trim_start_matches(' ');
            let eq = cur.find(['=', ' ', ']', '"'])?;
            let name = cur.get(..eq)?;
            let after_eq = cur.get(eq..)?.strip_prefix("=\"")?;
            if name.is_empty() {
                return None;
            }
            let (value, after) = param_value(after_eq)?;
            add_param(&mut params, name, value);
            cur = after;
        }
        match sd.get_mut(id) {
            Some(Value::Object(existing)) => {
                for (k, v) in params {
                    match v {
                        Value::Array(vs) => vs.into_iter().for_each(|v| push(existing, &k, v)),
                        v => push(existing, &k, v),
                    }
                }
            }
            _ => {
                sd.insert(id.to_owned(), Value::Object(params));
            }
        }
    }
    Some((sd, rest))
}

fn add_param(params: &mut Map<String, Value>, name: &str, value: String) {
    push(params, name, Value::from(value));
}

fn push(params: &mut Map<String, Value>, name: &str, value: Value) {
    match params.get_mut(name) {
        None => {
            params.insert(name.to_owned(), value);
        }
        Some(Value::Array(values)) => values.push(value),
        Some(prev) => {
            let first = prev.take();
            *prev = Value::Array(vec![first, value]);
        }
    }
}

/// Reads a PARAM-VALUE up to its closing unescaped `"`; `\"`, `\\` and `\]` are unescaped,
/// any other backslash is kept (RFC 5424 §6.3.3).
fn param_value(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, s.get(i + 1..)?)),
            '\\' => match chars.clone().next() {
                Some((_, e @ ('"' | '\\' | ']'))) => {
                    out.push(e);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(line: &str) -> Option<Syslog<'_>> {
        let (pri, rest) = super::super::parse_pri(line)?;
        parse(pri, rest)
    }

    fn fields(line: &str) -> Value {
        Value::Object(p(line).expect("5424").into_fields())
    }

    fn time(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn rfc_example_1_with_bom_and_nil_sd() {
        let line = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8";
        let s = p(line).expect("5424");
        assert_eq!(s.time, time("2003-10-11T22:14:15.003Z"));
        assert_eq!(
            Value::Object(s.into_fields()),
            json!({"message": "'su root' failed for lonvick on /dev/pts/8",
                "host": {"hostname": "mymachine.example.com"}, "process": {"name": "su"},
                "log": {"syslog": {"priority": 34, "facility": {"code": 4, "name": "auth"},
                    "severity": {"code": 2, "name": "critical"}, "version": 1, "msgid": "ID47"}}})
        );
    }

    #[test]
    fn rfc_example_2_offset_time_and_numeric_procid() {
        let line = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
        let s = p(line).expect("5424");
        assert_eq!(s.time, time("2003-08-24T12:14:15.000003Z"));
        let f = Value::Object(s.into_fields());
        assert_eq!(f["process"], json!({"name": "myproc", "pid": 8710}));
        assert_eq!(f["message"], "%% It's time to make the do-nuts.");
        assert_eq!(
            f["log"]["syslog"]["facility"],
            json!({"code": 20, "name": "local4"})
        );
        assert_eq!(
            f["log"]["syslog"]["severity"],
            json!({"code": 5, "name": "notice"})
        );
        assert!(f["log"]["syslog"].get("msgid").is_none());
    }

    #[test]
    fn rfc_examples_3_and_4_structured_data() {
        let line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \u{feff}An application event log entry...";
        let f = fields(line);
        assert_eq!(
            f["log"]["syslog"]["structured_data"],
            json!({"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}})
        );
        assert_eq!(f["message"], "An application event log entry...");
        let line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]";
        let f = fields(line);
        assert_eq!(
            f["log"]["syslog"]["structured_data"]["examplePriority@32473"],
            json!({"class": "high"})
        );
        assert!(f.get("message").is_none());
    }

    #[test]
    fn sd_escapes_repeats_and_multibyte() {
        let line = r#"<14>1 - - - - - [x@1 a="q\"uo\]te\\d" b="\n" ip="1" ip="2" ip="3"][x@1 ip="4" é="ü"] msg"#;
        let s = p(line).expect("5424");
        assert_eq!(s.time, None);
        assert_eq!(s.hostname, None);
        let f = Value::Object(s.into_fields());
        assert_eq!(
            f["log"]["syslog"]["structured_data"],
            json!({"x@1": {"a": "q\"uo]te\\d", "b": "\\n", "ip": ["1", "2", "3", "4"], "é": "ü"}})
        );
        assert_eq!(f["message"], "msg");
        assert!(f.get("host").is_none() && f.get("process").is_none());
    }

    #[test]
    fn lenient_after_msgid() {
        // No SD at all, SD glued to MSG, malformed SD.
        assert_eq!(
            p("<14>1 - h a p m hello world").and_then(|s| s.message),
            Some("hello world")
        );
        assert_eq!(
            p("<14>1 - h a p m [a b=\"c\"]tail").and_then(|s| s.message),
            Some("tail")
        );
        let s = p("<14>1 - h a p m [a b=\"unterminated").expect("5424");
        assert_eq!(
            (s.structured_data.is_none(), s.message),
            (true, Some("[a b=\"unterminated"))
        );
        let s = p("<14>1 - h a p m").expect("5424");
        assert_eq!((s.msgid, s.message), (Some("m"), None));
        assert_eq!(p("<14>1 - h a p m -").and_then(|s| s.message), None);
    }

    #[test]
    fn not_5424() {
        for line in [
            "<14>0 - h a p m -",
            "<14>1234 - h a p m -",
            "<14>1 not-a-time h a p m -",
            "<14>1 - h a p",
            "<14>1 - h a p ",
            "<14>1  - h a p m -",
            "<14>Oct 11 22:14:15 host su: x",
            "<14>1",
            "<14>",
        ] {
            assert!(p(line).is_none(), "{line:?}");
        }
    }
}
