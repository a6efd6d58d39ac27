//! [`ScheduleStore`] on SQLite.

use super::reports::{ReportSchedule, ScheduleStore};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, Row, params};

const COLUMNS: &str = "id, tenant, name, kind, format, cron, timezone, period_secs, delivery, \
    enabled, created_by, created_at, next_run, last_run, last_job, last_error, project, framework";

fn row_to_schedule(r: &Row<'_>) -> rusqlite::Result<ReportSchedule> {
    let tenant: String = r.get(1)?;
    let delivery: String = r.get(8)?;
    Ok(ReportSchedule {
        id: r.get(0)?,
        tenant: TenantId::new(&tenant).unwrap_or_else(|_| TenantId::default_tenant()),
        name: r.get(2)?,
        kind: r.get(3)?,
        format: r.get(4)?,
        cron: r.get(5)?,
        timezone: r.get(6)?,
        period_secs: r.get::<_, i64>(7)?.max(0) as u64,
        delivery: serde_json::from_str(&delivery).unwrap_or_default(),
        enabled: r.get(9)?,
        created_by: r.get(10)?,
        created_at: parse_ts(r.get(11)?).unwrap_or_default(),
        next_run: parse_ts(r.get(12)?).unwrap_or_default(),
        last_run: parse_ts(r.get(13)?),
        last_job: r.get(14)?,
        last_error: r.get(15)?,
        project: r.get(16)?,
        framework: r.get(17)?,
    })
}

impl ScheduleStore for SqliteState {
    fn add_report_schedule(&self, s: &ReportSchedule) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO report_schedules ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
            ),
            params![
                s.id,
                s.tenant.as_str(),
                s.name,
                s.kind,
                s.format,
                s.cron,
                s.timezone,
                s.period_secs as i64,
                s.delivery.to_string(),
                s.enabled,
                s.created_by,
                ts(&s.created_at),
                ts(&s.next_run),
                s.last_run.as_ref().map(ts),
                s.last_job,
                s.last_error,
                s.project,
                s.framework,
            ],
        )?;
        Ok(())
    }

    fn report_schedule(&self, tenant: &TenantId, id: &str) -> Result<Option<ReportSchedule>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM report_schedules WHERE tenant = ?1 AND id = ?2"),
                params![tenant.as_str(), id],
                row_to_schedule,
            )
            .optional()?)
    }

    fn list_report_schedules(&self, tenant: &TenantId) -> Result<Vec<ReportSchedule>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM report_schedules WHERE tenant = ?1 ORDER BY name, id"
        ))?;
        let rows = stmt
            .query_map([tenant.as_str()], row_to_schedule)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn delete_report_schedule(&self, tenant: &TenantId, id: &str) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM report_schedules WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
        )?;
        Ok(n > 0)
    }

    fn due_report_schedules(&self, now: DateTime<Utc>) -> Result<Vec<ReportSchedule>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM report_schedules WHERE enabled = 1 AND next_run <= ?1 \
             ORDER BY next_run, id LIMIT 100"
        ))?;
        let rows = stmt
            .query_map([ts(&now)], row_to_schedule)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn mark_report_schedule_run(
        &self,
        id: &str,
        ran: DateTime<Utc>,
        job: &str,
        next: DateTime<Utc>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE report_schedules SET last_run = ?2, last_job = ?3, next_run = ?4, \
             last_error = NULL WHERE id = ?1",
            params![id, ts(&ran), job, ts(&next)],
        )?;
        Ok(())
    }

    fn set_report_schedule_error(&self, id: &str, error: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE report_schedules SET last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn due_schedules_come_from_every_tenant_and_move_on_after_a_run() {
        let s = SqliteState::in_memory().expect("db");
        let now = Utc::now();
        let sched = |tenant: &str, id: &str, next: DateTime<Utc>| ReportSchedule {
            id: id.into(),
            tenant: TenantId::new(tenant).expect("t"),
            name: format!("weekly {id}"),
            kind: "executive".into(),
            format: "pdf".into(),
            cron: "0 7 * * 1".into(),
            timezone: "Europe/Paris".into(),
            period_secs: 7 * 86_400,
            delivery: serde_json::json!({"webhook": {"url": "http://127.0.0.1:9/x"}}),
            enabled: true,
            created_by: "ann".into(),
            created_at: now,
            next_run: next,
            last_run: None,
            last_job: None,
            last_error: None,
            project: Some("storefront".into()),
            framework: Some("cis8".into()),
        };
        s.add_report_schedule(&sched("a", "s1", now - Duration::minutes(1)))
            .expect("s1");
        s.add_report_schedule(&sched("b", "s2", now - Duration::minutes(2)))
            .expect("s2");
        s.add_report_schedule(&sched("a", "s3", now + Duration::hours(1)))
            .expect("s3");
        let due: Vec<String> = s
            .due_report_schedules(now)
            .expect("due")
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, ["s2", "s1"]);
        s.mark_report_schedule_run("s1", now, "job1", now + Duration::days(7))
            .expect("mark");
        assert_eq!(s.due_report_schedules(now).expect("due").len(), 1);
        let a = TenantId::new("a").expect("a");
        let got = s.report_schedule(&a, "s1").expect("get").expect("s1");
        assert_eq!(got.last_job.as_deref(), Some("job1"));
        assert_eq!(got.project.as_deref(), Some("storefront"));
        assert_eq!(got.framework.as_deref(), Some("cis8"));
        assert_eq!(got.delivery["webhook"]["url"], "http://127.0.0.1:9/x");
        assert!(
            s.report_schedule(&TenantId::new("b").expect("b"), "s1")
                .expect("get")
                .is_none()
        );
        assert_eq!(s.list_report_schedules(&a).expect("list").len(), 2);
        assert!(
            !s.delete_report_schedule(&TenantId::new("b").expect("b"), "s1")
                .expect("del")
        );
        assert!(s.delete_report_schedule(&a, "s1").expect("del"));
    }
}
