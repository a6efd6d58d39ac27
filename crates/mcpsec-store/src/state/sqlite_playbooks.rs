//! [`PlaybookStore`] on SQLite.

use super::playbooks::{
    ApprovalDecision, ApprovalRecord, PlaybookStore, PlaybookVersion, RunFilter, RunRecord,
    StepRunRecord, StoredPlaybook,
};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, Row, params};
use serde_json::Value;

fn tenant_of(s: String) -> TenantId {
    TenantId::new(&s).unwrap_or_else(|_| TenantId::default_tenant())
}

fn json_of(s: Option<String>) -> Option<Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

const PB_COLUMNS: &str =
    "tenant, id, name, version, yaml, enabled, created_at, updated_at, updated_by";

fn row_to_playbook(r: &Row<'_>) -> rusqlite::Result<StoredPlaybook> {
    Ok(StoredPlaybook {
        tenant: tenant_of(r.get(0)?),
        id: r.get(1)?,
        name: r.get(2)?,
        version: r.get(3)?,
        yaml: r.get(4)?,
        enabled: r.get(5)?,
        created_at: parse_ts(r.get(6)?).unwrap_or_default(),
        updated_at: parse_ts(r.get(7)?).unwrap_or_default(),
        updated_by: r.get(8)?,
    })
}

const RUN_COLUMNS: &str = "id, tenant, playbook_id, playbook_version, playbook_yaml, alert_id, \
     trigger, actor, status, context, error, created_at, updated_at, finished_at";

fn row_to_run(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        tenant: tenant_of(r.get(1)?),
        playbook_id: r.get(2)?,
        playbook_version: r.get(3)?,
        playbook_yaml: r.get(4)?,
        alert_id: r.get(5)?,
        trigger: r.get(6)?,
        actor: r.get(7)?,
        status: r.get(8)?,
        context: json_of(r.get(9)?).unwrap_or(Value::Null),
        error: r.get(10)?,
        created_at: parse_ts(r.get(11)?).unwrap_or_default(),
        updated_at: parse_ts(r.get(12)?).unwrap_or_default(),
        finished_at: parse_ts(r.get(13)?),
    })
}

const STEP_COLUMNS: &str = "run_id, step_id, item, status, attempt, input, output, error, actor, \
     started_at, finished_at, duration_ms";

fn row_to_step(r: &Row<'_>) -> rusqlite::Result<StepRunRecord> {
    Ok(StepRunRecord {
        run_id: r.get(0)?,
        step_id: r.get(1)?,
        item: r.get(2)?,
        status: r.get(3)?,
        attempt: r.get(4)?,
        input: json_of(r.get(5)?),
        output: json_of(r.get(6)?),
        error: r.get(7)?,
        actor: r.get(8)?,
        started_at: parse_ts(r.get(9)?),
        finished_at: parse_ts(r.get(10)?),
        duration_ms: r.get::<_, Option<i64>>(11)?.map(|d| d.max(0) as u64),
    })
}

const APPROVAL_COLUMNS: &str = "run_id, step_id, tenant, playbook_id, alert_id, role, approvers, \
     min, deadline, status, escalated, created_at, decided_at";

fn row_to_approval(r: &Row<'_>) -> rusqlite::Result<ApprovalRecord> {
    Ok(ApprovalRecord {
        run_id: r.get(0)?,
        step_id: r.get(1)?,
        tenant: tenant_of(r.get(2)?),
        playbook_id: r.get(3)?,
        alert_id: r.get(4)?,
        role: r.get(5)?,
        approvers: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
        min: r.get(7)?,
        deadline: parse_ts(r.get(8)?).unwrap_or_default(),
        status: r.get(9)?,
        escalated: r.get(10)?,
        created_at: parse_ts(r.get(11)?).unwrap_or_default(),
        decided_at: parse_ts(r.get(12)?),
    })
}

