//! Timestamps as they appear in logs, parsed leniently into UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

/// Parses a timestamp found in an event: RFC 3339 (with or without `Z`/offset, any
/// fraction), `YYYY-MM-DD HH:MM:SS[.f]` (taken as UTC), or a number of seconds or
/// milliseconds since the epoch (milliseconds when above 10^11). Returns `None` for
/// anything else, including out-of-range numbers.
pub fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_str(s.trim()),
        Value::Number(n) => {
            let f = n.as_f64()?;
            if !f.is_finite() || f < 0.0 {
                return None;
            }
            let millis = if f > 1e11 { f } else { f * 1000.0 };
            if millis > 253_402_300_799_000.0 {
                return None;
            }
            Utc.timestamp_millis_opt(millis as i64).single()
        }
        _ => None,
    }
}

fn parse_str(s: &str) -> Option<DateTime<Utc>> {
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f UTC",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Some(t.with_timezone(&Utc));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<f64>().ok().and_then(|f| {
            serde_json::Number::from_f64(f).and_then(|n| parse_timestamp(&Value::Number(n)))
        });
    }
    None
}

/// Formats a time as RFC 3339 with microseconds and `Z`.
pub fn to_rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_shapes_parse() {
        let want = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single();
        assert_eq!(parse_timestamp(&json!("2024-05-01T12:00:00Z")), want);
        assert_eq!(parse_timestamp(&json!("2024-05-01T14:00:00+02:00")), want);
        assert_eq!(parse_timestamp(&json!("2024-05-01 12:00:00.000")), want);
        assert_eq!(
            parse_timestamp(&json!("2024-05-01T12:00:00.0000000Z")),
            want
        );
        assert_eq!(parse_timestamp(&json!(1714564800)), want);
        assert_eq!(parse_timestamp(&json!(1714564800000u64)), want);
        assert_eq!(parse_timestamp(&json!("1714564800")), want);
    }

    #[test]
    fn garbage_is_none() {
        for v in [
            json!("yesterday"),
            json!(-5),
            json!(1e300),
            json!(null),
            json!(""),
        ] {
            assert_eq!(parse_timestamp(&v), None, "{v}");
        }
    }
}
