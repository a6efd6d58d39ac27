//! RFC 3164 (BSD syslog): `[<PRI>]TIMESTAMP HOSTNAME TAG[PID]: MSG`.
//!
//! TIMESTAMP is `Mmm dd hh:mm:ss` (also with a fraction or a year, as some devices send)
//! or an RFC 3339 time (rsyslog's high-precision formats). HOSTNAME may be missing when
//! the first word already is a TAG (`sshd[42]:`, `kernel:`), as in local logs.
//!
//! A TAG is the first word of the rest when it reads `name:`, `name[pid]` or
//! `name[pid]:` with no `:`, `[` or `]` in `name`. Without PRI, a line starting with an
//! RFC 3339 time must also have a TAG (or carry CEF): application logs often start with
//! such a time (`2024-05-01T12:00:00Z INFO app::server: ready`) and are not syslog.

use super::{Syslog, token};
use crate::bsdtime;
use chrono::{DateTime, Utc};
use mcpsec_core::EventFormat;

/// Parses a line without PRI; it must start with a valid timestamp.
pub(super) fn parse_bare(line: &str, received_at: DateTime<Utc>) -> Option<Syslog<'_>> {
    let stamp = timestamp(line, received_at)?;
    let s = after_timestamp(
        Syslog::empty(EventFormat::Syslog3164, None),
        stamp.time,
        stamp.rest,
    );
    let plausible =
        !stamp.rfc3339 || s.app.is_some() || s.message.is_some_and(|m| m.starts_with("CEF:"));
    plausible.then_some(s)
}

/// Parses what follows a valid `<PRI>`. Never fails: without a timestamp, the rest is MSG.
pub(super) fn parse_after_pri(pri: u8, rest: &str, received_at: DateTime<Utc>) -> Syslog<'_> {
    let s = Syslog::empty(EventFormat::Syslog3164, Some(pri));
    match timestamp(rest, received_at) {
        Some(stamp) => after_timestamp(s, stamp.time, stamp.rest),
        None => Syslog {
            message: Some(rest).filter(|m| !m.is_empty()),
            ..s
        },
    }
}

/// A timestamp found at the start of a line.
struct Stamp<'a> {
    /// `None` when the date does not exist in any plausible year (e.g. `Feb 30`).
    time: Option<DateTime<Utc>>,
    /// Whether it was an RFC 3339 time rather than a BSD one.
    rfc3339: bool,
    /// What follows, after the separating spaces.
    rest: &'a str,
}

/// Reads the timestamp at the start of `s`; it must be followed by a space or the end.
fn timestamp(s: &str, received_at: DateTime<Utc>) -> Option<Stamp<'_>> {
    let (time, rfc3339, rest) = if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (tok, rest) = s.split_once(' ').unwrap_or((s, ""));
        let t = DateTime::parse_from_rfc3339(tok).ok()?;
        (Some(t.with_timezone(&Utc)), true, rest)
    } else {
        let (stamp, rest) = bsdtime::parse(s)?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        (stamp.resolve(received_at), false, rest)
    };
    Some(Stamp {
        time,
        rfc3339,
        rest: rest.trim_start_matches(' '),
    })
}

fn after_timestamp<'a>(
    mut s: Syslog<'a>,
    time: Option<DateTime<Utc>>,
    rest: &'a str,
) -> Syslog<'a> {
    s.time = time;
    let first = first_word(rest);
    let body = if first.starts_with("CEF:") || tag_word(first).is_some() {
        rest
    } else {
        s.hostname = Some(first).filter(|h| !h.is_empty());
        token(rest).map_or("", |(_, r)| r.trim_start_matches(' '))
    };
    if body.starts_with("CEF:") {
        s.message = Some(body);
        return s;
    }
    let word = first_word(body);
    let msg = match tag_word(word) {
        Some((app, pid)) => {
            s.app = Some(app);
            s.procid = pid;
            let after = body.get(word.len()..).unwrap_or("");
            after.strip_prefix(' ').unwrap_or(after)
        }
        None => body,
    };
    s.message = Some(msg).filter(|m| !m.is_empty());
    s
}

fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or("")
}

