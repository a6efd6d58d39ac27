//! Syslog facility and severity names (RFC 5424 §6.2.1, tables 1 and 2).
//!
//! Facility names follow the keywords used by rsyslog and `syslog.conf` (`kern`, `auth`,
//! `authpriv`, `local0`…); severity names are the lowercase words of the RFC table.

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// The largest valid PRI value (facility 23, severity 7).
pub(crate) const MAX_PRI: u16 = 191;

/// The name of a facility code (0–23), `None` when out of range.
pub(crate) fn facility_name(code: u8) -> Option<&'static str> {
    FACILITIES.get(usize::from(code)).copied()
}

/// The name of a severity code (0–7), `None` when out of range.
pub(crate) fn severity_name(code: u8) -> Option<&'static str> {
    SEVERITIES.get(usize::from(code)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_table_names() {
        assert_eq!(facility_name(0), Some("kern"));
        assert_eq!(facility_name(4), Some("auth"));
        assert_eq!(facility_name(10), Some("authpriv"));
        assert_eq!(facility_name(16), Some("local0"));
        assert_eq!(facility_name(23), Some("local7"));
        assert_eq!(facility_name(24), None);
        assert_eq!(severity_name(0), Some("emergency"));
        assert_eq!(severity_name(2), Some("critical"));
        assert_eq!(severity_name(7), Some("debug"));
        assert_eq!(severity_name(8), None);
        assert_eq!(MAX_PRI, 23 * 8 + 7);
    }
}
