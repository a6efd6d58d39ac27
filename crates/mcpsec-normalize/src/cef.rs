//! ArcSight Common Event Format:
//! `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
//!
//! Header fields unescape `\|` and `\\`. The extension is `key=value` pairs separated by
//! spaces, where values may themselves contain spaces: a value runs until the space before
//! the next `key=` (a key being ASCII letters, digits, `_`, `.` or `-`). Values unescape
//! `\=`, `\\`, `\n` and `\r`; an unescaped `=` that does not follow a valid key (as in
//! `request=http://x/?a=b`) stays part of the value. Parsing is one forward scan, linear
//! in the line length.

use crate::bsdtime;
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::parse_timestamp;
use serde_json::{Map, Value};

/// A parsed CEF record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cef<'a> {
    /// The CEF text, from `CEF:` to the end.
    pub text: &'a str,
    version: u64,
    /// Device vendor, product, version, signature id, name, severity (unescaped).
    header: [String; 6],
    extensions: Map<String, Value>,
}

const HEADER_KEYS: [&str; 6] = [
    "device_vendor",
    "device_product",
    "device_version",
    "signature_id",
    "name",
    "severity",
];

/// Parses a CEF record starting exactly at `CEF:`. `None` unless the version is numeric and
/// all seven header fields are present (the pipe before an empty extension may be missing).
pub(crate) fn parse(text: &str) -> Option<Cef<'_>> {
    let body = text.strip_prefix("CEF:")?;
    let mut parts: Vec<String> = Vec::with_capacity(7);
    let mut cur = String::new();
    let mut extension = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.clone().next() {
                Some((_, e @ ('|' | '\\'))) => {
                    cur.push(e);
                    chars.next();
                }
                _ => cur.push('\\'),
            },
            '|' => {
                parts.push(std::mem::take(&mut cur));
                if parts.len() == 7 {
                    extension = body.get(i + 1..);
                    break;
                }
            }
            c => cur.push(c),
        }
    }
    let extension = match extension {
        Some(ext) => ext,
        None if parts.len() == 6 => {
            parts.push(cur);
            ""
        }
        None => return None,
    };
    let mut parts = parts.into_iter();
    let version = parts.next()?;
    let version = version.trim();
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version = version.parse().ok()?;
    let header = std::array::from_fn(|_| parts.next().unwrap_or_default());
    Some(Cef {
        text,
        version,
        header,
        extensions: parse_extension(extension),
    })
}

impl Cef<'_> {
    /// Adds `cef` (see the crate docs) and `message` (the CEF text) to `fields`, and
    /// returns the time of the `rt` extension, if any (see [`Cef::time`]).
    pub(crate) fn insert_into(
        self,
        fields: &mut Map<String, Value>,
        received_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let time = self.time(received_at);
        fields.insert("message".into(), Value::from(self.text));
        fields.insert("cef".into(), self.cef_fields());
        time
    }

    /// The `cef` object of the fields.
    fn cef_fields(self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), Value::from(self.version));
        for (key, value) in HEADER_KEYS.iter().zip(&self.header) {
            let value = match *key {
                "severity" => value
                    .trim()
                    .parse::<u64>()
                    .map_or_else(|_| Value::from(value.as_str()), Value::from),
                _ => Value::from(value.as_str()),
            };
            m.insert((*key).to_owned(), value);
        }
        m.insert("extensions".into(), Value::Object(self.extensions));
        Value::Object(m)
    }

    /// The time in the `rt` extension (receipt time): epoch milliseconds, an ISO/RFC 3339
    /// date, or `MMM dd [yyyy] HH:mm:ss[.SSS] [UTC|GMT|Z|±hh:mm]`. Unknown zone names
    /// (e.g. `PST`) make the value unusable rather than silently wrong.
    pub(crate) fn time(&self, received_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let rt = self.extensions.get("rt")?.as_str()?.trim();
        if let Some(t) = parse_timestamp(&Value::from(rt)) {
            return Some(t);
        }
        let (stamp, rest) = bsdtime::parse(rt)?;
        let wall = stamp.resolve(received_at)?;
        match rest.trim() {
            "" | "UTC" | "GMT" | "Z" => Some(wall),
            zone => parse_offset(zone).map(|off| wall - off),
        }
    }
}

/// `+hh:mm`, `+hhmm` or `-…` as a duration east of UTC.
fn parse_offset(s: &str) -> Option<Duration> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let digits = digits.replacen(':', "", 1);
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits.get(..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..)?.parse().ok()?;
    (hours < 24 && minutes < 60).then(|| Duration::minutes(sign * (hours * 60 + minutes)))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Splits the extension into `key → value` (values unescaped, trailing spaces removed;
/// text before the first key is ignored; a repeated key keeps its last value).
fn parse_extension(ext: &str) -> Map<String, Value> {
    let bytes = ext.as_bytes();
    // (key start, position of its '=') for every real key, found in one pass.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut token_start = 0;
    let mut token_is_key = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => {
                token_is_key = false;
                i += 2;
                continue;
            }
            b' ' => {
                token_start = i + 1;
                token_is_key = true;
            }
            b'=' => {
                if token_is_key && i > token_start {
                    keys.push((token_start, i));
                }
                token_is_key = false;
            }
            b if is_key_byte(b) => {}
            _ => token_is_key = false,
        }
        i += 1;
    }
    let mut out = Map::new();
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(ext.len(), |&(next, _)| next);
        let (Some(key), Some(raw)) = (ext.get(start..eq), ext.get(eq + 1..end)) else {
            continue;
        };
        out.insert(
            key.to_owned(),
            Value::from(unescape_value(raw.trim_end_matches(' '))),
        );
    }
    out
}

