//! Syslog headers: RFC 5424 and RFC 3164 (BSD), parsed into ECS-named fields.
//!
//! Both parsers work on `&str` and only split at ASCII bytes, so every slice they take
//! lies on a char boundary whatever the input.

mod rfc3164;
mod rfc5424;

use crate::names::{MAX_PRI, facility_name, severity_name};
use chrono::{DateTime, Utc};
use mcpsec_core::EventFormat;
use serde_json::{Map, Value};

/// A parsed syslog line. `None` parts were absent or NILVALUE (`-`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Syslog<'a> {
    /// [`EventFormat::Syslog5424`] or [`EventFormat::Syslog3164`].
    pub format: EventFormat,
    /// The PRI value (facility × 8 + severity).
    pub pri: Option<u8>,
    /// The RFC 5424 VERSION.
    pub version: Option<u16>,
    /// The header time.
    pub time: Option<DateTime<Utc>>,
    /// HOSTNAME.
    pub hostname: Option<&'a str>,
    /// APP-NAME (5424) or TAG (3164).
    pub app: Option<&'a str>,
    /// PROCID (5424) or the `[pid]` after the TAG (3164).
    pub procid: Option<&'a str>,
    /// MSGID (5424).
    pub msgid: Option<&'a str>,
    /// STRUCTURED-DATA (5424): `{sd-id: {param: value}}`.
    pub structured_data: Option<Map<String, Value>>,
    /// MSG, without a leading BOM; `None` when absent or empty.
    pub message: Option<&'a str>,
}

impl<'a> Syslog<'a> {
    /// An empty header of the given format.
    fn empty(format: EventFormat, pri: Option<u8>) -> Self {
        Syslog {
            format,
            pri,
            version: None,
            time: None,
            hostname: None,
            app: None,
            procid: None,
            msgid: None,
            structured_data: None,
            message: None,
        }
    }

    /// The fields of this header and message (see the crate docs for the shape).
    pub(crate) fn into_fields(self) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(msg) = self.message {
            fields.insert("message".into(), Value::from(msg));
        }
        if let Some(host) = self.hostname {
            fields.insert("host".into(), object([("hostname", Value::from(host))]));
        }
        let mut process = Map::new();
        if let Some(app) = self.app {
            process.insert("name".into(), Value::from(app));
        }
        if let Some(pid) = self.procid {
            let pid = pid
                .parse::<u64>()
                .map_or_else(|_| Value::from(pid), Value::from);
            process.insert("pid".into(), pid);
        }
        if !process.is_empty() {
            fields.insert("process".into(), Value::Object(process));
        }
        let mut syslog = Map::new();
        if let Some(pri) = self.pri {
            let (facility, severity) = (pri / 8, pri % 8);
            syslog.insert("priority".into(), Value::from(pri));
            syslog.insert(
                "facility".into(),
                code_and_name(facility, facility_name(facility)),
            );
            syslog.insert(
                "severity".into(),
                code_and_name(severity, severity_name(severity)),
            );
        }
        if let Some(version) = self.version {
            syslog.insert("version".into(), Value::from(version));
        }
        if let Some(msgid) = self.msgid {
            syslog.insert("msgid".into(), Value::from(msgid));
        }
        if let Some(sd) = self.structured_data {
            syslog.insert("structured_data".into(), Value::Object(sd));
        }
        if !syslog.is_empty() {
            fields.insert("log".into(), object([("syslog", Value::Object(syslog))]));
        }
        fields
    }
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn code_and_name(code: u8, name: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("code".into(), Value::from(code));
    if let Some(name) = name {
        m.insert("name".into(), Value::from(name));
    }
    Value::Object(m)
}

/// Parses a syslog line: `<PRI>` followed by an RFC 5424 header, or an RFC 3164 line with
/// or without `<PRI>`. An invalid PRI means "not syslog". A valid PRI followed by no
/// recognisable header is RFC 3164 with the rest as MSG (RFC 3164 §4.3.3).
pub(crate) fn parse(line: &str, received_at: DateTime<Utc>) -> Option<Syslog<'_>> {
    if line.starts_with('<') {
        let (pri, rest) = parse_pri(line)?;
        rfc5424::parse(pri, rest).or_else(|| Some(rfc3164::parse_after_pri(pri, rest, received_at)))
    } else {
        rfc3164::parse_bare(line, received_at)
    }
}

/// Reads `<N>` (1–3 digits, N ≤ 191) and returns N and what follows.
fn parse_pri(line: &str) -> Option<(u8, &str)> {
    let rest = line.strip_prefix('<')?;
    let close = rest.bytes().take(4).position(|b| b == b'>')?;
    let digits = rest.get(..close)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u16 = digits.parse().ok()?;
    if value > MAX_PRI {
        return None;
    }
    Some((u8::try_from(value).ok()?, rest.get(close + 1..)?))
}

/// Splits at the first space: the token before it (must be non-empty) and the rest after it.
fn token(s: &str) -> Option<(&str, &str)> {
    let (tok, rest) = s.split_once(' ')?;
    (!tok.is_empty()).then_some((tok, rest))
}

/// `None` for NILVALUE.
fn nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pri_rules() {
        assert_eq!(parse_pri("<0>x"), Some((0, "x")));
        assert_eq!(parse_pri("<191>"), Some((191, "")));
        assert_eq!(parse_pri("<013>a"), Some((13, "a")));
        for bad in [
            "<192>x", "<>x", "<1a>x", "<1", "<", "<1234>x", "<-1>x", "< 1>x", "13>x", "<१>x",
        ] {
            assert_eq!(parse_pri(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_shape_and_names() {
        let mut s = Syslog::empty(EventFormat::Syslog5424, Some(34));
        s.version = Some(1);
        s.hostname = Some("h");
        s.app = Some("su");
        s.procid = Some("123");
        s.msgid = Some("ID47");
        s.message = Some("m");
        assert_eq!(
            Value::Object(s.into_fields()),
            json!({"message": "m", "host": {"hostname": "h"},
                "process": {"name": "su", "pid": 123},
                "log": {"syslog": {"priority": 34, "facility": {"code": 4, "name": "auth"},
                    "severity": {"code": 2, "name": "critical"}, "version": 1, "msgid": "ID47"}}})
        );
        let mut s = Syslog::empty(EventFormat::Syslog3164, None);
        s.procid = Some("abc");
        assert_eq!(
            Value::Object(s.into_fields()),
            json!({"process": {"pid": "abc"}})
        );
        let s = Syslog::empty(EventFormat::Syslog3164, None);
        assert!(s.into_fields().is_empty());
    }
}
