//! [`ReportStore`] on SQLite; documents are BLOBs next to their job.

use super::reports::{ReportJob, ReportJobStatus, ReportShare, ReportStore};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

const JOB_COLUMNS: &str = "id, tenant, kind, format, period_from, period_to, status, error, \
    requested_by, created_at, finished_at, size, sha256, project, framework";

/// Counts and latest change times of every table a report reads, for one tenant: each
/// insert, delete or status change moves one of them.
const DATA_VERSION: &str = "SELECT \
    (SELECT count(*) || ':' || coalesce(max(seq), 0) || ':' || coalesce(max(status_at), '') \
        FROM alerts WHERE tenant = ?1) \
    || '|' || (SELECT count(*) FROM alert_history WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM rules WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM rule_switches WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM risk_assets WHERE tenant = ?1) \
    || '|' || (SELECT count(*) FROM risk_assessments WHERE tenant = ?1) \
    || '|' || (SELECT count(*) FROM risk_points WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM playbooks WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM playbook_runs WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(sum(status = 'pending'), 0) FROM playbook_approvals WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM projects WHERE tenant = ?1) \
    || '|' || (SELECT count(*) || ':' || coalesce(max(evaluated_at), '') FROM project_sboms WHERE tenant = ?1) \
    || '|' || (SELECT count(*) FROM project_vex WHERE tenant = ?1) \
    || '|' || coalesce((SELECT value FROM checkpoints WHERE name = 'supply.vulndb_generation'), '')";

fn tenant_of(s: String) -> TenantId {
    TenantId::new(&s).unwrap_or_else(|_| TenantId::default_tenant())
}

fn row_to_job(r: &Row<'_>) -> rusqlite::Result<ReportJob> {
    let status: String = r.get(6)?;
    Ok(ReportJob {
        id: r.get(0)?,
        tenant: tenant_of(r.get(1)?),
        kind: r.get(2)?,
        format: r.get(3)?,
        from: parse_ts(r.get(4)?),
        to: parse_ts(r.get(5)?),
        status: ReportJobStatus::parse(&status).unwrap_or(ReportJobStatus::Failed),
        error: r.get(7)?,
        requested_by: r.get(8)?,
        created_at: parse_ts(r.get(9)?).unwrap_or_default(),
        finished_at: parse_ts(r.get(10)?),
        size: r.get::<_, Option<i64>>(11)?.map(|n| n.max(0) as u64),
        sha256: r.get(12)?,
        project: r.get(13)?,
        framework: r.get(14)?,
    })
}

fn row_to_share(r: &Row<'_>) -> rusqlite::Result<ReportShare> {
    Ok(ReportShare {
        id: r.get(0)?,
        tenant: tenant_of(r.get(1)?),
        job_id: r.get(2)?,
        created_by: r.get(3)?,
        created_at: parse_ts(r.get(4)?).unwrap_or_default(),
        expires_at: parse_ts(r.get(5)?).unwrap_or_default(),
        revoked_at: parse_ts(r.get(6)?),
    })
}

const SHARE_COLUMNS: &str = "id, tenant, job_id, created_by, created_at, expires_at, revoked_at";

impl ReportStore for SqliteState {
    fn report_data_version(&self, tenant: &TenantId) -> Result<String> {
        Ok(self
            .conn()
            .query_row(DATA_VERSION, params![tenant.as_str()], |r| r.get(0))?)
    }

