//! [`AlertTriage`] on SQLite: response times from the status history, open alerts, and
//! fired techniques through `json_each` over the stored tag columns.

use super::alerts::{AlertFilter, AlertStatus};
use super::sqlite::{SqliteState, parse_ts};
use super::sqlite_alerts::where_clause;
use super::triage::{AlertTriage, Durations, OpenAlert};
use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::params_from_iter;

/// Seconds between two stored timestamps, when both parse.
fn seconds(from: Option<String>, to: Option<String>) -> Option<f64> {
    let (a, b) = (parse_ts(from)?, parse_ts(to)?);
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

pub(super) fn alert_triage(
    state: &SqliteState,
    tenant: &TenantId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    oldest: usize,
) -> Result<AlertTriage> {
    let filter = AlertFilter {
        from,
        to,
        ..AlertFilter::default()
    };
    let (cond, args) = where_clause(tenant, &filter);
    let conn = state.conn();
    // One row per alert: when it was raised, first answered, first resolved, and
    // whether it was ever called a false positive. The history is indexed by
    // (tenant, alert_id, at), so each sub-query is an index range.
    let mut stmt = conn.prepare(&format!(
        "SELECT a.created_at, \
           (SELECT MIN(h.at) FROM alert_history h WHERE h.tenant = a.tenant AND h.alert_id = a.id \
              AND h.from_status = 'open' AND h.to_status <> 'open'), \
           (SELECT MIN(h.at) FROM alert_history h WHERE h.tenant = a.tenant AND h.alert_id = a.id \
              AND h.to_status IN ('closed', 'false_positive')), \
           EXISTS (SELECT 1 FROM alert_history h WHERE h.tenant = a.tenant AND h.alert_id = a.id \
              AND h.to_status = 'false_positive') \
         FROM alerts a WHERE {cond}"
    ))?;
    let mut answer = Vec::new();
    let mut resolve = Vec::new();
    let mut false_positives = 0u64;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let created: Option<String> = r.get(0)?;
        if let Some(s) = seconds(created.clone(), r.get(1)?) {
            answer.push(s);
        }
        if let Some(s) = seconds(created, r.get(2)?) {
            resolve.push(s);
        }
        if r.get::<_, bool>(3)? {
            false_positives += 1;
        }
    }
    drop(rows);
    drop(stmt);

    let oldest = oldest.min(1000);
    let mut open_args = args.clone();
    open_args.push(rusqlite::types::Value::Text(
        AlertStatus::Open.as_str().to_owned(),
    ));
    let mut stmt = conn.prepare(&format!(
        "SELECT id, rule_title, level, host, created_at FROM alerts \
         WHERE {cond} AND status = ? ORDER BY created_at, id LIMIT {oldest}"
    ))?;
    let oldest_open = stmt
        .query_map(params_from_iter(open_args.iter()), |r| {
            Ok(OpenAlert {
                id: r.get(0)?,
                rule_title: r.get(1)?,
                level: r.get(2)?,
                host: r.get(3)?,
                created_at: parse_ts(r.get(4)?).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);

    let tally = |column: &str| -> Result<Vec<(String, u64)>> {
        let mut stmt = conn.prepare(&format!(
            "SELECT j.value, COUNT(*) AS n FROM alerts, json_each(alerts.{column}) AS j \
             WHERE {cond} AND json_valid(alerts.{column}) GROUP BY j.value ORDER BY n DESC, j.value"
        ))?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    };
    let techniques = tally("techniques")?;
    let tactics = tally("tactics")?;
    Ok(AlertTriage {
        time_to_answer: Durations::of(answer),
        time_to_resolve: Durations::of(resolve),
        false_positives,
        oldest_open,
        techniques,
        tactics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::alerts::{AlertStore, DetectionOffset};
    use crate::state::sqlite_alerts::tests::alert;
    use chrono::Duration;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
            + Duration::minutes(minute)
    }

    #[test]
    fn response_times_open_alerts_and_techniques_per_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let mut a3 = alert("acme", "a3", "critical", 3, "web1");
        a3.techniques = vec!["T1059".into(), "T1003".into()];
        a3.tactics = vec!["execution".into(), "credential-access".into()];
        let alerts = [
            alert("acme", "a1", "high", 1, "web1"),
            alert("acme", "a2", "low", 2, "web2"),
            a3,
            alert("acme", "a4", "low", 4, "web2"),
            alert("other", "b1", "high", 5, "db1"),
        ];
        let off = DetectionOffset {
            seq: 5,
            state: None,
        };
        s.commit_detections("detect", &alerts, &off)
            .expect("commit");
        let t = TenantId::new("acme").expect("t");
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        // a1: acknowledged after 10 min, closed after 30; a2: false positive after 4 min;
        // a3 and a4 stay open. b1 (another tenant) is answered at once and must not count.
        s.set_alert_status(
            &t,
            &ids(&["a1"]),
            AlertStatus::Acknowledged,
            "ann",
            None,
            at(11),
        )
        .expect("ack");
        s.set_alert_status(&t, &ids(&["a1"]), AlertStatus::Closed, "ann", None, at(31))
            .expect("close");
        s.set_alert_status(
            &t,
            &ids(&["a2"]),
            AlertStatus::FalsePositive,
            "bob",
            None,
            at(6),
        )
        .expect("fp");
        let other = TenantId::new("other").expect("t");
        s.set_alert_status(
            &other,
            &ids(&["b1"]),
            AlertStatus::Closed,
            "eve",
            None,
            at(5),
        )
        .expect("b1");

        let tr = s.alert_triage(&t, None, None, 10).expect("triage");
        assert_eq!(tr.time_to_answer.count, 2);
        assert_eq!(tr.time_to_answer.mean_seconds, Some(420.0)); // (600 + 240) / 2
        assert_eq!(tr.time_to_answer.median_seconds, Some(420.0));
        assert_eq!(tr.time_to_answer.p90_seconds, Some(600.0));
        assert_eq!(tr.time_to_resolve.count, 2);
        assert_eq!(tr.time_to_resolve.mean_seconds, Some(1020.0)); // (1800 + 240) / 2
        assert_eq!(tr.false_positives, 1);
        let open: Vec<&str> = tr.oldest_open.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(open, ["a3", "a4"]);
        assert_eq!(
            tr.techniques,
            vec![("T1059".to_owned(), 4), ("T1003".to_owned(), 1)]
        );
        assert_eq!(
            tr.tactics,
            vec![
                ("credential-access".to_owned(), 1),
                ("execution".to_owned(), 1)
            ]
        );

        // The period bounds by event time; an empty period has no figures at all.
        let late = s.alert_triage(&t, Some(at(3)), None, 1).expect("late");
        assert_eq!(late.oldest_open.len(), 1);
        assert_eq!(late.time_to_answer, Durations::default());
        let none = s.alert_triage(&t, Some(at(100)), None, 5).expect("none");
        assert_eq!(none, AlertTriage::default());
    }

    #[test]
    fn durations_of_one_and_of_skewed_clocks() {
        let d = Durations::of(vec![-5.0]);
        assert_eq!(d.mean_seconds, Some(0.0));
        assert_eq!(d.p90_seconds, Some(0.0));
        let d = Durations::of((1..=10).map(f64::from).collect());
        assert_eq!(d.median_seconds, Some(5.5));
        assert_eq!(d.p90_seconds, Some(9.0));
    }
}
