//! [`SqliteState`]: the embedded state store.

use super::{ApiKey, StateStore};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Versioned migrations, applied in order; `PRAGMA user_version` records the last one.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_audit",
        include_str!("../../migrations/0002_audit.sql"),
    ),
    (
        "0003_detection",
        include_str!("../../migrations/0003_detection.sql"),
    ),
    (
        "0004_key_scopes",
        include_str!("../../migrations/0004_key_scopes.sql"),
    ),
    ("0005_risk", include_str!("../../migrations/0005_risk.sql")),
    (
        "0006_playbooks",
        include_str!("../../migrations/0006_playbooks.sql"),
    ),
    (
        "0007_projects",
        include_str!("../../migrations/0007_projects.sql"),
    ),
    (
        "0008_reports",
        include_str!("../../migrations/0008_reports.sql"),
    ),
    (
        "0009_report_schedules",
        include_str!("../../migrations/0009_report_schedules.sql"),
    ),
    (
        "0010_report_project",
        include_str!("../../migrations/0010_report_project.sql"),
    ),
    (
        "0012_report_framework",
        include_str!("../../migrations/0012_report_framework.sql"),
    ),
    (
        "0013_schedule_framework",
        include_str!("../../migrations/0013_schedule_framework.sql"),
    ),
];

/// SQLite-backed state. Several processes may open the same file (WAL mode), which is
/// how `mcpsec admin ...` works next to a running `serve`.
pub struct SqliteState {
    conn: Mutex<Connection>,
}

pub(super) fn ts(t: &DateTime<Utc>) -> String {
    mcpsec_core::to_rfc3339(t)
}

