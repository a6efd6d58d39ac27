//! Time parameters: RFC 3339 instants, epoch seconds, or `now-15m` style relative times.

use chrono::{DateTime, Duration, Utc};

/// Parses `2024-05-01T12:00:00Z`, `1714564800`, `now`, `now-15m`, `-2h`, `7d` (meaning
/// seven days ago). Units: `s`, `m`, `h`, `d`, `w`.
pub fn parse_time_param(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let rel = t
        .strip_prefix("now-")
        .or_else(|| t.strip_prefix('-'))
        .or_else(|| t.chars().last().filter(|c| "smhdw".contains(*c)).map(|_| t));
    if let Some(r) = rel
        && let Some(d) = parse_duration(r)
    {
        return now
            .checked_sub_signed(d)
            .ok_or_else(|| format!("time {s:?} is out of range"));
    }
    mcpsec_core::parse_timestamp(&serde_json::Value::String(t.to_owned())).ok_or_else(|| {
        format!(
            "invalid time {s:?}: use RFC 3339 (2024-05-01T12:00:00Z), epoch seconds, or now-15m"
        )
    })
}

fn parse_duration(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    if n < 0 {
        return None;
    }
    match unit {
        's' => Duration::try_seconds(n),
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        'w' => Duration::try_weeks(n),
        _ => None,
    }
}

/// An optional time range, `[from, to)`.
pub(crate) type Period = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Parses optional `from`/`to` request parameters; errors name the parameter.
pub(crate) fn period(from: Option<&str>, to: Option<&str>) -> Result<Period, crate::ApiError> {
    let now = Utc::now();
    let t = |v: Option<&str>, name: &str| {
        v.map(|v| {
            parse_time_param(v, now)
                .map_err(|e| crate::ApiError::bad_request(format!("{name}: {e}")))
        })
        .transpose()
    };
    Ok((t(from, "from")?, t(to, "to")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn absolute_relative_and_bad() {
        let now = Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("t");
        assert_eq!(parse_time_param("now", now), Ok(now));
        assert_eq!(
            parse_time_param("now-15m", now),
            Ok(now - Duration::minutes(15))
        );
        assert_eq!(parse_time_param("-2h", now), Ok(now - Duration::hours(2)));
        assert_eq!(parse_time_param("7d", now), Ok(now - Duration::days(7)));
        assert_eq!(
            parse_time_param("2024-05-01T11:00:00Z", now),
            Ok(now - Duration::hours(1))
        );
        for bad in ["yesterday", "now-", "now-9999999999999w", "-5x", ""] {
            assert!(parse_time_param(bad, now).is_err(), "{bad}");
        }
    }
}
