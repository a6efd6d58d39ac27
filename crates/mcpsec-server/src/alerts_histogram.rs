//! `/api/v1/alerts/histogram`: the caller's alerts over time (by event time) in equal
//! buckets, for the dashboard's overview. One count query per bucket, so the cost does
//! not grow with the number of alerts.

use crate::events::http_attrs;
use crate::timeparse::period;
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Query, State};
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use mcpsec_core::TenantId;
use mcpsec_store::{AlertFilter, LEVEL_NAMES, StateStore, StoreError, parse_level};
use serde::{Deserialize, Serialize};

/// Histogram parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertHistogramParams {
    /// Start (RFC 3339, epoch seconds or `now-7d`); default: the oldest alert.
    from: Option<String>,
    /// End, exclusive; default: just after the newest alert.
    to: Option<String>,
    /// Only alerts of this level or higher.
    min_level: Option<String>,
    /// Number of buckets (1–200, default 40).
    buckets: Option<u32>,
}

/// One bucket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AlertBucket {
    /// Bucket start.
    start: DateTime<Utc>,
    /// Alerts whose event lies in `[start, start + bucket_seconds)`.
    count: u64,
}

/// Alerts over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AlertHistogram {
    /// Alerts in the whole range.
    total: u64,
    /// Width of each bucket (0 when there are no buckets).
    bucket_seconds: i64,
    /// Buckets, oldest first (empty when no alert matches).
    buckets: Vec<AlertBucket>,
}

/// The total and the event time at `offset` (newest first) of the alerts in a range.
fn probe(
    s: &dyn StateStore,
    tenant: &TenantId,
    base: &AlertFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    offset: Option<u64>,
) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let f = AlertFilter {
        from,
        to,
        limit: 1,
        offset: offset.unwrap_or(0) as usize,
        ..base.clone()
    };
    let page = s.list_alerts(tenant, &f)?;
    Ok((page.total, page.alerts.first().map(|a| a.event_time)))
}

pub(crate) fn histogram_of(
    s: &dyn StateStore,
    tenant: &TenantId,
    base: &AlertFilter,
    n: i64,
) -> Result<AlertHistogram, StoreError> {
    let (total, newest) = probe(s, tenant, base, base.from, base.to, None)?;
    let empty = AlertHistogram {
        total,
        bucket_seconds: 0,
        buckets: Vec::new(),
    };
    let (Some(newest), true) = (newest, total > 0) else {
        return Ok(empty);
    };
    let lo = match base.from {
        Some(t) => t,
        None => match probe(s, tenant, base, None, base.to, Some(total - 1))?.1 {
            Some(t) => t,
            None => return Ok(empty),
        },
    };
    let hi = base.to.unwrap_or(newest + Duration::seconds(1));
    if hi <= lo {
        return Ok(empty);
    }
    let span = (hi - lo).num_seconds().max(1);
    let width = ((span + n - 1) / n).max(1);
    let mut buckets = Vec::with_capacity(n as usize);
    let mut start = lo;
    while start < hi {
        let end = (start + Duration::seconds(width)).min(hi);
        let (count, _) = probe(s, tenant, base, Some(start), Some(end), None)?;
        buckets.push(AlertBucket { start, count });
        start = end;
    }
    Ok(AlertHistogram {
        total,
        bucket_seconds: width,
        buckets,
    })
}

/// Counts of the caller's alerts over time by event time, in equal buckets.
#[utoipa::path(get, path = "/api/v1/alerts/histogram", tag = "alerts", params(AlertHistogramParams),
    responses(
        (status = 200, description = "Counts", body = AlertHistogram),
        (status = 400, description = "Invalid parameter", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn histogram(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AlertHistogramParams>,
) -> Result<Json<AlertHistogram>, ApiError> {
    st.authorize(
        &who,
        Action::AlertsRead,
        &http_attrs("GET", "/api/v1/alerts/histogram", None),
    )?;
    let n = i64::from(p.buckets.unwrap_or(40));
    if !(1..=200).contains(&n) {
        return Err(ApiError::bad_request("buckets must be between 1 and 200"));
    }
    let (from, to) = period(p.from.as_deref(), p.to.as_deref())?;
    let min_level = match p.min_level.filter(|l| !l.is_empty()) {
        Some(l) if parse_level(&l).is_some() => Some(l.to_ascii_lowercase()),
        Some(l) => {
            return Err(ApiError::bad_request(format!(
                "unknown level {l:?}: use {LEVEL_NAMES}"
            )));
        }
        None => None,
    };
    let base = AlertFilter {
        min_level,
        from,
        to,
        ..AlertFilter::default()
    };
    let tenant = who.tenant.clone();
    Ok(Json(
        st.on_store(move |s| histogram_of(s, &tenant, &base, n))
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_store::{Alert, AlertKind, AlertStatus, AlertStore, DetectionOffset, SqliteState};

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-26T10:{minute:02}:00Z"))
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    fn alert(tenant: &str, id: &str, level: &str, minute: u32) -> Alert {
        Alert {
            id: id.into(),
            tenant: TenantId::new(tenant).expect("tenant"),
            kind: AlertKind::Rule,
            rule_id: "r".into(),
            rule_title: "R".into(),
            rule_version: 1,
            level: level.into(),
            tags: vec![],
            techniques: vec![],
            tactics: vec![],
            host: None,
            event_ids: vec![],
            events: vec![],
            event_count: 1,
            group: None,
            event_time: at(minute),
            created_at: at(minute),
            seq: u64::from(minute),
            status: AlertStatus::Open,
            status_by: None,
            status_at: None,
        }
    }

    fn counts(h: &AlertHistogram) -> Vec<u64> {
        h.buckets.iter().map(|b| b.count).collect()
    }

    #[test]
    fn buckets_span_the_alerts_and_count_each_once_per_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let list = [
            alert("acme", "a1", "high", 0),
            alert("acme", "a2", "low", 1),
            alert("acme", "a3", "low", 1),
            alert("acme", "a4", "critical", 9),
            alert("other", "b1", "high", 5),
        ];
        s.commit_detections("t", &list, &DetectionOffset::default())
            .expect("commit");
        let acme = TenantId::new("acme").expect("tenant");
        let all = AlertFilter::default();
        let h = histogram_of(&s, &acme, &all, 10).expect("histogram");
        assert_eq!(h.total, 4);
        assert_eq!(h.bucket_seconds, 55, "10:00 to just after 10:09 in 10");
        assert_eq!(h.buckets.first().map(|b| b.start), Some(at(0)));
        assert_eq!(
            counts(&h).iter().sum::<u64>(),
            4,
            "the other tenant's alert is not counted"
        );
        assert_eq!(counts(&h)[..3], [1, 2, 0]);
        assert_eq!(counts(&h).last(), Some(&1));

        // A fixed range and a level floor.
        let f = AlertFilter {
            min_level: Some("high".into()),
            from: Some(at(0)),
            to: Some(at(10)),
            ..AlertFilter::default()
        };
        let h = histogram_of(&s, &acme, &f, 2).expect("histogram");
        assert_eq!((h.total, h.bucket_seconds), (2, 300));
        assert_eq!(counts(&h), [1, 1]);

        // Nothing matches: no buckets, no error; one bucket holds everything.
        let none = TenantId::new("nobody").expect("tenant");
        let h = histogram_of(&s, &none, &all, 40).expect("histogram");
        assert_eq!((h.total, h.buckets.len()), (0, 0));
        let h = histogram_of(&s, &acme, &all, 1).expect("histogram");
        assert_eq!(counts(&h), [4]);
    }
}
