//! Request bodies into events: JSON array, NDJSON or text lines, optionally gzip- or
//! zstd-compressed. A bad line is reported by its number and the good ones are kept.

use crate::IngestError;
use mcpsec_core::Event;
use mcpsec_normalize::{Context, normalize_json, normalize_line};
use serde::Serialize;
use std::io::Read;

/// At most this many line errors are listed in a response (the count is always exact).
pub const MAX_LISTED_ERRORS: usize = 100;

/// How a body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// From a `Content-Encoding` header value; `Err` for encodings we do not speak.
    pub fn from_header(value: Option<&str>) -> Result<Self, IngestError> {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Compression::None),
            Some(v) if v.is_empty() || v == "identity" => Ok(Compression::None),
            Some(v) if v == "gzip" || v == "x-gzip" => Ok(Compression::Gzip),
            Some(v) if v == "zstd" => Ok(Compression::Zstd),
            Some(v) => Err(IngestError::BadBody(format!(
                "unsupported Content-Encoding {v:?}; use gzip or zstd"
            ))),
        }
    }
}

/// How the (decompressed) body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Decide from the first non-blank byte: `[` is a JSON array, else NDJSON.
    Auto,
    /// One text record per line (syslog, CEF, free text), each normalized on its own.
    TextLines,
}

impl Framing {
    /// From a `Content-Type` header value.
    pub fn from_content_type(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().to_ascii_lowercase().starts_with("text/plain") => {
                Framing::TextLines
            }
            _ => Framing::Auto,
        }
    }
}

/// One rejected line or array item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number (NDJSON, text) or array index + 1 (JSON array).
    pub line: usize,
    /// What is wrong with it.
    pub error: String,
}

/// The outcome of parsing one body.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The events to append.
    pub events: Vec<Event>,
    /// The first [`MAX_LISTED_ERRORS`] errors.
    pub errors: Vec<LineError>,
    /// How many lines or items were rejected in all.
    pub rejected: usize,
}

impl Parsed {
    fn reject(&mut self, line: usize, error: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError { line, error });
        }
    }
}

/// Decompresses `body`, refusing output larger than `max_decoded` bytes.
pub fn decompress(body: &[u8], c: Compression, max_decoded: usize) -> Result<Vec<u8>, IngestError> {
    fn read_limited(r: impl Read, max: usize, what: &str) -> Result<Vec<u8>, IngestError> {
        let mut out = Vec::new();
        let n = r
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| IngestError::BadBody(format!("invalid {what} body: {e}")))?;
        if n > max {
            return Err(IngestError::TooLarge { limit: max });
        }
        Ok(out)
    }
    match c {
        Compression::None => {
            if body.len() > max_decoded {
                return Err(IngestError::TooLarge { limit: max_decoded });
            }
            Ok(body.to_vec())
        }
        Compression::Gzip => {
            read_limited(flate2::read::MultiGzDecoder::new(body), max_decoded, "gzip")
        }
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(body)
                .map_err(|e| IngestError::BadBody(format!("invalid zstd body: {e}")))?;
            read_limited(dec, max_decoded, "zstd")
        }
    }
}

fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // serde_json appends " at line 1 column N"; the line is ours to report.
    match msg.rfind(" at line ") {
        Some(i) => {
            let col = msg[i..].rsplit(' ').next().unwrap_or("");
            format!("invalid JSON: {} (column {col})", &msg[..i])
        }
        None => format!("invalid JSON: {msg}"),
    }
}

