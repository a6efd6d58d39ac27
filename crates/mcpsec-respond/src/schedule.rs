//! Scheduled playbooks: a cron expression read in an IANA time zone.
//!
//! Key design decision: the next due time of every (tenant, playbook, schedule) is kept
//! in the state store (a checkpoint) and moved on *before* the run is started, so a
//! restart never fires a schedule twice (a crash between the two skips one run rather
//! than repeating it). A schedule seen for the first time waits for its next due time;
//! one that fell due while `serve` was down fires once, not once per missed time.

use chrono::{DateTime, Utc};
use std::str::FromStr;

/// The next time `cron` fires after `after`, reading the expression in `timezone`.
pub fn next_run(cron: &str, timezone: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if cron.len() > 200 {
        return Err("cron expression longer than 200 characters".into());
    }
    let tz = chrono_tz::Tz::from_str(timezone).map_err(|_| {
        format!("unknown time zone {timezone:?}: use an IANA name such as Europe/Paris or UTC")
    })?;
    let pattern: croner::Cron = cron
        .parse()
        .map_err(|e| format!("invalid cron expression {cron:?}: {e}"))?;
    pattern
        .find_next_occurrence(&after.with_timezone(&tz), false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("cron expression {cron:?} never fires: {e}"))
}

/// The checkpoint holding one schedule's next due time. The expression and zone are
/// part of the name, so changing them starts afresh.
pub fn checkpoint_name(tenant: &str, playbook: &str, cron: &str, timezone: &str) -> String {
    let h = crate::engine::short_hash(&format!("{cron}\n{timezone}"));
    format!("playbook-schedule/{tenant}/{playbook}/{h}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn cron_is_read_in_the_zone() {
        let after = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).single();
        let Some(after) = after else { return };
        // 08:00 in Paris on the day summer time starts is 06:00 UTC.
        let next = next_run("0 8 * * *", "Europe/Paris", after);
        assert_eq!(
            next.map(|t| t.to_rfc3339()),
            Ok("2026-03-29T06:00:00+00:00".to_owned())
        );
        assert!(next_run("0 8 * * *", "Mars/Olympus", after).is_err());
        assert!(next_run("61 * * * *", "UTC", after).is_err());
        assert!(next_run("", "UTC", after).is_err());
        assert!(next_run(&"* ".repeat(200), "UTC", after).is_err());
        assert_ne!(
            checkpoint_name("a", "p", "0 8 * * *", "UTC"),
            checkpoint_name("a", "p", "0 8 * * *", "Europe/Paris")
        );
    }
}