pub(super) fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl SqliteState {
    /// Opens (or creates) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        Self::configure(&mut conn)?;
        Ok(SqliteState {
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing database for reading only, next to a running `serve`: no
    /// migration, no pragma that writes, and every write fails. For one-shot readers such
    /// as `mcpsec report`.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(StoreError::NotFound(format!(
                "no state database at {}",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteState {
            conn: Mutex::new(conn),
        })
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        Self::configure(&mut conn)?;
        Ok(SqliteState {
            conn: Mutex::new(conn),
        })
    }

    fn configure(conn: &mut Connection) -> Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(conn)
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(StoreError::Invalid(format!(
            "state database has schema version {current}, newer than this binary knows ({}); upgrade mcpsec",
            MIGRATIONS.len()
        )));
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Invalid(format!("migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
        tracing::info!(migration = name, "state store migrated");
    }
    Ok(())
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKey, String)> {
    let tenant: String = r.get(1)?;
    Ok((
        ApiKey {
            id: r.get(0)?,
            tenant: TenantId::default_tenant(),
            name: r.get(2)?,
            role: r.get(3)?,
            key_hash: r.get(4)?,
            created_at: parse_ts(r.get(5)?).unwrap_or_default(),
            expires_at: parse_ts(r.get(6)?),
            revoked_at: parse_ts(r.get(7)?),
            last_used_at: parse_ts(r.get(8)?),
            scopes: r
                .get::<_, String>(9)?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        },
        tenant,
    ))
}

impl StateStore for SqliteState {
    fn checkpoint(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM checkpoints WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_checkpoint(&self, name: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO checkpoints(name, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![name, value, ts(&Utc::now())],
        )?;
        Ok(())
    }

    fn create_tenant(&self, tenant: &TenantId) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO tenants(name, created_at) VALUES (?1, ?2)",
            params![tenant.as_str(), ts(&Utc::now())],
        )?;
        Ok(n == 1)
    }

    fn tenants(&self) -> Result<Vec<TenantId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name FROM tenants ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        names
            .iter()
            .map(|n| TenantId::new(n).map_err(StoreError::Invalid))
            .collect()
    }

    fn put_api_key(&self, key: &ApiKey) -> Result<()> {
        self.conn().execute(
            "INSERT INTO api_keys(id, tenant, name, role, key_hash, created_at, expires_at, revoked_at, last_used_at, scopes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(id) DO UPDATE SET tenant = excluded.tenant, name = excluded.name,
               role = excluded.role, key_hash = excluded.key_hash, expires_at = excluded.expires_at,
               revoked_at = excluded.revoked_at, scopes = excluded.scopes",
            params![
                key.id,
                key.tenant.as_str(),
                key.name,
                key.role,
                key.key_hash,
                ts(&key.created_at),
                key.expires_at.as_ref().map(ts),
                key.revoked_at.as_ref().map(ts),
                key.last_used_at.as_ref().map(ts),
                key.scopes.join(","),
            ],
        )?;
        Ok(())
    }

    fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let found = self
            .conn()
            .query_row(
                "SELECT id, tenant, name, role, key_hash, created_at, expires_at, revoked_at, last_used_at, scopes
                 FROM api_keys WHERE key_hash = ?1",
                [key_hash],
                row_to_key,
            )
            .optional()?;
        match found {
            None => Ok(None),
            Some((mut key, tenant)) => {
                key.tenant = TenantId::new(&tenant).map_err(StoreError::Invalid)?;
                Ok(Some(key))
            }
        }
    }

    fn tenant_exists(&self, tenant: &TenantId) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM tenants WHERE name = ?1",
                [tenant.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, tenant, name, role, key_hash, created_at, expires_at, revoked_at, last_used_at, scopes
             FROM api_keys WHERE tenant = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt
            .query_map([tenant.as_str()], row_to_key)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(mut k, _)| {
                k.tenant = tenant.clone();
                k
            })
            .collect())
    }

    fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, ts(&at)],
        )?;
        Ok(n == 1)
    }

    fn append_audit(&self, event: &crate::AuditEvent) -> Result<crate::AuditEntry> {
        let mut conn = self.conn();
        // IMMEDIATE: the read of the chain head and the insert are one step, also
        // across processes (the CLI appends beside a running serve).
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head: Option<(u64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev_hash) = match head {
            Some((s, h)) => (s + 1, h),
            None => (1, crate::audit::GENESIS_HASH.to_owned()),
        };
        let at = ts(&Utc::now());
        let hash = crate::audit::entry_hash(seq, &at, event, &prev_hash);
        tx.execute(
            "INSERT INTO audit_log(seq, at, tenant, actor, action, target, outcome, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                seq as i64,
                at,
                event.tenant,
                event.actor,
                event.action,
                event.target,
                event.outcome,
                event.details.to_string(),
                prev_hash,
                hash
            ],
        )?;
        tx.commit()?;
        Ok(crate::AuditEntry {
            seq,
            at,
            event: event.clone(),
            prev_hash,
            hash,
        })
    }

    fn audit_entries(
        &self,
        tenant: Option<&TenantId>,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<crate::AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, at, tenant, actor, action, target, outcome, details, prev_hash, hash FROM audit_log
             WHERE seq > ?1 AND (?2 IS NULL OR tenant = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![
                after_seq as i64,
                tenant.map(|t| t.as_str().to_owned()),
                limit as i64
            ],
            |r| {
                let details: String = r.get(7)?;
                Ok(crate::AuditEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    at: r.get(1)?,
                    event: crate::AuditEvent {
                        tenant: r.get(2)?,
                        actor: r.get(3)?,
                        action: r.get(4)?,
                        target: r.get(5)?,
                        outcome: r.get(6)?,
                        details: serde_json::from_str(&details)
                            .unwrap_or(serde_json::Value::String(details)),
                    },
                    prev_hash: r.get(8)?,
                    hash: r.get(9)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn add_audit_checkpoint(&self, cp: &crate::AuditCheckpoint) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO audit_checkpoints(seq, hash, at, public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![cp.seq as i64, cp.hash, cp.at, cp.public_key, cp.signature],
        )?;
        Ok(())
    }

    fn audit_checkpoints(&self) -> Result<Vec<crate::AuditCheckpoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, hash, at, public_key, signature FROM audit_checkpoints ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(crate::AuditCheckpoint {
                seq: r.get::<_, i64>(0)? as u64,
                hash: r.get(1)?,
                at: r.get(2)?,
                public_key: r.get(3)?,
                signature: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
            params![id, ts(&at)],
        )?;
        Ok(())
    }

    fn backup_to(&self, dest: &Path) -> Result<()> {
        let conn = self.conn();
        let mut out = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(&conn, &mut out)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, hash: &str) -> ApiKey {
        ApiKey {
            id: id.into(),
            tenant: TenantId::default_tenant(),
            name: "test".into(),
            role: "admin".into(),
            key_hash: hash.into(),
            created_at: Utc::now(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            scopes: Vec::new(),
        }
    }

    #[test]
    fn migrations_apply_once_and_checkpoints_persist() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.db");
        {
            let s = SqliteState::open(&path).expect("open");
            assert_eq!(
                s.schema_version().expect("version"),
                MIGRATIONS.len() as u32
            );
            s.set_checkpoint("indexer", "41").expect("set");
            s.set_checkpoint("indexer", "42").expect("set");
        }
        let s = SqliteState::open(&path).expect("reopen");
        assert_eq!(s.checkpoint("indexer").expect("get").as_deref(), Some("42"));
        assert_eq!(s.checkpoint("nope").expect("get"), None);
    }

    #[test]
    fn read_only_opens_beside_a_writer_and_refuses_writes() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.db");
        assert!(matches!(
            SqliteState::open_read_only(&path),
            Err(StoreError::NotFound(_))
        ));
        let writer = SqliteState::open(&path).expect("open");
        let acme = TenantId::new("acme").expect("t");
        writer.create_tenant(&acme).expect("create");
        let reader = SqliteState::open_read_only(&path).expect("read-only");
        assert!(reader.tenant_exists(&acme).expect("query"));
        assert!(
            reader
                .create_tenant(&TenantId::new("b").expect("t"))
                .is_err()
        );
        drop(writer);
        let reader = SqliteState::open_read_only(&path).expect("read-only, writer gone");
        assert!(reader.tenant_exists(&acme).expect("query"));
    }

    #[test]
    fn api_keys_are_found_by_hash_and_honour_expiry() {
        let s = SqliteState::in_memory().expect("open");
        let t = TenantId::default_tenant();
        assert!(s.create_tenant(&t).expect("tenant"));
        assert!(!s.create_tenant(&t).expect("tenant again"));
        s.put_api_key(&key("k1", "abc")).expect("put");
        let k = s.find_api_key("abc").expect("find").expect("present");
        assert!(k.is_usable(Utc::now()));
        let mut expired = k.clone();
        expired.expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
        assert!(!expired.is_usable(Utc::now()));
        assert!(s.find_api_key("zzz").expect("find").is_none());
    }

    #[test]
    fn keys_are_listed_per_tenant_and_revoked_once() {
        let s = SqliteState::in_memory().expect("open");
        let a = TenantId::new("a").expect("t");
        let b = TenantId::new("b").expect("t");
        s.create_tenant(&a).expect("a");
        s.create_tenant(&b).expect("b");
        assert!(s.tenant_exists(&a).expect("exists"));
        assert!(
            !s.tenant_exists(&TenantId::new("c").expect("t"))
                .expect("exists")
        );
        let mut k = key("ka", "h1");
        k.tenant = a.clone();
        s.put_api_key(&k).expect("put");
        assert_eq!(s.list_api_keys(&a).expect("list").len(), 1);
        assert!(s.list_api_keys(&b).expect("list").is_empty());
        assert!(s.revoke_api_key("ka", Utc::now()).expect("revoke"));
        assert!(!s.revoke_api_key("ka", Utc::now()).expect("again"));
        let found = s.find_api_key("h1").expect("find").expect("present");
        assert!(!found.is_usable(Utc::now()));
    }

    #[test]
    fn unknown_tenant_is_refused_for_keys() {
        let s = SqliteState::in_memory().expect("open");
        let mut k = key("k2", "def");
        k.tenant = TenantId::new("ghost").expect("name");
        assert!(s.put_api_key(&k).is_err());
    }

    #[test]
    fn backup_copies_everything() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = SqliteState::open(&dir.path().join("a.db")).expect("open");
        s.set_checkpoint("x", "1").expect("set");
        let dest = dir.path().join("b.db");
        s.backup_to(&dest).expect("backup");
        let b = SqliteState::open(&dest).expect("open copy");
        assert_eq!(b.checkpoint("x").expect("get").as_deref(), Some("1"));
    }
}