    fn add_report_job(&self, j: &ReportJob) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO report_jobs ({JOB_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ),
            params![
                j.id,
                j.tenant.as_str(),
                j.kind,
                j.format,
                j.from.as_ref().map(ts),
                j.to.as_ref().map(ts),
                j.status.as_str(),
                j.error,
                j.requested_by,
                ts(&j.created_at),
                j.finished_at.as_ref().map(ts),
                j.size.map(|n| n as i64),
                j.sha256,
                j.project,
                j.framework,
            ],
        )?;
        Ok(())
    }

    fn finish_report_job(
        &self,
        id: &str,
        status: ReportJobStatus,
        error: Option<&str>,
        document: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let finished = matches!(status, ReportJobStatus::Done | ReportJobStatus::Failed);
        let (size, sha) = match document {
            Some(d) => (Some(d.len() as i64), Some(hex::encode(Sha256::digest(d)))),
            None => (None, None),
        };
        tx.execute(
            "UPDATE report_jobs SET status = ?2, error = ?3, finished_at = ?4, size = ?5, \
             sha256 = ?6 WHERE id = ?1",
            params![
                id,
                status.as_str(),
                error,
                finished.then(|| ts(&at)),
                size,
                sha
            ],
        )?;
        if let Some(d) = document {
            tx.execute(
                "INSERT OR REPLACE INTO report_files (job_id, tenant, bytes) \
                 SELECT id, tenant, ?2 FROM report_jobs WHERE id = ?1",
                params![id, d],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn report_job(&self, tenant: &TenantId, id: &str) -> Result<Option<ReportJob>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM report_jobs WHERE tenant = ?1 AND id = ?2"),
                params![tenant.as_str(), id],
                row_to_job,
            )
            .optional()?)
    }

    fn list_report_jobs(&self, tenant: &TenantId, limit: usize) -> Result<Vec<ReportJob>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM report_jobs WHERE tenant = ?1 \
             ORDER BY created_at DESC, id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![tenant.as_str(), limit.min(1000) as i64], row_to_job)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn report_document(&self, tenant: &TenantId, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT bytes FROM report_files WHERE tenant = ?1 AND job_id = ?2",
                params![tenant.as_str(), id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn delete_report_job(&self, tenant: &TenantId, id: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM report_jobs WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.execute(
            "DELETE FROM report_files WHERE tenant = ?1 AND job_id = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.execute(
            "DELETE FROM report_shares WHERE tenant = ?1 AND job_id = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn unfinished_report_jobs(&self) -> Result<Vec<ReportJob>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM report_jobs WHERE status IN ('queued', 'running') \
             ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map([], row_to_job)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_report_share(&self, s: &ReportShare) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO report_shares ({SHARE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                s.id,
                s.tenant.as_str(),
                s.job_id,
                s.created_by,
                ts(&s.created_at),
                ts(&s.expires_at),
                s.revoked_at.as_ref().map(ts),
            ],
        )?;
        Ok(())
    }

    fn report_share(&self, id: &str) -> Result<Option<ReportShare>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {SHARE_COLUMNS} FROM report_shares WHERE id = ?1"),
                [id],
                row_to_share,
            )
            .optional()?)
    }

    fn list_report_shares(&self, tenant: &TenantId, job_id: &str) -> Result<Vec<ReportShare>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SHARE_COLUMNS} FROM report_shares WHERE tenant = ?1 AND job_id = ?2 \
             ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map(params![tenant.as_str(), job_id], row_to_share)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn revoke_report_share(&self, tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE report_shares SET revoked_at = ?3 \
             WHERE tenant = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![tenant.as_str(), id, ts(&at)],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn job(tenant: &str, id: &str) -> ReportJob {
        ReportJob {
            id: id.into(),
            tenant: TenantId::new(tenant).expect("t"),
            kind: "triage".into(),
            format: "pdf".into(),
            from: None,
            to: Some(Utc::now()),
            status: ReportJobStatus::Queued,
            error: None,
            requested_by: "ann".into(),
            created_at: Utc::now(),
            finished_at: None,
            size: None,
            sha256: None,
            project: Some("storefront".into()),
            framework: Some("soc2".into()),
        }
    }

    #[test]
    fn jobs_documents_and_shares_stay_with_their_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let (a, b) = (
            TenantId::new("a").expect("a"),
            TenantId::new("b").expect("b"),
        );
        s.add_report_job(&job("a", "j1")).expect("j1");
        s.add_report_job(&job("b", "j2")).expect("j2");
        s.add_report_job(&job("a", "j3")).expect("j3");
        assert_eq!(s.unfinished_report_jobs().expect("u").len(), 3);
        let back = s.report_job(&a, "j3").expect("get").expect("j3");
        assert_eq!(
            back.project.as_deref(),
            Some("storefront"),
            "kept for a re-run"
        );
        assert_eq!(back.framework.as_deref(), Some("soc2"), "kept for a re-run");
        s.finish_report_job(
            "j1",
            ReportJobStatus::Done,
            None,
            Some(b"%PDF-1.7"),
            Utc::now(),
        )
        .expect("done");
        s.finish_report_job(
            "j3",
            ReportJobStatus::Failed,
            Some("boom"),
            None,
            Utc::now(),
        )
        .expect("failed");
        let j1 = s.report_job(&a, "j1").expect("get").expect("j1");
        assert_eq!(j1.status, ReportJobStatus::Done);
        assert_eq!(j1.size, Some(8));
        assert_eq!(j1.sha256.as_deref().map(str::len), Some(64));
        assert!(
            s.report_job(&b, "j1").expect("get").is_none(),
            "b cannot see a's job"
        );
        assert!(s.report_document(&b, "j1").expect("doc").is_none());
        assert_eq!(
            s.report_document(&a, "j1").expect("doc").as_deref(),
            Some(&b"%PDF-1.7"[..])
        );
        assert_eq!(s.list_report_jobs(&a, 10).expect("list").len(), 2);
        assert_eq!(s.unfinished_report_jobs().expect("u").len(), 1, "j2 only");

        let share = ReportShare {
            id: "s1".into(),
            tenant: a.clone(),
            job_id: "j1".into(),
            created_by: "ann".into(),
            created_at: Utc::now(),
            expires_at: Utc::now() + Duration::hours(1),
            revoked_at: None,
        };
        s.add_report_share(&share).expect("share");
        assert!(
            !s.revoke_report_share(&b, "s1", Utc::now()).expect("r"),
            "not b's"
        );
        assert!(s.revoke_report_share(&a, "s1", Utc::now()).expect("r"));
        assert!(
            !s.revoke_report_share(&a, "s1", Utc::now()).expect("r"),
            "once"
        );
        assert!(
            s.report_share("s1")
                .expect("s")
                .expect("s1")
                .revoked_at
                .is_some()
        );
        assert!(!s.delete_report_job(&b, "j1").expect("del"));
        assert!(s.delete_report_job(&a, "j1").expect("del"));
        assert!(
            s.report_share("s1").expect("s").is_none(),
            "links go with the report"
        );
        assert!(s.report_document(&a, "j1").expect("doc").is_none());
    }

    #[test]
    fn the_data_version_moves_with_the_tenants_data_only() {
        use crate::state::StateStore as _;
        use crate::state::alerts::{AlertStatus, AlertStore, DetectionOffset};
        use crate::state::sqlite_alerts::tests::alert;
        let s = SqliteState::in_memory().expect("db");
        let (a, b) = (
            TenantId::new("acme").expect("t"),
            TenantId::new("other").expect("t"),
        );
        let empty = s.report_data_version(&a).expect("version");
        assert_eq!(empty, s.report_data_version(&b).expect("version"));
        s.commit_detections(
            "d",
            &[alert("acme", "a1", "high", 1, "h")],
            &DetectionOffset::default(),
        )
        .expect("commit");
        let one = s.report_data_version(&a).expect("version");
        assert_ne!(one, empty, "a new alert");
        assert_eq!(
            s.report_data_version(&b).expect("version"),
            empty,
            "not another tenant's"
        );
        s.set_alert_status(
            &a,
            &["a1".into()],
            AlertStatus::Acknowledged,
            "k",
            None,
            Utc::now(),
        )
        .expect("status");
        let acked = s.report_data_version(&a).expect("version");
        assert_ne!(acked, one, "a status change");
        assert_eq!(acked, s.report_data_version(&a).expect("version"), "stable");
        s.set_checkpoint("supply.vulndb_generation", "7")
            .expect("checkpoint");
        assert_ne!(
            s.report_data_version(&a).expect("version"),
            acked,
            "a new vulnerability database"
        );
    }
}