/// Parses a decompressed body into events for `ctx`. Errors only when nothing in the
/// body can be read at all (empty, or a JSON array that does not parse).
pub fn parse(body: &[u8], framing: Framing, ctx: &Context) -> Result<Parsed, IngestError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(IngestError::BadBody("request body is empty".into()));
    };
    let mut out = Parsed::default();
    if framing == Framing::TextLines {
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match std::str::from_utf8(line) {
                Ok(text) => out.events.push(normalize_line(text, ctx)),
                Err(e) => out.reject(i + 1, format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            }
        }
        return Ok(out);
    }
    if body[start] == b'[' {
        let items: Vec<serde_json::Value> = serde_json::from_slice(&body[start..])
            .map_err(|e| IngestError::BadBody(format!("body is not a valid JSON array: {e}")))?;
        out.events.reserve(items.len());
        for (i, v) in items.into_iter().enumerate() {
            match normalize_json(v, ctx) {
                Ok(ev) => out.events.push(ev),
                Err(e) => out.reject(i + 1, e.to_string()),
            }
        }
        return Ok(out);
    }
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => match normalize_json(v, ctx) {
                Ok(ev) => out.events.push(ev),
                Err(e) => out.reject(i + 1, e.to_string()),
            },
            Err(e) => out.reject(i + 1, describe(&e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_core::{SourceInfo, TenantId};
    use std::io::Write;

    fn ctx() -> Context {
        Context::new(TenantId::default_tenant(), SourceInfo::new("http", "test"))
    }

    #[test]
    fn ndjson_keeps_good_lines_and_numbers_bad_ones() {
        let body = b"{\"a\":1}\n{broken\n\n[1,2]\n{\"b\":\"\xff\"}\r\n{\"c\":3}\r\n";
        let p = parse(body, Framing::Auto, &ctx()).expect("parse");
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.rejected, 3);
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(
            p.errors[0].error.contains("invalid JSON"),
            "{}",
            p.errors[0].error
        );
    }

    #[test]
    fn json_array_and_its_bad_items() {
        let p = parse(b"  [{\"a\":1}, 5, {\"b\":2}]", Framing::Auto, &ctx()).expect("parse");
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.errors[0].line, 2);
        assert!(parse(b"[{\"a\":1}", Framing::Auto, &ctx()).is_err());
    }

    #[test]
    fn empty_and_blank_bodies_are_refused() {
        for b in [&b""[..], b"   \n\r\n"] {
            assert!(matches!(
                parse(b, Framing::Auto, &ctx()),
                Err(IngestError::BadBody(_))
            ));
        }
    }

    #[test]
    fn deep_nesting_is_a_line_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let body = format!("{{\"ok\":1}}\n{{\"x\":{deep}}}\n");
        let p = parse(body.as_bytes(), Framing::Auto, &ctx()).expect("parse");
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.errors[0].line, 2);
        assert!(
            p.errors[0].error.contains("recursion"),
            "{}",
            p.errors[0].error
        );
        assert!(parse(deep.as_bytes(), Framing::Auto, &ctx()).is_err());
    }

    #[test]
    fn text_lines_are_normalized_one_by_one() {
        let p = parse(
            b"<34>1 2024-05-01T12:00:00Z h app - - - hi\nplain words\n",
            Framing::TextLines,
            &ctx(),
        )
        .expect("parse");
        assert_eq!(p.events.len(), 2);
    }

    #[test]
    fn compression_round_trips_and_bombs_are_stopped() {
        let raw = b"{\"a\":1}\n".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).expect("gz");
        let gz = gz.finish().expect("gz");
        assert_eq!(
            decompress(&gz, Compression::Gzip, 1 << 20).expect("gunzip"),
            raw
        );
        let zs = zstd::encode_all(&raw[..], 1).expect("zstd");
        assert_eq!(
            decompress(&zs, Compression::Zstd, 1 << 20).expect("unzstd"),
            raw
        );
        assert!(matches!(
            decompress(&gz, Compression::Gzip, 100),
            Err(IngestError::TooLarge { .. })
        ));
        assert!(matches!(
            decompress(b"not gzip", Compression::Gzip, 100),
            Err(IngestError::BadBody(_))
        ));
        assert!(matches!(
            decompress(&gz[..gz.len() / 2], Compression::Gzip, 1 << 20),
            Err(IngestError::BadBody(_))
        ));
        assert!(Compression::from_header(Some("br")).is_err());
        assert_eq!(
            Compression::from_header(Some("GZIP")).expect("gzip"),
            Compression::Gzip
        );
    }
}
