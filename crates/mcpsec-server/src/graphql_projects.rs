//! GraphQL over supply-chain projects: the `projects`, `project` and `findings` queries,
//! with the same permission (`projects.read`) and tenant scope as the REST API.

use crate::graphql_alerts::allowed;
use crate::{Action, AppState};
use async_graphql::{Context, Object, SimpleObject};

/// Most findings one `findings` query returns.
const MAX_FINDINGS: usize = 1000;

/// A project.
#[derive(SimpleObject)]
struct Project {
    /// Id (ULID).
    id: String,
    /// Name.
    name: String,
    /// Free text.
    description: Option<String>,
    /// Creation time (RFC 3339).
    created_at: String,
    /// Who created it.
    created_by: String,
    /// Last upload (RFC 3339).
    updated_at: String,
    /// Number of the latest SBOM version (0: none yet).
    latest_version: u32,
}

impl From<mcpsec_store::Project> for Project {
    fn from(p: mcpsec_store::Project) -> Self {
        Project {
            id: p.id,
            name: p.name,
            description: p.description,
            created_at: mcpsec_core::to_rfc3339(&p.created_at),
            created_by: p.created_by,
            updated_at: mcpsec_core::to_rfc3339(&p.updated_at),
            latest_version: p.latest_version,
        }
    }
}

/// A vulnerability of one component.
#[derive(SimpleObject)]
struct Finding {
    /// Primary id.
    id: String,
    /// Every id and alias.
    aliases: Vec<String>,
    /// Ecosystem (OSV name).
    ecosystem: String,
    /// Package.
    package: String,
    /// Installed version.
    version: String,
    /// Package URL.
    purl: String,
    /// `critical`, `high`, `medium`, `low`, `none` or `unknown`.
    severity: String,
    /// CVSS base score.
    cvss_score: Option<f64>,
    /// Version that fixes it.
    fixed: Option<String>,
    /// Summary.
    summary: String,
    /// Advisory link.
    url: Option<String>,
    /// Dependency path from a root.
    path: Vec<String>,
    /// Whether it is a direct dependency (unknown: null).
    direct: Option<bool>,
    /// From a malicious-package advisory.
    malicious: bool,
    /// In the CISA KEV catalogue.
    kev: bool,
    /// Suppressed by a VEX statement.
    suppressed: bool,
    /// Risk 0–10.
    risk: f64,
}

impl From<mcpsec_supply::scan::Finding> for Finding {
    fn from(f: mcpsec_supply::scan::Finding) -> Self {
        Finding {
            severity: f.severity.as_str().to_owned(),
            cvss_score: f.cvss.as_ref().and_then(|c| c.score),
            kev: f.kev.is_some(),
            id: f.id,
            aliases: f.aliases,
            ecosystem: f.ecosystem,
            package: f.package,
            version: f.version,
            purl: f.purl,
            fixed: f.fixed,
            summary: f.summary,
            url: f.url,
            path: f.path,
            direct: f.direct,
            malicious: f.malicious,
            suppressed: f.suppressed,
            risk: f.risk,
        }
    }
}

/// Findings of one project version.
#[derive(SimpleObject)]
struct Findings {
    /// Project id.
    project_id: String,
    /// Version evaluated.
    version: u32,
    /// Findings matching the filters (all pages).
    total: usize,
    /// Findings a VEX statement suppresses.
    suppressed: usize,
    /// Generation of the vulnerability database used.
    vulndb_generation: Option<u64>,
    /// This page, most severe first.
    findings: Vec<Finding>,
    /// Problems reading the inventory or advisories.
    warnings: Vec<String>,
}

/// Project queries (merged into the query root).
#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// The caller's projects, by name.
    async fn projects(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Project>> {
        let who = allowed(ctx, Action::ProjectsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let list = st
            .on_store(move |s| s.list_projects(&who.tenant))
            .await
            .map_err(|e| e.message)?;
        Ok(list.into_iter().map(Project::from).collect())
    }

    /// One of the caller's projects.
    async fn project(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Project>> {
        let who = allowed(ctx, Action::ProjectsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let p = st
            .on_store(move |s| s.get_project(&who.tenant, &id))
            .await
            .map_err(|e| e.message)?;
        Ok(p.map(Project::from))
    }

    /// Findings of a project's latest (or given) version, VEX applied; `minSeverity`:
    /// `low` (also unknown), `medium`, `high`, `critical`.
    #[allow(clippy::too_many_arguments)] // one parameter per GraphQL argument
    async fn findings(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        min_severity: Option<String>,
        version: Option<u32>,
        #[graphql(default = false)] include_suppressed: bool,
        #[graphql(default = 100)] limit: usize,
        #[graphql(default = 0)] offset: usize,
    ) -> async_graphql::Result<Findings> {
        let who = allowed(ctx, Action::ProjectsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        if limit == 0 || limit > MAX_FINDINGS {
            return Err(format!("limit must be between 1 and {MAX_FINDINGS}").into());
        }
        let min = min_severity
            .as_deref()
            .map(crate::projects_findings::parse_min)
            .transpose()
            .map_err(|e| e.message)?;
        let f = crate::projects_findings::project_findings(
            st,
            &who,
            &project_id,
            version,
            min,
            include_suppressed,
        )
        .await
        .map_err(|e| e.message)?;
        Ok(Findings {
            project_id: f.project,
            version: f.version,
            total: f.findings.len(),
            suppressed: f.suppressed,
            vulndb_generation: f.vulndb_generation,
            findings: f
                .findings
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(Finding::from)
                .collect(),
            warnings: f.warnings,
        })
    }
}
