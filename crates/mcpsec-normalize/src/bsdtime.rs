//! BSD-style timestamps (`Mmm dd hh:mm:ss`, optionally with a year and a fraction), as
//! used by RFC 3164 headers and CEF's `rt`. They carry no time zone and usually no year:
//! they are read as UTC, and the year is guessed from the receive time.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// The parts of a BSD timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BsdStamp {
    month: u32,
    day: u32,
    year: Option<i32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

/// A tiny cursor over ASCII bytes; it only ever stops at ASCII bytes, so the remainder it
/// hands back always starts on a char boundary.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Reads 1..=`max` ASCII digits.
    fn digits(&mut self, max: usize) -> Option<(u32, usize)> {
        let mut value = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.pos += 1;
                    n += 1;
                }
                _ => break,
            }
        }
        (n > 0).then_some((value, n))
    }

    fn two_digits(&mut self) -> Option<u32> {
        match self.digits(2)? {
            (v, 2) => Some(v),
            _ => None,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
}

/// Parses `Mmm dd [yyyy ]hh:mm:ss[.fff]` at the start of `s` (month names in any case, day
/// space-padded or not). Returns the stamp and what follows it (not trimmed).
pub(crate) fn parse(s: &str) -> Option<(BsdStamp, &str)> {
    let bytes = s.as_bytes();
    let name = bytes.get(..3)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .and_then(|i| u32::try_from(i + 1).ok())?;
    let mut c = Cursor { s, pos: 3 };
    if !c.eat(b' ') {
        return None;
    }
    c.eat(b' ');
    let (day, _) = c.digits(2)?;
    if !c.eat(b' ') {
        return None;
    }
    let mut year = None;
    let save = c.pos;
    if let Some((y, 4)) = c.digits(4) {
        if c.eat(b' ') {
            year = i32::try_from(y).ok();
        } else {
            c.pos = save;
        }
    } else {
        c.pos = save;
    }
    let hour = c.two_digits()?;
    let minute = c.eat(b':').then(|| c.two_digits()).flatten()?;
    let second = c.eat(b':').then(|| c.two_digits()).flatten()?;
    let mut nanos = 0;
    if c.peek() == Some(b'.') {
        let save = c.pos;
        c.pos += 1;
        match c.digits(9) {
            Some((frac, n)) => {
                let scale = 10u32.pow(u32::try_from(9 - n).unwrap_or(0));
                nanos = frac * scale;
                // Ignore digits beyond nanoseconds.
                while matches!(c.peek(), Some(b'0'..=b'9')) {
                    c.pos += 1;
                }
            }
            None => c.pos = save,
        }
    }
    let valid = (1..=31).contains(&day) && hour < 24 && minute < 60 && second <= 60;
    valid.then_some((
        BsdStamp {
            month,
            day,
            year,
            hour,
            minute,
            second: second.min(59),
            nanos,
        },
        c.rest(),
    ))
}

impl BsdStamp {
    /// The stamp in UTC, in `year`; `None` when the date does not exist (e.g. Feb 30).
    fn in_year(&self, year: i32) -> Option<DateTime<Utc>> {
        let t = NaiveDate::from_ymd_opt(year, self.month, self.day)?.and_hms_nano_opt(
            self.hour,
            self.minute,
            self.second,
            self.nanos,
        )?;
        Some(Utc.from_utc_datetime(&t))
    }

    /// The stamp as a UTC time. Without a year in the stamp, picks the latest year in which
    /// the time is at most one day after `received_at` (so a December line received in
    /// January lands in the previous year, and small clock skews stay in the current one).
    pub(crate) fn resolve(&self, received_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::Datelike;
        if let Some(year) = self.year {
            return self.in_year(year);
        }
        let limit = received_at + Duration::days(1);
        let this_year = received_at.year();
        // Eight years back always reaches a leap year, for Feb 29.
        (this_year - 8..=this_year + 1)
            .rev()
            .filter_map(|y| self.in_year(y))
            .find(|t| *t <= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    fn resolve(line: &str, received: &str) -> Option<DateTime<Utc>> {
        parse(line).and_then(|(st, _)| st.resolve(at(received)))
    }

    #[test]
    fn shapes() {
        let (st, rest) = parse("Feb  5 17:32:18 host").expect("parse");
        assert_eq!(
            (st.month, st.day, st.hour, st.minute, st.second),
            (2, 5, 17, 32, 18)
        );
        assert_eq!(rest, " host");
        let (st, rest) = parse("oct 11 22:14:15.003: x").expect("parse");
        assert_eq!((st.month, st.nanos), (10, 3_000_000));
        assert_eq!(rest, ": x");
        let (st, rest) = parse("Mar 29 2024 13:55:41 GMT").expect("parse");
        assert_eq!(st.year, Some(2024));
        assert_eq!(rest, " GMT");
        let (st, _) = parse("Jun 30 23:59:60").expect("parse");
        assert_eq!(st.second, 59);
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "F",
            "Feb",
            "Feb ",
            "Feb 5",
            "Feb 5 ",
            "Feb 5 1:2:3",
            "Feb 32 10:00:00",
            "Feb 5 24:00:00",
            "Feb 5 10:60:00",
            "Foo 5 10:00:00",
            "Feb  5 17:32",
            "Feb_5 10:00:00",
            "Fé 5 10:00:00",
            "Feb 5 2024",
        ] {
            assert!(parse(s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn year_is_guessed_from_receive_time() {
        let r = "2025-01-01T00:30:00Z";
        assert_eq!(
            resolve("Dec 31 23:59:00", r),
            Some(at("2024-12-31T23:59:00Z"))
        );
        assert_eq!(
            resolve("Jan  1 06:00:00", r),
            Some(at("2025-01-01T06:00:00Z"))
        );
        let r = "2024-12-31T23:00:00Z";
        assert_eq!(
            resolve("Jan  1 00:30:00", r),
            Some(at("2025-01-01T00:30:00Z"))
        );
        let r = "2025-03-01T00:00:00Z";
        assert_eq!(
            resolve("Feb 29 10:00:00", r),
            Some(at("2024-02-29T10:00:00Z"))
        );
        assert_eq!(resolve("Feb 30 10:00:00", r), None);
        assert_eq!(resolve("Feb 29 2023 10:00:00", r), None);
        assert_eq!(
            resolve("Mar 29 2024 13:55:41", r),
            Some(at("2024-03-29T13:55:41Z"))
        );
    }
}
