//! [`RuleStore`] on SQLite.

use super::rules::{RuleStore, RuleVersion, RuleWrite, StoredRule};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;

const COLUMNS: &str =
    "tenant, id, version, title, level, status, enabled, yaml, created_at, updated_at, updated_by";

fn row_to_rule(r: &Row<'_>) -> rusqlite::Result<StoredRule> {
    let tenant: String = r.get(0)?;
    Ok(StoredRule {
        tenant: TenantId::new(&tenant).unwrap_or_else(|_| TenantId::default_tenant()),
        id: r.get(1)?,
        version: r.get(2)?,
        title: r.get(3)?,
        level: r.get(4)?,
        status: r.get(5)?,
        enabled: r.get(6)?,
        yaml: r.get(7)?,
        created_at: parse_ts(r.get(8)?).unwrap_or_default(),
        updated_at: parse_ts(r.get(9)?).unwrap_or_default(),
        updated_by: r.get(10)?,
    })
}

/// `(version, deleted)` of a rule row, deleted or not.
fn current(tx: &Transaction<'_>, tenant: &TenantId, id: &str) -> Result<Option<(u32, bool)>> {
    Ok(tx
        .query_row(
            "SELECT version, deleted FROM rules WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
fn record_version(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: &str,
    version: u32,
    change: &str,
    yaml: &str,
    enabled: bool,
    actor: &str,
    at: &DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO rule_versions(tenant, id, version, change, yaml, enabled, actor, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            tenant.as_str(),
            id,
            version,
            change,
            yaml,
            enabled,
            actor,
            ts(at)
        ],
    )?;
    Ok(())
}

impl RuleStore for SqliteState {
    fn write_rule(&self, tenant: &TenantId, change: &str, w: &RuleWrite<'_>) -> Result<StoredRule> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = current(&tx, tenant, w.id)?;
        let version = match (now, w.expected_version) {
            (Some((_, false)), None) => {
                return Err(StoreError::Conflict(format!(
                    "rule {} exists already; update it with its current version",
                    w.id
                )));
            }
            (Some((v, true)), None) => v + 1,
            (None, None) => 1,
            (Some((v, false)), Some(e)) if v == e => v + 1,
            (Some((v, false)), Some(e)) => {
                return Err(StoreError::Conflict(format!(
                    "rule {} is at version {v}, not {e}: reload it and apply the change again",
                    w.id
                )));
            }
            (_, Some(_)) => return Err(StoreError::NotFound(format!("rule {}", w.id))),
        };
        let at = ts(&w.at);
        tx.execute(
            "INSERT INTO rules(tenant, id, version, title, level, status, enabled, deleted, yaml, \
               created_at, updated_at, updated_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?9, ?10) \
             ON CONFLICT(tenant, id) DO UPDATE SET version = excluded.version, \
               title = excluded.title, level = excluded.level, status = excluded.status, \
               enabled = excluded.enabled, deleted = 0, yaml = excluded.yaml, \
               updated_at = excluded.updated_at, updated_by = excluded.updated_by, \
               created_at = CASE WHEN rules.deleted = 1 THEN excluded.created_at ELSE rules.created_at END",
            params![
                tenant.as_str(),
                w.id,
                version,
                w.title,
                w.level,
                w.status,
                w.enabled,
                w.yaml,
                at,
                w.actor
            ],
        )?;
        record_version(
            &tx, tenant, w.id, version, change, w.yaml, w.enabled, w.actor, &w.at,
        )?;
        let stored = tx.query_row(
            &format!("SELECT {COLUMNS} FROM rules WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), w.id],
            row_to_rule,
        )?;
        tx.commit()?;
        Ok(stored)
    }

    fn get_rule(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredRule>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM rules WHERE tenant = ?1 AND id = ?2 AND deleted = 0"
                ),
                params![tenant.as_str(), id],
                row_to_rule,
            )
            .optional()?)
    }

    fn list_rules(&self, tenant: &TenantId) -> Result<Vec<StoredRule>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM rules WHERE tenant = ?1 AND deleted = 0 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([tenant.as_str()], row_to_rule)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn delete_rule(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some((version, false)) = current(&tx, tenant, id)? else {
            return Ok(false);
        };
        let (yaml, enabled): (String, bool) = tx.query_row(
            "SELECT yaml, enabled FROM rules WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.execute(
            "UPDATE rules SET deleted = 1, version = ?3, updated_at = ?4, updated_by = ?5 \
             WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id, version + 1, ts(&at), actor],
        )?;
        record_version(
            &tx,
            tenant,
            id,
            version + 1,
            "deleted",
            &yaml,
            enabled,
            actor,
            &at,
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn rule_versions(&self, tenant: &TenantId, id: &str) -> Result<Vec<RuleVersion>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT version, change, yaml, enabled, actor, at FROM rule_versions \
             WHERE tenant = ?1 AND id = ?2 ORDER BY version",
        )?;
        let rows = stmt
            .query_map(params![tenant.as_str(), id], |r| {
                Ok(RuleVersion {
                    version: r.get(0)?,
                    change: r.get(1)?,
                    yaml: r.get(2)?,
                    enabled: r.get(3)?,
                    actor: r.get(4)?,
                    at: parse_ts(r.get(5)?).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_rule_switch(
        &self,
        tenant: &TenantId,
        id: &str,
        enabled: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO rule_switches(tenant, id, enabled, updated_at, updated_by) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(tenant, id) DO UPDATE SET \
             enabled = excluded.enabled, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
            params![tenant.as_str(), id, enabled, ts(&at), actor],
        )?;
        Ok(())
    }

    fn any_rules(&self) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM rules WHERE deleted = 0)",
            [],
            |r| r.get(0),
        )?)
    }

    fn rule_switches(&self, tenant: &TenantId) -> Result<HashMap<String, bool>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, enabled FROM rule_switches WHERE tenant = ?1")?;
        let rows = stmt
            .query_map([tenant.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write<'a>(id: &'a str, yaml: &'a str, expected: Option<u32>) -> RuleWrite<'a> {
        RuleWrite {
            id,
            title: "T",
            level: Some("high"),
            status: None,
            yaml,
            enabled: true,
            expected_version: expected,
            actor: "alice",
            at: Utc::now(),
        }
    }

    #[test]
    fn versions_advance_and_stale_writes_conflict() {
        let s = SqliteState::in_memory().expect("db");
        let t = TenantId::new("acme").expect("tenant");
        let r = s
            .write_rule(&t, "created", &write("r1", "v1", None))
            .expect("create");
        assert_eq!(r.version, 1);
        let dup = s.write_rule(&t, "created", &write("r1", "v1", None));
        assert!(matches!(dup, Err(StoreError::Conflict(_))));
        let r = s
            .write_rule(&t, "updated", &write("r1", "v2", Some(1)))
            .expect("update");
        assert_eq!((r.version, r.yaml.as_str()), (2, "v2"));
        let stale = s.write_rule(&t, "updated", &write("r1", "v3", Some(1)));
        assert!(matches!(stale, Err(StoreError::Conflict(_))));
        assert!(s.delete_rule(&t, "r1", "bob", Utc::now()).expect("delete"));
        assert!(s.get_rule(&t, "r1").expect("get").is_none());
        assert!(!s.delete_rule(&t, "r1", "bob", Utc::now()).expect("again"));
        let v = s.rule_versions(&t, "r1").expect("versions");
        let changes: Vec<_> = v.iter().map(|v| (v.version, v.change.as_str())).collect();
        assert_eq!(changes, [(1, "created"), (2, "updated"), (3, "deleted")]);
        let again = s
            .write_rule(&t, "created", &write("r1", "v4", None))
            .expect("recreate");
        assert_eq!(again.version, 4, "history continues after a delete");
        let other = TenantId::new("other").expect("tenant");
        assert!(s.list_rules(&other).expect("list").is_empty());
        assert_eq!(s.list_rules(&t).expect("list").len(), 1);
    }

    #[test]
    fn switches_are_per_tenant() {
        let s = SqliteState::in_memory().expect("db");
        let t = TenantId::new("acme").expect("tenant");
        s.set_rule_switch(&t, "file-rule", false, "alice", Utc::now())
            .expect("switch");
        assert_eq!(
            s.rule_switches(&t).expect("get").get("file-rule"),
            Some(&false)
        );
        let other = TenantId::new("other").expect("tenant");
        assert!(s.rule_switches(&other).expect("get").is_empty());
    }
}
