//! Risk trends for the past: a tenant's series is only written from the moment `serve`
//! takes snapshots, so alerts imported or detected before that leave the trend empty.
//! A backfill computes the score the deterministic model gives at each past step, from
//! the alerts stored then, and writes the points the series lacks.
//!
//! The past is read with today's alert statuses (the status history is not replayed), so
//! an alert closed since counts as closed at every step; no risk alert is raised for the
//! past.

use super::assets::{overview, snapshot};
use crate::{Result, RiskError as Error};
use chrono::{DateTime, Duration, DurationRound, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::StateStore;
use serde::Serialize;
use std::collections::HashMap;

/// Most steps one backfill may compute (400 days of hours is 9,600).
pub const MAX_STEPS: i64 = 10_000;

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Backfill {
    /// Steps in the range.
    pub steps: usize,
    /// Steps computed and written.
    pub written: usize,
    /// Steps left alone because the series already has a point there.
    pub kept: usize,
    /// Points written (tenant and assets).
    pub points: usize,
}

/// Writes `tenant`'s risk series at every `step` from `from` (rounded down to the step)
/// to `to`, where the series has no tenant point within that step. `window_days` is the
/// model's alert window (`[risk] window_days`).
pub fn backfill(
    store: &dyn StateStore,
    tenant: &TenantId,
    window_days: u32,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
) -> Result<Backfill> {
    if step < Duration::minutes(1) || step > Duration::days(31) {
        return Err(Error::Invalid(
            "the backfill step must be between 1 minute and 31 days".into(),
        ));
    }
    if from > to {
        return Err(Error::Invalid("the backfill starts after it ends".into()));
    }
    let start = from
        .duration_trunc(step)
        .map_err(|e| Error::Invalid(format!("cannot align {from} to the step: {e}")))?;
    let steps = (to - start).num_seconds() / step.num_seconds() + 1;
    if steps > MAX_STEPS {
        return Err(Error::Invalid(format!(
            "{steps} steps: at most {MAX_STEPS} per backfill (use a longer step or a shorter range)"
        )));
    }
    let bucket = u32::try_from(step.num_seconds()).unwrap_or(u32::MAX);
    let scope = Some(("tenant", tenant.as_str()));
    let mut out = Backfill::default();
    let mut at = start;
    while at <= to {
        out.steps += 1;
        if store
            .risk_trend(tenant, scope, at, at + step, bucket)?
            .is_empty()
        {
            let o = overview(store, tenant, window_days, at, &HashMap::new())?;
            out.points += snapshot(store, tenant, &o)?;
            out.written += 1;
        } else {
            out.kept += 1;
        }
        at += step;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_store::{Alert, AlertStore, DetectionOffset, RiskStore, SqliteState};

    fn alert(tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Alert {
        let mut a = crate::model::test_alert("critical", &["credential-access"]);
        a.id = id.into();
        a.tenant = tenant.clone();
        a.event_time = at;
        a.created_at = at;
        a
    }

    #[test]
    fn the_past_is_filled_once_from_the_alerts_stored_then() {
        let s = SqliteState::in_memory().expect("store");
        let t = TenantId::new("a").expect("tenant");
        let other = TenantId::new("b").expect("tenant");
        let day0 = Utc::now().duration_trunc(Duration::days(1)).expect("day") - Duration::days(10);
        s.commit_detections(
            "test",
            &[alert(
                &t,
                "x1",
                day0 + Duration::days(3) + Duration::hours(5),
            )],
            &DetectionOffset::default(),
        )
        .expect("alerts");
        let end = day0 + Duration::days(6);
        let b = backfill(&s, &t, 2, day0, end, Duration::days(1)).expect("backfill");
        assert_eq!((b.steps, b.written, b.kept), (7, 7, 0));
        let trend = s
            .risk_trend(
                &t,
                Some(("tenant", "a")),
                day0,
                end + Duration::days(1),
                86_400,
            )
            .expect("trend");
        let by_day: Vec<u8> = trend.iter().map(|p| p.max.round() as u8).collect();
        assert_eq!(by_day.len(), 7, "{trend:?}");
        // the alert counts from the day after it (a step is the state at its start) for
        // the two days of the window, and before it the tenant was at 0
        assert_eq!(&by_day[..4], &[0, 0, 0, 0], "{by_day:?}");
        assert!(by_day[4] > 0 && by_day[5] > 0, "{by_day:?}");
        assert_eq!(by_day[6], 0, "out of the 2-day window: {by_day:?}");
        assert!(b.points > b.written, "the host's points too");

        let again = backfill(&s, &t, 2, day0, end, Duration::days(1)).expect("again");
        assert_eq!((again.written, again.kept), (0, 7), "nothing written twice");
        assert!(
            s.risk_trend(&other, None, day0, end, 86_400)
                .expect("trend")
                .is_empty(),
            "another tenant's series is untouched"
        );
    }

    #[test]
    fn unreasonable_ranges_are_refused() {
        let s = SqliteState::in_memory().expect("store");
        let t = TenantId::new("a").expect("tenant");
        let now = Utc::now();
        for (from, step) in [
            (now - Duration::days(500), Duration::hours(1)),
            (now, Duration::seconds(10)),
            (now + Duration::days(1), Duration::hours(1)),
            (now - Duration::days(1), Duration::days(40)),
        ] {
            assert!(
                matches!(backfill(&s, &t, 7, from, now, step), Err(Error::Invalid(_))),
                "{from} {step}"
            );
        }
    }
}