fn opt_json(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

impl PlaybookStore for SqliteState {
    fn put_playbook(
        &self,
        tenant: &TenantId,
        id: &str,
        name: &str,
        yaml: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<(u32, String)> = tx
            .query_row(
                "SELECT version, yaml FROM playbooks WHERE tenant = ?1 AND id = ?2",
                params![tenant.as_str(), id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let version = match current {
            Some((v, old)) if old == yaml => return Ok(v),
            Some((v, _)) => {
                tx.execute(
                    "UPDATE playbooks SET name = ?3, version = ?4, yaml = ?5, updated_at = ?6, updated_by = ?7 \
                     WHERE tenant = ?1 AND id = ?2",
                    params![tenant.as_str(), id, name, v + 1, yaml, ts(&at), actor],
                )?;
                v + 1
            }
            None => {
                // After a deletion the history stays: numbering goes on from it, so a
                // run's version always names one text.
                let last: u32 = tx.query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM playbook_versions WHERE tenant = ?1 AND id = ?2",
                    params![tenant.as_str(), id],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO playbooks(tenant, id, name, version, yaml, enabled, created_at, updated_at, updated_by) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
                    params![tenant.as_str(), id, name, last + 1, yaml, ts(&at), actor],
                )?;
                last + 1
            }
        };
        tx.execute(
            "INSERT INTO playbook_versions(tenant, id, version, yaml, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![tenant.as_str(), id, version, yaml, actor, ts(&at)],
        )?;
        tx.commit()?;
        Ok(version)
    }

    fn get_playbook(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredPlaybook>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {PB_COLUMNS} FROM playbooks WHERE tenant = ?1 AND id = ?2"),
                params![tenant.as_str(), id],
                row_to_playbook,
            )
            .optional()?)
    }

    fn list_playbooks(&self, tenant: &TenantId) -> Result<Vec<StoredPlaybook>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {PB_COLUMNS} FROM playbooks WHERE tenant = ?1 ORDER BY id"
        ))?;
        let rows = st
            .query_map([tenant.as_str()], row_to_playbook)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn playbook_versions(&self, tenant: &TenantId, id: &str) -> Result<Vec<PlaybookVersion>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT version, yaml, actor, at FROM playbook_versions WHERE tenant = ?1 AND id = ?2 ORDER BY version",
        )?;
        let rows = st
            .query_map(params![tenant.as_str(), id], |r| {
                Ok(PlaybookVersion {
                    version: r.get(0)?,
                    yaml: r.get(1)?,
                    actor: r.get(2)?,
                    at: parse_ts(r.get(3)?).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_playbook_enabled(
        &self,
        tenant: &TenantId,
        id: &str,
        enabled: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE playbooks SET enabled = ?3, updated_at = ?4, updated_by = ?5 WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id, enabled, ts(&at), actor],
        )?;
        Ok(n == 1)
    }

    fn delete_playbook(&self, tenant: &TenantId, id: &str) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM playbooks WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
        )?;
        Ok(n == 1)
    }

    fn enabled_playbooks(&self) -> Result<Vec<StoredPlaybook>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {PB_COLUMNS} FROM playbooks WHERE enabled = 1 ORDER BY tenant, id"
        ))?;
        let rows = st
            .query_map([], row_to_playbook)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn create_run(&self, run: &RunRecord) -> Result<()> {
        self.conn().execute(
            &format!("INSERT INTO playbook_runs({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
            params![
                run.id,
                run.tenant.as_str(),
                run.playbook_id,
                run.playbook_version,
                run.playbook_yaml,
                run.alert_id,
                run.trigger,
                run.actor,
                run.status,
                run.context.to_string(),
                run.error,
                ts(&run.created_at),
                ts(&run.updated_at),
                run.finished_at.as_ref().map(ts),
            ],
        )?;
        Ok(())
    }

    fn update_run(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE playbook_runs SET status = ?2, error = ?3, finished_at = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, status, error, finished_at.as_ref().map(ts), ts(&Utc::now())],
        )?;
        Ok(())
    }

    fn get_run(&self, tenant: Option<&TenantId>, id: &str) -> Result<Option<RunRecord>> {
        let conn = self.conn();
        let run = conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM playbook_runs WHERE id = ?1"),
                [id],
                row_to_run,
            )
            .optional()?;
        Ok(run.filter(|r| tenant.is_none_or(|t| *t == r.tenant)))
    }

    fn list_runs(&self, tenant: &TenantId, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE tenant = ?1 \
             AND (?2 IS NULL OR playbook_id = ?2) AND (?3 IS NULL OR alert_id = ?3) \
             AND (?4 IS NULL OR status = ?4) ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let limit = if filter.limit == 0 {
            100
        } else {
            filter.limit.min(500)
        };
        let rows = st
            .query_map(
                params![
                    tenant.as_str(),
                    filter.playbook_id,
                    filter.alert_id,
                    filter.status,
                    limit as i64,
                    filter.offset as i64
                ],
                row_to_run,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn unfinished_runs(&self) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE status IN ('running', 'waiting') ORDER BY created_at"
        ))?;
        let rows = st
            .query_map([], row_to_run)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn put_step_run(&self, s: &StepRunRecord) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT OR REPLACE INTO playbook_step_runs({STEP_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                s.run_id,
                s.step_id,
                s.item,
                s.status,
                s.attempt,
                opt_json(&s.input),
                opt_json(&s.output),
                s.error,
                s.actor,
                s.started_at.as_ref().map(ts),
                s.finished_at.as_ref().map(ts),
                s.duration_ms.map(|d| d.min(i64::MAX as u64) as i64),
            ],
        )?;
        Ok(())
    }

    fn step_runs(&self, run_id: &str) -> Result<Vec<StepRunRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {STEP_COLUMNS} FROM playbook_step_runs WHERE run_id = ?1 \
             ORDER BY COALESCE(started_at, finished_at, ''), step_id, item"
        ))?;
        let rows = st
            .query_map([run_id], row_to_step)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn put_approval(&self, a: &ApprovalRecord) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT OR REPLACE INTO playbook_approvals({APPROVAL_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            params![
                a.run_id,
                a.step_id,
                a.tenant.as_str(),
                a.playbook_id,
                a.alert_id,
                a.role,
                serde_json::to_string(&a.approvers).unwrap_or_else(|_| "[]".into()),
                a.min,
                ts(&a.deadline),
                a.status,
                a.escalated,
                ts(&a.created_at),
                a.decided_at.as_ref().map(ts),
            ],
        )?;
        Ok(())
    }

    fn approvals(&self, run_id: &str) -> Result<Vec<ApprovalRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM playbook_approvals WHERE run_id = ?1 ORDER BY created_at"
        ))?;
        let rows = st
            .query_map([run_id], row_to_approval)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<ApprovalRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM playbook_approvals WHERE tenant = ?1 AND status = 'pending' \
             ORDER BY created_at"
        ))?;
        let rows = st
            .query_map([tenant.as_str()], row_to_approval)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_decision(&self, d: &ApprovalDecision) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO playbook_decisions(run_id, step_id, actor, role, approve, comment, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![d.run_id, d.step_id, d.actor, d.role, d.approve, d.comment, ts(&d.at)],
        )?;
        Ok(n == 1)
    }

    fn decisions(&self, run_id: &str, step_id: &str) -> Result<Vec<ApprovalDecision>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT run_id, step_id, actor, role, approve, comment, at FROM playbook_decisions \
             WHERE run_id = ?1 AND step_id = ?2 ORDER BY at, actor",
        )?;
        let rows = st
            .query_map(params![run_id, step_id], |r| {
                Ok(ApprovalDecision {
                    run_id: r.get(0)?,
                    step_id: r.get(1)?,
                    actor: r.get(2)?,
                    role: r.get(3)?,
                    approve: r.get(4)?,
                    comment: r.get(5)?,
                    at: parse_ts(r.get(6)?).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteState;

    fn t(n: &str) -> TenantId {
        TenantId::new(n).unwrap_or_else(|_| TenantId::default_tenant())
    }

    #[test]
    fn deleting_keeps_the_history_and_numbering_goes_on() -> Result<()> {
        let s = SqliteState::in_memory()?;
        let (a, b) = (t("a"), t("b"));
        let now = Utc::now();
        s.put_playbook(&a, "p", "P", "x: 1", "k", now)?;
        s.put_playbook(&a, "p", "P", "x: 2", "k", now)?;
        assert!(
            !s.delete_playbook(&b, "p")?,
            "another tenant's playbook is not touched"
        );
        assert!(s.get_playbook(&a, "p")?.is_some());
        assert!(s.delete_playbook(&a, "p")?);
        assert!(!s.delete_playbook(&a, "p")?);
        assert!(s.get_playbook(&a, "p")?.is_none());
        assert_eq!(s.playbook_versions(&a, "p")?.len(), 2);
        assert_eq!(s.put_playbook(&a, "p", "P", "x: 1", "k", now)?, 3);
        let versions: Vec<u32> = s
            .playbook_versions(&a, "p")?
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(versions, vec![1, 2, 3]);
        Ok(())
    }

    #[test]
    fn versions_grow_only_on_change_and_runs_stay_in_their_tenant() -> Result<()> {
        let s = SqliteState::in_memory()?;
        let (a, b) = (t("a"), t("b"));
        let now = Utc::now();
        assert_eq!(s.put_playbook(&a, "p", "P", "x: 1", "k", now)?, 1);
        assert_eq!(s.put_playbook(&a, "p", "P", "x: 1", "k", now)?, 1);
        assert_eq!(s.put_playbook(&a, "p", "P", "x: 2", "k", now)?, 2);
        assert_eq!(s.playbook_versions(&a, "p")?.len(), 2);
        assert!(s.get_playbook(&b, "p")?.is_none());
        assert!(s.list_playbooks(&b)?.is_empty());
        assert!(s.set_playbook_enabled(&a, "p", false, "k", now)?);
        assert!(!s.set_playbook_enabled(&b, "p", false, "k", now)?);
        assert!(s.enabled_playbooks()?.is_empty());
        let run = RunRecord {
            id: "r1".into(),
            tenant: a.clone(),
            playbook_id: "p".into(),
            playbook_version: 2,
            playbook_yaml: "x: 2".into(),
            alert_id: Some("al".into()),
            trigger: "manual".into(),
            actor: "k".into(),
            status: "running".into(),
            context: serde_json::json!({"alert": null}),
            error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        s.create_run(&run)?;
        assert!(s.get_run(Some(&b), "r1")?.is_none());
        assert_eq!(
            s.get_run(Some(&a), "r1")?.map(|r| r.playbook_yaml),
            Some("x: 2".into())
        );
        assert_eq!(s.unfinished_runs()?.len(), 1);
        s.update_run("r1", "succeeded", None, Some(now))?;
        assert!(s.unfinished_runs()?.is_empty());
        let filter = RunFilter {
            alert_id: Some("al".into()),
            ..RunFilter::default()
        };
        assert_eq!(s.list_runs(&a, &filter)?.len(), 1);
        assert!(s.list_runs(&b, &filter)?.is_empty());
        let d = ApprovalDecision {
            run_id: "r1".into(),
            step_id: "s".into(),
            actor: "alice".into(),
            role: "responder".into(),
            approve: true,
            comment: None,
            at: now,
        };
        assert!(s.add_decision(&d)?);
        assert!(!s.add_decision(&d)?, "one decision per person");
        assert_eq!(s.decisions("r1", "s")?.len(), 1);
        Ok(())
    }
}
