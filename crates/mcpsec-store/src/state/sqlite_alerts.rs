//! [`AlertStore`] on SQLite.

use super::alerts::{
    Alert, AlertChange, AlertFilter, AlertKind, AlertPage, AlertStatus, AlertStore, AlertSummary,
    DetectionOffset, level_rank,
};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

/// Largest page of alerts returned at once.
pub const MAX_ALERT_PAGE: usize = 1000;

const COLUMNS: &str = "id, tenant, kind, rule_id, rule_title, rule_version, level, tags, \
    techniques, tactics, host, event_ids, events, event_count, grp, event_time, created_at, \
    seq, status, status_by, status_at";

fn json<T: serde::de::DeserializeOwned + Default>(s: String) -> T {
    serde_json::from_str(&s).unwrap_or_default()
}

fn row_to_alert(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let tenant: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let status: String = r.get(18)?;
    let grp: Option<String> = r.get(14)?;
    Ok(Alert {
        id: r.get(0)?,
        tenant: TenantId::new(&tenant).unwrap_or_else(|_| TenantId::default_tenant()),
        kind: AlertKind::parse(&kind),
        rule_id: r.get(3)?,
        rule_title: r.get(4)?,
        rule_version: r.get(5)?,
        level: r.get(6)?,
        tags: json(r.get(7)?),
        techniques: json(r.get(8)?),
        tactics: json(r.get(9)?),
        host: r.get(10)?,
        event_ids: json(r.get(11)?),
        events: json(r.get(12)?),
        event_count: r.get::<_, i64>(13)?.max(0) as u64,
        group: grp.and_then(|g| serde_json::from_str(&g).ok()),
        event_time: parse_ts(r.get(15)?).unwrap_or_default(),
        created_at: parse_ts(r.get(16)?).unwrap_or_default(),
        seq: r.get::<_, i64>(17)?.max(0) as u64,
        status: AlertStatus::parse(&status).unwrap_or(AlertStatus::Open),
        status_by: r.get(19)?,
        status_at: parse_ts(r.get(20)?),
    })
}

/// `WHERE` clause and its parameters for a filter.
pub(super) fn where_clause(tenant: &TenantId, f: &AlertFilter) -> (String, Vec<Sql>) {
    let mut sql = String::from("tenant = ?");
    let mut args: Vec<Sql> = vec![Sql::Text(tenant.as_str().to_owned())];
    let mut any_of = |sql: &mut String, col: &str, vals: Vec<String>| {
        if vals.is_empty() {
            return;
        }
        sql.push_str(&format!(
            " AND {col} IN ({})",
            vec!["?"; vals.len()].join(",")
        ));
        args.extend(vals.into_iter().map(Sql::Text));
    };
    any_of(
        &mut sql,
        "level",
        f.levels.iter().map(|l| l.to_ascii_lowercase()).collect(),
    );
    any_of(
        &mut sql,
        "status",
        f.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
    );
    if let Some(r) = &f.rule_id {
        sql.push_str(" AND rule_id = ?");
        args.push(Sql::Text(r.clone()));
    }
    if let Some(h) = &f.host {
        sql.push_str(" AND host = ?");
        args.push(Sql::Text(h.clone()));
    }
    if let Some(l) = &f.min_level {
        sql.push_str(" AND level_rank >= ?");
        args.push(Sql::Integer(level_rank(l).into()));
    }
    if let Some(t) = &f.from {
        sql.push_str(" AND event_time >= ?");
        args.push(Sql::Text(ts(t)));
    }
    if let Some(t) = &f.to {
        sql.push_str(" AND event_time < ?");
        args.push(Sql::Text(ts(t)));
    }
    (sql, args)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

/// Inserts alerts inside a caller's transaction.
pub(super) fn insert_alerts(tx: &rusqlite::Transaction<'_>, alerts: &[Alert]) -> Result<()> {
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO alerts({COLUMNS}, level_rank) VALUES \
         (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)"
    ))?;
    for a in alerts {
        insert.execute(params![
            a.id,
            a.tenant.as_str(),
            a.kind.as_str(),
            a.rule_id,
            a.rule_title,
            a.rule_version,
            a.level.to_ascii_lowercase(),
            to_json(&a.tags)?,
            to_json(&a.techniques)?,
            to_json(&a.tactics)?,
            a.host,
            to_json(&a.event_ids)?,
            to_json(&a.events)?,
            a.event_count as i64,
            a.group.as_ref().map(to_json).transpose()?,
            ts(&a.event_time),
            ts(&a.created_at),
            a.seq as i64,
            a.status.as_str(),
            a.status_by,
            a.status_at.as_ref().map(ts),
            level_rank(&a.level),
        ])?;
    }
    Ok(())
}

