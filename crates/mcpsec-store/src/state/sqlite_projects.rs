//! [`ProjectStore`] on SQLite.

use super::projects::{
    LatestSbom, MAX_PROJECT_NAME, MAX_PROJECTS_PER_TENANT, MAX_SBOM_VERSIONS, NewSbom, Project,
    ProjectStore, ProjectVex, SbomVersion,
};
use super::sqlite::{SqliteState, parse_ts, ts};
use super::sqlite_alerts::insert_alerts;
use crate::{Alert, Result, StoreError};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, Row, params};

const PROJECT_COLUMNS: &str =
    "tenant, id, name, description, created_at, created_by, updated_at, latest";
const SBOM_COLUMNS: &str = "project, version, file_name, content_type, format, sha256, bytes, \
    components, warnings, uploaded_at, uploaded_by, evaluated_at, vulndb_gen";

fn row_to_project(r: &Row<'_>) -> rusqlite::Result<Project> {
    let tenant: String = r.get(0)?;
    Ok(Project {
        tenant: TenantId::new(&tenant).unwrap_or_else(|_| TenantId::default_tenant()),
        id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: parse_ts(r.get(4)?).unwrap_or_default(),
        created_by: r.get(5)?,
        updated_at: parse_ts(r.get(6)?).unwrap_or_default(),
        latest_version: r.get(7)?,
    })
}