fn unescape_value(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some(e @ ('=' | '\\')) => {
                out.push(e);
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            Some('r') => {
                out.push('\r');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn received() -> DateTime<Utc> {
        at("2025-03-01T12:00:00Z").expect("valid time")
    }

    fn at(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    fn cef(text: &str) -> Cef<'_> {
        parse(text).expect("CEF")
    }

    /// The `cef` object and the time, checking `message` on the way.
    fn fields(text: &str) -> (Value, Option<DateTime<Utc>>) {
        let mut m = Map::new();
        let time = cef(text).insert_into(&mut m, received());
        assert_eq!(m.get("message"), Some(&Value::from(text)));
        (m.remove("cef").expect("cef object"), time)
    }

    #[test]
    fn spec_example() {
        let (f, time) = fields(
            "CEF:0|security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
        );
        assert_eq!(
            f,
            json!({"version": 0, "device_vendor": "security", "device_product": "threatmanager",
                "device_version": "1.0", "signature_id": "100", "name": "worm successfully stopped",
                "severity": 10, "extensions": {"src": "10.0.0.1", "dst": "2.1.2.2", "spt": "1232"}})
        );
        assert_eq!(time, None);
    }

    #[test]
    fn escapes_in_header_and_extension() {
        let (f, _) = fields(
            r"CEF:0|ACME\|Corp|Fire\\wall|1.0|100|detect \x|High|msg=a\=b c\\d\nline2\r act=blocked  request=http://x/?a=b&c=d cs1Label=Rule Name cs1=Allow all",
        );
        assert_eq!(f["device_vendor"], "ACME|Corp");
        assert_eq!(f["device_product"], "Fire\\wall");
        assert_eq!(f["name"], "detect \\x");
        assert_eq!(f["severity"], "High");
        assert_eq!(
            f["extensions"],
            json!({"msg": "a=b c\\d\nline2\r", "act": "blocked", "request": "http://x/?a=b&c=d",
                "cs1Label": "Rule Name", "cs1": "Allow all"})
        );
    }

    #[test]
    fn palo_alto_and_fortinet_samples() {
        let (f, time) = fields(
            "CEF:0|Palo Alto Networks|PAN-OS|10.1.0|end|TRAFFIC|1|rt=Mar 29 2024 13:55:41 GMT deviceExternalId=012801096514 src=10.0.0.5 dst=8.8.8.8 sourceTranslatedAddress=203.0.113.9 suser=corp\\\\alice cs1Label=Rule cs1=allow-dns act=allow proto=udp",
        );
        assert_eq!(f["extensions"]["suser"], "corp\\alice");
        assert_eq!(f["extensions"]["cs1"], "allow-dns");
        assert_eq!(f["signature_id"], "end");
        assert_eq!(time, at("2024-03-29T13:55:41Z"));

        let (f, time) = fields(
            "CEF:0|Fortinet|Fortigate|v7.0.5|00013|traffic:forward close|3|deviceExternalId=FG100E4Q17000000 FortinetFortiGatelogid=0000000013 cat=traffic:forward FTNTFGTlevel=notice FTNTFGTvd=root FTNTFGTeventtime=1714564800123456789 src=10.1.1.5 spt=51515 deviceInboundInterface=port2 dst=93.184.216.34 dpt=443 act=close msg=Session closed, bytes 1234 rt=1714564800000",
        );
        assert_eq!(f["extensions"]["msg"], "Session closed, bytes 1234");
        assert_eq!(f["extensions"]["cat"], "traffic:forward");
        assert_eq!(time, at("2024-05-01T12:00:00Z"));
    }

    #[test]
    fn rt_variants() {
        let t = |rt: &str| cef(&format!("CEF:0|v|p|1|s|n|5|rt={rt}")).time(received());
        assert_eq!(t("2024-05-01T12:00:00Z"), at("2024-05-01T12:00:00Z"));
        assert_eq!(
            t("May 01 2024 14:00:00.250 +02:00"),
            at("2024-05-01T12:00:00.25Z")
        );
        assert_eq!(t("Feb 28 12:00:00 UTC"), at("2025-02-28T12:00:00Z"));
        assert_eq!(t("May 01 2024 12:00:00 PST"), None);
        assert_eq!(t("soon"), None);
        assert_eq!(t(""), None);
    }

    #[test]
    fn shapes_at_the_edges() {
        let (f, _) = fields("CEF:1|v|p|1|s|n|5");
        assert_eq!((&f["version"], &f["extensions"]), (&json!(1), &json!({})));
        let c = cef("CEF: 0|v|p|1|s|n|5| junk before =x k=v trailing  ");
        assert_eq!(Value::Object(c.extensions), json!({"k": "v trailing"}));
        let c = cef("CEF:0|ü|p|1|s|n|5|a=é b=\\ü c==x d=");
        assert_eq!(
            Value::Object(c.extensions),
            json!({"a": "é", "b": "\\ü", "c": "=x", "d": ""})
        );
        for bad in [
            "CEF:",
            "CEF:0",
            "CEF:0|v|p|1|s|n",
            "CEF:x|v|p|1|s|n|5|",
            "CEF:|v|p|1|s|n|5|",
            "cef:0|v|p|1|s|n|5|",
            "CEF:0\\|v|p|1|s|n|5",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