impl AlertStore for SqliteState {
    fn commit_detections(
        &self,
        consumer: &str,
        alerts: &[Alert],
        offset: &DetectionOffset,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            insert_alerts(&tx, alerts)?;
            tx.execute(
                "INSERT INTO detection_offsets(consumer, seq, state, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT(consumer) DO UPDATE SET \
                 seq = excluded.seq, state = excluded.state, updated_at = excluded.updated_at",
                params![consumer, offset.seq as i64, offset.state, ts(&Utc::now())],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn detection_offset(&self, consumer: &str) -> Result<Option<DetectionOffset>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq, state FROM detection_offsets WHERE consumer = ?1",
                [consumer],
                |r| {
                    Ok(DetectionOffset {
                        seq: r.get::<_, i64>(0)?.max(0) as u64,
                        state: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn list_alerts(&self, tenant: &TenantId, f: &AlertFilter) -> Result<AlertPage> {
        let (cond, mut args) = where_clause(tenant, f);
        let conn = self.conn();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM alerts WHERE {cond}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let limit = f.limit.clamp(1, MAX_ALERT_PAGE);
        args.push(Sql::Integer(limit as i64));
        args.push(Sql::Integer(f.offset.min(i64::MAX as usize) as i64));
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM alerts WHERE {cond} \
             ORDER BY event_time DESC, id DESC LIMIT ? OFFSET ?"
        ))?;
        let alerts = stmt
            .query_map(params_from_iter(args.iter()), row_to_alert)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(AlertPage {
            total: total.max(0) as u64,
            alerts,
        })
    }

    fn get_alert(&self, tenant: &TenantId, id: &str) -> Result<Option<Alert>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM alerts WHERE tenant = ?1 AND id = ?2"),
                params![tenant.as_str(), id],
                row_to_alert,
            )
            .optional()?)
    }