fn row_to_sbom(r: &Row<'_>) -> rusqlite::Result<SbomVersion> {
    let warnings: String = r.get(8)?;
    Ok(SbomVersion {
        project: r.get(0)?,
        version: r.get(1)?,
        file_name: r.get(2)?,
        content_type: r.get(3)?,
        format: r.get(4)?,
        sha256: r.get(5)?,
        bytes: r.get::<_, i64>(6)?.max(0) as u64,
        components: r.get::<_, i64>(7)?.max(0) as u64,
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        uploaded_at: parse_ts(r.get(9)?).unwrap_or_default(),
        uploaded_by: r.get(10)?,
        evaluated_at: parse_ts(r.get(11)?).unwrap_or_default(),
        vulndb_generation: r.get::<_, Option<i64>>(12)?.map(|g| g.max(0) as u64),
    })
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_PROJECT_NAME {
        return Err(StoreError::Invalid(format!(
            "a project name must be 1–{MAX_PROJECT_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "a project name may not contain control characters".into(),
        ));
    }
    Ok(())
}

impl ProjectStore for SqliteState {
    fn create_project(
        &self,
        tenant: &TenantId,
        name: &str,
        description: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Project> {
        check_name(name)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM projects WHERE tenant = ?1",
            [tenant.as_str()],
            |r| r.get(0),
        )?;
        if count as usize >= MAX_PROJECTS_PER_TENANT {
            return Err(StoreError::Conflict(format!(
                "a tenant may have at most {MAX_PROJECTS_PER_TENANT} projects"
            )));
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM projects WHERE tenant = ?1 AND name = ?2)",
            params![tenant.as_str(), name],
            |r| r.get(0),
        )?;
        if taken {
            return Err(StoreError::Conflict(format!(
                "a project named {name:?} exists"
            )));
        }
        let p = Project {
            tenant: tenant.clone(),
            id: ulid::Ulid::new().to_string(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_at: at,
            created_by: actor.to_owned(),
            updated_at: at,
            latest_version: 0,
        };
        tx.execute(
            &format!("INSERT INTO projects({PROJECT_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,0)"),
            params![
                tenant.as_str(),
                p.id,
                p.name,
                p.description,
                ts(&at),
                actor,
                ts(&at)
            ],
        )?;
        tx.commit()?;
        Ok(p)
    }

    fn list_projects(&self, tenant: &TenantId) -> Result<Vec<Project>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE tenant = ?1 ORDER BY name"
        ))?;
        let rows = st
            .query_map([tenant.as_str()], row_to_project)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn get_project(&self, tenant: &TenantId, id: &str) -> Result<Option<Project>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE tenant = ?1 AND id = ?2"),
                params![tenant.as_str(), id],
                row_to_project,
            )
            .optional()?)
    }

    fn delete_project(&self, tenant: &TenantId, id: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM projects WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.execute(
            "DELETE FROM project_sboms WHERE tenant = ?1 AND project = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.execute(
            "DELETE FROM project_vex WHERE tenant = ?1 AND project = ?2",
            params![tenant.as_str(), id],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn add_sbom(&self, tenant: &TenantId, project: &str, s: &NewSbom<'_>) -> Result<SbomVersion> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let latest: Option<u32> = tx
            .query_row(
                "SELECT latest FROM projects WHERE tenant = ?1 AND id = ?2",
                params![tenant.as_str(), project],
                |r| r.get(0),
            )
            .optional()?;
        let Some(latest) = latest else {
            return Err(StoreError::NotFound(format!("project {project}")));
        };
        if latest >= MAX_SBOM_VERSIONS {
            return Err(StoreError::Conflict(format!(
                "a project keeps at most {MAX_SBOM_VERSIONS} versions"
            )));
        }
        let version = latest + 1;
        let warnings = serde_json::to_string(s.warnings)?;
        let keys = serde_json::to_string(s.finding_keys)?;
        tx.execute(
            "INSERT INTO project_sboms(tenant, project, version, file_name, content_type, format, \
             sha256, bytes, document, inventory, components, warnings, uploaded_at, uploaded_by, \
             finding_keys, evaluated_at, vulndb_gen) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
            params![
                tenant.as_str(),
                project,
                version,
                s.file_name,
                s.content_type,
                s.format,
                s.sha256,
                s.document.len() as i64,
                s.document,
                s.inventory,
                s.components as i64,
                warnings,
                ts(&s.at),
                s.actor,
                keys,
                ts(&s.at),
                s.vulndb_generation.map(|g| g as i64),
            ],
        )?;
        tx.execute(
            "UPDATE projects SET latest = ?3, updated_at = ?4 WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), project, version, ts(&s.at)],
        )?;
        tx.commit()?;
        Ok(SbomVersion {
            project: project.to_owned(),
            version,
            file_name: s.file_name.to_owned(),
            content_type: s.content_type.map(str::to_owned),
            format: s.format.to_owned(),
            sha256: s.sha256.to_owned(),
            bytes: s.document.len() as u64,
            components: s.components,
            warnings: s.warnings.to_vec(),
            uploaded_at: s.at,
            uploaded_by: s.actor.to_owned(),
            evaluated_at: s.at,
            vulndb_generation: s.vulndb_generation,
        })
    }

    fn list_sboms(&self, tenant: &TenantId, project: &str) -> Result<Vec<SbomVersion>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {SBOM_COLUMNS} FROM project_sboms WHERE tenant = ?1 AND project = ?2 \
             ORDER BY version"
        ))?;
        let rows = st
            .query_map(params![tenant.as_str(), project], row_to_sbom)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn get_sbom(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<SbomVersion>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {SBOM_COLUMNS} FROM project_sboms \
                     WHERE tenant = ?1 AND project = ?2 AND version = ?3"
                ),
                params![tenant.as_str(), project, version],
                row_to_sbom,
            )
            .optional()?)
    }

    fn sbom_inventory(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT inventory FROM project_sboms \
                 WHERE tenant = ?1 AND project = ?2 AND version = ?3",
                params![tenant.as_str(), project, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn sbom_document(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT document FROM project_sboms \
                 WHERE tenant = ?1 AND project = ?2 AND version = ?3",
                params![tenant.as_str(), project, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn finding_keys(&self, tenant: &TenantId, project: &str, version: u32) -> Result<Vec<String>> {
        let keys: Option<String> = self
            .conn()
            .query_row(
                "SELECT finding_keys FROM project_sboms \
                 WHERE tenant = ?1 AND project = ?2 AND version = ?3",
                params![tenant.as_str(), project, version],
                |r| r.get(0),
            )
            .optional()?;
        match keys {
            Some(k) => Ok(serde_json::from_str(&k)?),
            None => Ok(Vec::new()),
        }
    }

    fn latest_sboms(&self) -> Result<Vec<LatestSbom>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT p.tenant, p.id, p.name, p.latest, s.vulndb_gen FROM projects p \
             JOIN project_sboms s ON s.tenant = p.tenant AND s.project = p.id \
             AND s.version = p.latest ORDER BY p.tenant, p.name",
        )?;
        let rows = st
            .query_map([], |r| {
                let tenant: String = r.get(0)?;
                let g: Option<i64> = r.get(4)?;
                Ok((tenant, r.get(1)?, r.get(2)?, r.get(3)?, g))
            })?
            .collect::<rusqlite::Result<Vec<(String, String, String, u32, Option<i64>)>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(t, project, name, version, g)| {
                Some(LatestSbom {
                    tenant: TenantId::new(&t).ok()?,
                    project,
                    name,
                    version,
                    vulndb_generation: g.map(|g| g.max(0) as u64),
                })
            })
            .collect())
    }

    fn commit_evaluation(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
        finding_keys: &[String],
        vulndb_generation: Option<u64>,
        alerts: &[Alert],
    ) -> Result<()> {
        if alerts.iter().any(|a| &a.tenant != tenant) {
            return Err(StoreError::Invalid(
                "an evaluation stores alerts of its own tenant only".into(),
            ));
        }
        let keys = serde_json::to_string(finding_keys)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE project_sboms SET finding_keys = ?4, evaluated_at = ?5, vulndb_gen = ?6 \
             WHERE tenant = ?1 AND project = ?2 AND version = ?3",
            params![
                tenant.as_str(),
                project,
                version,
                keys,
                ts(&Utc::now()),
                vulndb_generation.map(|g| g as i64)
            ],
        )?;
        if n == 0 {
            // deleted meanwhile: nothing to record, no alert to raise
            return Ok(());
        }
        insert_alerts(&tx, alerts)?;
        tx.commit()?;
        Ok(())
    }

    fn add_project_vex(
        &self,
        tenant: &TenantId,
        project: &str,
        file_name: &str,
        statements: u64,
        document: &[u8],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<ProjectVex> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM projects WHERE tenant = ?1 AND id = ?2)",
            params![tenant.as_str(), project],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NotFound(format!("project {project}")));
        }
        let v = ProjectVex {
            id: ulid::Ulid::new().to_string(),
            file_name: file_name.to_owned(),
            statements,
            uploaded_at: at,
            uploaded_by: actor.to_owned(),
        };
        tx.execute(
            "INSERT INTO project_vex(tenant, project, id, file_name, statements, document, \
             uploaded_at, uploaded_by) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                tenant.as_str(),
                project,
                v.id,
                file_name,
                statements as i64,
                document,
                ts(&at),
                actor
            ],
        )?;
        tx.commit()?;
        Ok(v)
    }

    fn project_vex(&self, tenant: &TenantId, project: &str) -> Result<Vec<(ProjectVex, Vec<u8>)>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, file_name, statements, uploaded_at, uploaded_by, document FROM project_vex \
             WHERE tenant = ?1 AND project = ?2 ORDER BY uploaded_at, id",
        )?;
        let rows = st
            .query_map(params![tenant.as_str(), project], |r| {
                Ok((
                    ProjectVex {
                        id: r.get(0)?,
                        file_name: r.get(1)?,
                        statements: r.get::<_, i64>(2)?.max(0) as u64,
                        uploaded_at: parse_ts(r.get(3)?).unwrap_or_default(),
                        uploaded_by: r.get(4)?,
                    },
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlertFilter, AlertStore, StateStore};

    fn t(s: &str) -> TenantId {
        TenantId::new(s).expect("tenant")
    }

    fn sbom<'a>(doc: &'a [u8], keys: &'a [String]) -> NewSbom<'a> {
        NewSbom {
            file_name: "bom.json",
            content_type: Some("application/json"),
            format: "CycloneDX 1.5 JSON",
            document: doc,
            sha256: "00",
            inventory: "{}",
            components: 2,
            warnings: &[],
            finding_keys: keys,
            vulndb_generation: Some(3),
            actor: "k1",
            at: Utc::now(),
        }
    }

    #[test]
    fn projects_are_per_tenant_and_versions_count_up() {
        let s = SqliteState::in_memory().expect("store");
        let (a, b) = (t("a"), t("b"));
        let p = s
            .create_project(&a, "web", Some("front end"), "k1", Utc::now())
            .expect("create");
        assert!(matches!(
            s.create_project(&a, "web", None, "k1", Utc::now()),
            Err(StoreError::Conflict(_))
        ));
        s.create_project(&b, "web", None, "k2", Utc::now())
            .expect("same name in another tenant");
        assert!(s.create_project(&a, " ", None, "k1", Utc::now()).is_err());
        assert!(s.get_project(&b, &p.id).expect("get").is_none());
        let keys = vec!["GHSA-1|pkg:npm/x@1".to_string()];
        let v1 = s.add_sbom(&a, &p.id, &sbom(b"one", &keys)).expect("v1");
        let v2 = s.add_sbom(&a, &p.id, &sbom(b"two", &[])).expect("v2");
        assert_eq!((v1.version, v2.version), (1, 2));
        assert!(matches!(
            s.add_sbom(&b, &p.id, &sbom(b"x", &[])),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.list_sboms(&a, &p.id).expect("list").len(), 2);
        assert!(s.list_sboms(&b, &p.id).expect("list").is_empty());
        assert_eq!(
            s.sbom_document(&a, &p.id, 1).expect("doc").as_deref(),
            Some(&b"one"[..])
        );
        assert!(s.sbom_document(&b, &p.id, 1).expect("doc").is_none());
        assert_eq!(s.finding_keys(&a, &p.id, 1).expect("keys"), keys);
        assert_eq!(
            s.get_project(&a, &p.id)
                .expect("get")
                .expect("p")
                .latest_version,
            2
        );
        let latest = s.latest_sboms().expect("latest");
        assert_eq!(latest.len(), 1);
        assert_eq!((latest[0].version, latest[0].tenant.as_str()), (2, "a"));
        assert!(!s.delete_project(&b, &p.id).expect("delete"));
        assert!(s.delete_project(&a, &p.id).expect("delete"));
        assert!(s.list_sboms(&a, &p.id).expect("list").is_empty());
    }

    #[test]
    fn an_evaluation_stores_keys_and_alerts_together() {
        let s = SqliteState::in_memory().expect("store");
        let a = t("a");
        s.create_tenant(&a).expect("tenant");
        let p = s
            .create_project(&a, "api", None, "k", Utc::now())
            .expect("create");
        s.add_sbom(&a, &p.id, &sbom(b"{}", &[])).expect("v1");
        let alert = Alert {
            id: ulid::Ulid::new().to_string(),
            tenant: a.clone(),
            kind: crate::AlertKind::Supply,
            rule_id: "supply:new-vulnerability".into(),
            rule_title: "x".into(),
            rule_version: 0,
            level: "high".into(),
            tags: vec![],
            techniques: vec![],
            tactics: vec![],
            host: None,
            event_ids: vec![],
            events: vec![],
            event_count: 1,
            group: None,
            event_time: Utc::now(),
            created_at: Utc::now(),
            seq: 0,
            status: crate::AlertStatus::Open,
            status_by: None,
            status_at: None,
        };
        let mut foreign = alert.clone();
        foreign.tenant = t("b");
        assert!(
            s.commit_evaluation(&a, &p.id, 1, &[], None, &[foreign])
                .is_err()
        );
        let keys = vec!["k1".to_string()];
        s.commit_evaluation(&a, &p.id, 1, &keys, Some(7), std::slice::from_ref(&alert))
            .expect("commit");
        assert_eq!(s.finding_keys(&a, &p.id, 1).expect("keys"), keys);
        let page = s
            .list_alerts(
                &a,
                &AlertFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("alerts");
        assert_eq!(page.total, 1);
        assert_eq!(page.alerts[0].kind, crate::AlertKind::Supply);
        assert_eq!(
            s.get_sbom(&a, &p.id, 1)
                .expect("get")
                .expect("v")
                .vulndb_generation,
            Some(7)
        );
        let vex = s
            .add_project_vex(&a, &p.id, "v.json", 3, b"{}", "k", Utc::now())
            .expect("vex");
        assert_eq!(s.project_vex(&a, &p.id).expect("vex")[0].0.id, vex.id);
        assert!(s.project_vex(&t("b"), &p.id).expect("vex").is_empty());
    }
}
