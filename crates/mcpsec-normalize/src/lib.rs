//! Turns incoming records (JSON objects and text lines) into [`mcpsec_core::Event`]s.
//!
//! # Key design decision
//!
//! **A JSON object is stored exactly as it came.** Normalizers only *read* it, to recognise
//! its shape ([`detect_json_format`]) and to find the event time; they never add, rename or
//! drop a key, so what a user sent is always what they can search. Only text lines, which
//! have no structure of their own, are parsed — once, at ingest, by hand-written byte
//! scanners (no regex), into fields named after the Elastic Common Schema. That parsed
//! object is then kept "as parsed" in the same way.
//!
//! Every event gets a fresh ULID, the [`Context`]'s tenant, source and receive time, and
//! `time` = the event time found in the record, else the receive time.
//!
//! # JSON ([`normalize_json`])
//!
//! | Shape | Detected by | Event time from |
//! |---|---|---|
//! | [`Windows`](EventFormat::Windows) | `Event.System` is an object | `Event.System.TimeCreated.#attributes.SystemTime` (evtx crate / `evtx_dump`), `…TimeCreated_attributes.SystemTime` (Chainsaw, Hayabusa), `…TimeCreated.SystemTime`, `…TimeCreated.@SystemTime` (xmltodict); then as JSON |
//! | [`Ecs`](EventFormat::Ecs) | `@timestamp` and any of `ecs.version`, `event.kind`, `event.category`, `event.dataset`, `agent.type` (nested or dotted flat keys) | `@timestamp`, then as JSON |
//! | [`Json`](EventFormat::Json) | any other object | first parseable top-level `@timestamp`, `timestamp`, `time`, `ts`, `eventTime`, `event_time`, `date`, `datetime` |
//!
//! Times are parsed with [`mcpsec_core::parse_timestamp`].
//!
//! # Text lines ([`normalize_line`])
//!
//! A trailing `\n`, `\r\n` or NUL terminator and a leading UTF-8 BOM are removed first.
//! Then, in order: a JSON object (as above), bare CEF, syslog (RFC 5424, else RFC 3164),
//! syslog carrying CEF as its message, else [`Text`](EventFormat::Text) with
//! `{"message": line}`. Parsing never fails and never panics.
//!
//! ## Syslog fields (RFC 5424 and RFC 3164)
//!
//! ```json
//! {
//!   "message": "MSG (without a leading BOM)",
//!   "host": {"hostname": "HOSTNAME"},
//!   "process": {"name": "APP-NAME or TAG", "pid": 4123},
//!   "log": {"syslog": {
//!     "priority": 34,
//!     "facility": {"code": 4, "name": "auth"},
//!     "severity": {"code": 2, "name": "critical"},
//!     "version": 1,
//!     "msgid": "ID47",
//!     "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}}
//!   }}
//! }
//! ```
//!
//! Keys whose value is absent, empty or NILVALUE (`-`) are left out, and so are objects
//! left empty. `pid` is a number when numeric, else a string. `version`, `msgid` and
//! `structured_data` exist only for RFC 5424; a structured-data parameter given several
//! times becomes an array. Facility names are `kern user mail daemon auth syslog lpr news
//! uucp cron authpriv ftp ntp audit alert clock local0…local7`; severity names are
//! `emergency alert critical error warning notice informational debug`.
//!
//! RFC 3164 timestamps (`Mmm dd hh:mm:ss`, optionally with a year or a fraction) carry no
//! zone and are read as UTC; the year is the latest one that puts the time at most one
//! day after the receive time. RFC 3339 timestamps (rsyslog) are used as they are. A valid
//! `<PRI>` followed by no recognisable header is RFC 3164 whose MSG is the rest; an
//! invalid PRI (above 191, not digits, no `>`) means the line is not syslog.
//!
//! ## CEF fields
//!
//! ```json
//! {
//!   "cef": {"version": 0, "device_vendor": "…", "device_product": "…",
//!           "device_version": "…", "signature_id": "…", "name": "…", "severity": 5,
//!           "extensions": {"src": "10.0.0.1", "msg": "values stay strings"}},
//!   "message": "CEF:0|… (the CEF text)"
//! }
//! ```
//!
//! plus the syslog fields above when the CEF text followed a syslog header. `severity` is
//! a number when numeric, else the string (`High`). The event time is the `rt` extension
//! when it parses (epoch milliseconds or a date), else the syslog header time.

mod bsdtime;
mod cef;
mod context;
mod json;
mod names;
mod syslog;

pub use context::Context;
pub use json::{detect_json_format, normalize_json};

use chrono::{DateTime, Utc};
use mcpsec_core::{ErrorCode, Event, EventFormat};
use serde_json::{Map, Value};

/// Why a record could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The JSON value is not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found: `array`, `string`, `number`, `boolean` or `null`.
        found: &'static str,
    },
}

impl NormalizeError {
    /// The transport-independent error code (always a client error).
    pub fn code(&self) -> ErrorCode {
        match self {
            NormalizeError::NotAnObject { .. } => ErrorCode::BadRequest,
        }
    }
}

/// Normalizes one text line (syslog listener, tailed file). Tries, in order, a JSON
/// object, CEF (bare or after a syslog header), RFC 5424 and RFC 3164 syslog; anything
/// else becomes [`EventFormat::Text`] with fields `{"message": line}`. Never fails.
///
/// See the crate docs for the field shapes.
pub fn normalize_line(line: &str, ctx: &Context) -> Event {
    let line = clean(line);
    let head = line.trim_start();
    if head.starts_with('{')
        && let Ok(obj) = serde_json::from_str::<Map<String, Value>>(head)
    {
        return json::normalize_object(obj, ctx);
    }
    let (format, fields, time) = parse_text(head, ctx.received_at).unwrap_or_else(|| {
        let mut fields = Map::new();
        fields.insert("message".into(), Value::from(line));
        (EventFormat::Text, fields, None)
    });
    ctx.event(format, fields, time)
}

type Parsed = (EventFormat, Map<String, Value>, Option<DateTime<Utc>>);

/// CEF or syslog; `None` for anything else.
fn parse_text(line: &str, received_at: DateTime<Utc>) -> Option<Parsed> {
    if let Some(cef) = cef::parse(line) {
        let mut fields = Map::new();
        let time = cef.insert_into(&mut fields, received_at);
        return Some((EventFormat::Cef, fields, time));
    }
    let header = syslog::parse(line, received_at)?;
    if let Some(cef) = header.message.and_then(|m| cef::parse(m.trim_start())) {
        let header_time = header.time;
        let mut fields = header.into_fields();
        let time = cef.insert_into(&mut fields, received_at).or(header_time);
        return Some((EventFormat::Cef, fields, time));
    }
    let (format, time) = (header.format, header.time);
    Some((format, header.into_fields(), time))
}

/// Removes line terminators (`\n`, `\r\n`, NUL) and a leading UTF-8 BOM.
fn clean(line: &str) -> &str {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    line.trim_end_matches(['\n', '\r', '\0'])
}

#[cfg(test)]
mod tests;