/// Reads `name:`, `name[pid]` or `name[pid]:` (see the module docs).
fn tag_word(word: &str) -> Option<(&str, Option<&str>)> {
    let valid = |part: &str| !part.is_empty() && !part.contains([':', '[', ']']);
    let without_colon = word.strip_suffix(':');
    match without_colon.unwrap_or(word).split_once('[') {
        Some((name, rest)) => {
            let pid = rest.strip_suffix(']')?;
            (valid(name) && valid(pid)).then_some((name, Some(pid)))
        }
        None => without_colon
            .filter(|name| valid(name))
            .map(|name| (name, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn received() -> DateTime<Utc> {
        at("2025-03-01T12:00:00Z").expect("valid time")
    }

    fn at(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    fn p(line: &str) -> Option<Syslog<'_>> {
        super::super::parse(line, received())
    }

    fn fields(line: &str) -> Value {
        Value::Object(p(line).expect("3164").into_fields())
    }

    #[test]
    fn rfc_example() {
        let s = p("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
            .expect("3164");
        assert_eq!(s.format, EventFormat::Syslog3164);
        assert_eq!(s.time, at("2024-10-11T22:14:15Z"));
        assert_eq!(
            Value::Object(s.into_fields()),
            json!({"message": "'su root' failed for lonvick on /dev/pts/8",
                "host": {"hostname": "mymachine"}, "process": {"name": "su"},
                "log": {"syslog": {"priority": 34, "facility": {"code": 4, "name": "auth"},
                    "severity": {"code": 2, "name": "critical"}}}})
        );
    }

    #[test]
    fn sshd_and_sudo_from_files() {
        let s = p("Feb  5 17:32:18 web01 sshd[4123]: Failed password for invalid user admin from 203.0.113.5 port 52214 ssh2")
            .expect("3164");
        assert_eq!(s.time, at("2025-02-05T17:32:18Z"));
        assert_eq!(
            Value::Object(s.into_fields()),
            json!({"message": "Failed password for invalid user admin from 203.0.113.5 port 52214 ssh2",
                "host": {"hostname": "web01"}, "process": {"name": "sshd", "pid": 4123}})
        );
        let f = fields(
            "<85>Mar  1 10:00:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
        );
        assert_eq!(f["process"], json!({"name": "sudo"}));
        assert_eq!(
            f["message"],
            "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash"
        );
        assert_eq!(f["log"]["syslog"]["facility"]["name"], "authpriv");
        assert_eq!(f["log"]["syslog"]["severity"]["name"], "notice");
        let f =
            fields("Mar  1 10:00:01 db1 postfix/smtpd[991]: connect from unknown[198.51.100.7]");
        assert_eq!(f["process"], json!({"name": "postfix/smtpd", "pid": 991}));
        assert_eq!(f["message"], "connect from unknown[198.51.100.7]");
    }

    #[test]
    fn rsyslog_rfc3339_variants() {
        let s = p(
            "2024-05-01T12:00:00.123456+02:00 web01 systemd[1]: Started Session 4 of user alice.",
        )
        .expect("3164");
        assert_eq!(s.time, at("2024-05-01T10:00:00.123456Z"));
        assert_eq!(
            (s.hostname, s.app, s.procid),
            (Some("web01"), Some("systemd"), Some("1"))
        );
        let s = p("<30>2024-05-01T12:00:00Z web01 kernel: [ 12.34] eth0: link up").expect("3164");
        assert_eq!(
            (s.app, s.message),
            (Some("kernel"), Some("[ 12.34] eth0: link up"))
        );
        assert!(p("2024-05-01 not syslog").is_none());
    }

    #[test]
    fn missing_hostname_tag_only_and_odd_shapes() {
        let s = p("<13>Feb  5 17:32:18 myapp[123]: hello").expect("3164");
        assert_eq!(
            (s.hostname, s.app, s.procid, s.message),
            (None, Some("myapp"), Some("123"), Some("hello"))
        );
        let s = p("<13>Feb  5 17:32:18 kernel: oops").expect("3164");
        assert_eq!(
            (s.hostname, s.app, s.message),
            (None, Some("kernel"), Some("oops"))
        );
        let s = p("<13>Feb  5 17:32:18 host free text without tag").expect("3164");
        assert_eq!(
            (s.hostname, s.app, s.message),
            (Some("host"), None, Some("free text without tag"))
        );
        let s = p("<13>Feb  5 17:32:18 host app[12] no colon").expect("3164");
        assert_eq!(
            (s.app, s.procid, s.message),
            (Some("app"), Some("12"), Some("no colon"))
        );
        let s = p("<13>Feb  5 17:32:18 host app[unterminated: x").expect("3164");
        assert_eq!((s.app, s.message), (None, Some("app[unterminated: x")));
        let s = p("Feb  5 17:32:18 host").expect("3164");
        assert_eq!((s.hostname, s.message), (Some("host"), None));
        let s = p("Feb  5 17:32:18").expect("3164");
        assert_eq!((s.hostname, s.time), (None, at("2025-02-05T17:32:18Z")));
        let s = p("Feb 17 2024 13:40:03 asa %ASA-6-302013: Built").expect("3164");
        assert_eq!(
            (s.time, s.app),
            (at("2024-02-17T13:40:03Z"), Some("%ASA-6-302013"))
        );
    }

    #[test]
    fn pri_without_header_is_3164_message() {
        let s = p("<189>123: *Mar  1 00:00:00.000: %LINK-3-UPDOWN: down").expect("3164");
        assert_eq!(s.time, None);
        assert_eq!(
            s.message,
            Some("123: *Mar  1 00:00:00.000: %LINK-3-UPDOWN: down")
        );
        assert_eq!(p("<13>").map(|s| s.message), Some(None));
        assert!(p("Feb  5 17:32:180 host x").is_none());
        assert!(p("Hello world").is_none());
        assert!(p("").is_none());
    }

    #[test]
    fn tag_words() {
        assert_eq!(tag_word("sshd[42]:"), Some(("sshd", Some("42"))));
        assert_eq!(tag_word("app[12]"), Some(("app", Some("12"))));
        assert_eq!(tag_word("kernel:"), Some(("kernel", None)));
        assert_eq!(tag_word("%ASA-6-302013:"), Some(("%ASA-6-302013", None)));
        for w in [
            "",
            ":",
            "[1]:",
            "host",
            "a::b:",
            "mcpsec::server:",
            "app[]:",
            "app[1",
            "app[1]x",
            "a[b[1]]:",
            "fe80::1",
            "app[1]::",
        ] {
            assert_eq!(tag_word(w), None, "{w:?}");
        }
    }

    #[test]
    fn application_logs_with_iso_times_are_not_syslog() {
        assert!(p("2024-05-01T12:00:00.123456Z  INFO mcpsec::server: listening").is_none());
        assert!(p("2024-05-01T12:00:00Z ERROR mcpsec::server: boom").is_none());
        assert!(p("2024-05-01T12:00:00Z web01 free text").is_none());
        let s = p("<13>2024-05-01T12:00:00Z web01 free text").expect("3164");
        assert_eq!((s.hostname, s.message), (Some("web01"), Some("free text")));
        let s = p("2024-05-01T12:00:00Z fw CEF:0|v|p|1|s|n|5|").expect("3164");
        assert_eq!(s.message, Some("CEF:0|v|p|1|s|n|5|"));
    }
}