    fn set_alert_status(
        &self,
        tenant: &TenantId,
        ids: &[String],
        status: AlertStatus,
        actor: &str,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut changed = Vec::new();
        {
            let mut current =
                tx.prepare_cached("SELECT status FROM alerts WHERE tenant = ?1 AND id = ?2")?;
            let mut update = tx.prepare_cached(
                "UPDATE alerts SET status = ?3, status_by = ?4, status_at = ?5 \
                 WHERE tenant = ?1 AND id = ?2",
            )?;
            let mut history = tx.prepare_cached(
                "INSERT INTO alert_history(alert_id, tenant, at, actor, from_status, to_status, comment) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for id in ids {
                let before: Option<String> = current
                    .query_row(params![tenant.as_str(), id], |r| r.get(0))
                    .optional()?;
                let Some(before) = before else { continue };
                update.execute(params![
                    tenant.as_str(),
                    id,
                    status.as_str(),
                    actor,
                    ts(&at)
                ])?;
                history.execute(params![
                    id,
                    tenant.as_str(),
                    ts(&at),
                    actor,
                    before,
                    status.as_str(),
                    comment
                ])?;
                changed.push(id.clone());
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    fn alert_history(&self, tenant: &TenantId, id: &str) -> Result<Vec<AlertChange>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at, actor, from_status, to_status, comment FROM alert_history \
             WHERE tenant = ?1 AND alert_id = ?2 ORDER BY at, rowid",
        )?;
        let rows = stmt
            .query_map(params![tenant.as_str(), id], |r| {
                let from: String = r.get(2)?;
                let to: String = r.get(3)?;
                Ok(AlertChange {
                    at: parse_ts(r.get(0)?).unwrap_or_default(),
                    actor: r.get(1)?,
                    from: AlertStatus::parse(&from).unwrap_or(AlertStatus::Open),
                    to: AlertStatus::parse(&to).unwrap_or(AlertStatus::Open),
                    comment: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn alert_summary(
        &self,
        tenant: &TenantId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        top: usize,
    ) -> Result<AlertSummary> {
        let filter = AlertFilter {
            from,
            to,
            ..AlertFilter::default()
        };
        let (cond, args) = where_clause(tenant, &filter);
        let conn = self.conn();
        let pairs = |sql: String| -> Result<Vec<(String, u64)>> {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        let top = top.clamp(1, 1000);
        let by_level = pairs(format!(
            "SELECT level, COUNT(*) FROM alerts WHERE {cond} GROUP BY level ORDER BY MAX(level_rank) DESC"
        ))?;
        let by_status = pairs(format!(
            "SELECT status, COUNT(*) FROM alerts WHERE {cond} GROUP BY status ORDER BY status"
        ))?;
        let top_hosts = pairs(format!(
            "SELECT host, COUNT(*) AS n FROM alerts WHERE {cond} AND host IS NOT NULL \
             GROUP BY host ORDER BY n DESC, host LIMIT {top}"
        ))?;
        let mut stmt = conn.prepare(&format!(
            "SELECT rule_id, MAX(rule_title), COUNT(*) AS n FROM alerts WHERE {cond} \
             GROUP BY rule_id ORDER BY n DESC, rule_id LIMIT {top}"
        ))?;
        let top_rules = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(AlertSummary {
            total: by_level.iter().map(|(_, n)| n).sum(),
            by_level,
            by_status,
            top_rules,
            top_hosts,
        })
    }

    fn alert_triage(
        &self,
        tenant: &TenantId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        oldest: usize,
    ) -> Result<super::AlertTriage> {
        super::sqlite_triage::alert_triage(self, tenant, from, to, oldest)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub(in crate::state) fn alert(
        tenant: &str,
        id: &str,
        level: &str,
        minute: u32,
        host: &str,
    ) -> Alert {
        let t = DateTime::parse_from_rfc3339(&format!("2026-11-26T10:{minute:02}:00Z"))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        Alert {
            id: id.into(),
            tenant: TenantId::new(tenant).unwrap_or_else(|_| TenantId::default_tenant()),
            kind: AlertKind::Rule,
            rule_id: format!("rule-{level}"),
            rule_title: format!("Rule {level}"),
            rule_version: 1,
            level: level.into(),
            tags: vec!["attack.t1059".into()],
            techniques: vec!["T1059".into()],
            tactics: vec![],
            host: Some(host.into()),
            event_ids: vec![format!("ev-{id}")],
            events: vec![json!({"id": format!("ev-{id}")})],
            event_count: 1,
            group: None,
            event_time: t,
            created_at: t,
            seq: u64::from(minute),
            status: AlertStatus::Open,
            status_by: None,
            status_at: None,
        }
    }

    #[test]
    fn alerts_and_offset_commit_together_and_filter_per_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let a = [
            alert("acme", "a1", "high", 1, "web1"),
            alert("acme", "a2", "low", 2, "web2"),
            alert("acme", "a3", "critical", 3, "web1"),
            alert("other", "b1", "high", 4, "db1"),
        ];
        let off = DetectionOffset {
            seq: 4,
            state: Some(b"windows".to_vec()),
        };
        s.commit_detections("detect", &a, &off).expect("commit");
        assert_eq!(s.detection_offset("detect").expect("off"), Some(off));
        let acme = TenantId::new("acme").expect("tenant");
        let all = s
            .list_alerts(
                &acme,
                &AlertFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("list");
        assert_eq!(all.total, 3);
        let ids: Vec<_> = all.alerts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a3", "a2", "a1"], "newest event first");
        assert_eq!(all.alerts[2], a[0], "round trip keeps every field");
        let high = s
            .list_alerts(
                &acme,
                &AlertFilter {
                    min_level: Some("high".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("list");
        assert_eq!(high.total, 2);
        assert!(
            s.get_alert(&acme, "b1").expect("get").is_none(),
            "other tenant's alert"
        );
        let sum = s.alert_summary(&acme, None, None, 5).expect("summary");
        assert_eq!(sum.total, 3);
        assert_eq!(sum.by_level[0], ("critical".to_string(), 1));
        assert_eq!(sum.top_hosts[0], ("web1".to_string(), 2));
    }

    #[test]
    fn status_changes_are_recorded_and_scoped_to_the_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let a = [
            alert("acme", "a1", "high", 1, "h"),
            alert("other", "b1", "high", 2, "h"),
        ];
        s.commit_detections("d", &a, &DetectionOffset::default())
            .expect("commit");
        let acme = TenantId::new("acme").expect("tenant");
        let changed = s
            .set_alert_status(
                &acme,
                &["a1".into(), "b1".into(), "nope".into()],
                AlertStatus::Acknowledged,
                "key-1",
                Some("looking"),
                Utc::now(),
            )
            .expect("set");
        assert_eq!(changed, ["a1"]);
        let got = s.get_alert(&acme, "a1").expect("get").expect("some");
        assert_eq!(got.status, AlertStatus::Acknowledged);
        assert_eq!(got.status_by.as_deref(), Some("key-1"));
        let h = s.alert_history(&acme, "a1").expect("history");
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].from, h[0].to),
            (AlertStatus::Open, AlertStatus::Acknowledged)
        );
        let other = TenantId::new("other").expect("tenant");
        let b = s.get_alert(&other, "b1").expect("get").expect("some");
        assert_eq!(b.status, AlertStatus::Open, "untouched by acme");
    }
}
