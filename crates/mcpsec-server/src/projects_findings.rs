//! Findings of a project version, the diff between two versions, and the vulnerability
//! database's status and re-evaluation.

use crate::events::http_attrs;
use crate::projects_api::{audit, project_of};
use crate::supply_eval::{
    Reevaluation, counts, embedded_vex, evaluate_with, load_vex, open_db, scan_options,
};
use crate::{Action, ApiError, AppState, Principal};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use mcpsec_core::{ErrorCode, TenantId};
use mcpsec_supply::cvss::Severity;
use mcpsec_supply::inventory::Inventory;
use mcpsec_supply::scan::Finding;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Findings filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FindingParams {
    /// This severity or higher: `low` (also takes unknown ones), `medium`, `high`,
    /// `critical`. Malicious packages always pass.
    min_severity: Option<String>,
    /// A version number (default: the latest).
    version: Option<u32>,
    /// Also list findings a VEX statement suppresses (default false).
    include_suppressed: Option<bool>,
    /// Page size (1–5000, default 1000).
    limit: Option<usize>,
    /// Findings skipped, in the listed order (default 0). The order is stable for one
    /// version and database generation: most severe first, then file, package,
    /// version and id.
    offset: Option<usize>,
}

/// Default page of findings.
const DEFAULT_FINDINGS: usize = 1000;
/// Largest page of findings.
pub(crate) const MAX_FINDINGS_PAGE: usize = 5000;

/// Findings of one version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Findings {
    /// Project id.
    pub(crate) project: String,
    /// Version evaluated.
    pub(crate) version: u32,
    /// Generation of the vulnerability database used (none: no database imported).
    pub(crate) vulndb_generation: Option<u64>,
    /// Components evaluated.
    pub(crate) components: usize,
    /// Findings matching the filters, most severe first, each with the version that
    /// fixes it (`fixed`), its dependency path and any VEX statement applied.
    #[schema(value_type = Vec<Object>)]
    pub(crate) findings: Vec<Finding>,
    /// Findings matching the filters, all pages together.
    pub(crate) total: usize,
    /// Findings skipped before this page.
    pub(crate) offset: usize,
    /// The `offset` of the next page; none on the last page.
    pub(crate) next_offset: Option<usize>,
    /// Findings a VEX statement suppresses (listed only with `include_suppressed`).
    pub(crate) suppressed: usize,
    /// Problems reading the inventory or advisories.
    pub(crate) warnings: Vec<String>,
    /// When the version is another scanner's report: the findings it reported, each
    /// with its source tool (filtered by `min_severity` too).
    #[schema(value_type = Vec<Object>)]
    pub(crate) reported: Vec<mcpsec_supply::reports::ReportedFinding>,
}

/// Diff parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffParams {
    /// Older version (default: the one before `to`).
    from: Option<u32>,
    /// Newer version (default: the latest).
    to: Option<u32>,
}

/// A component in a diff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub(crate) struct DiffComponent {
    /// Ecosystem (OSV name) or the purl type; empty when unknown.
    pub(crate) ecosystem: String,
    /// Name.
    pub(crate) name: String,
    /// Version.
    pub(crate) version: String,
    /// Package URL.
    pub(crate) purl: String,
}

/// A component whose version changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub(crate) struct VersionChange {
    /// Ecosystem.
    pub(crate) ecosystem: String,
    /// Name.
    pub(crate) name: String,
    /// Version in `from`.
    pub(crate) from: String,
    /// Version in `to`.
    pub(crate) to: String,
}

/// A vulnerability in a diff.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct DiffVulnerability {
    /// Primary id.
    pub(crate) id: String,
    /// Every id and alias.
    pub(crate) aliases: Vec<String>,
    /// Package.
    pub(crate) package: String,
    /// Installed version (in `to` for new ones, in `from` for fixed ones).
    pub(crate) version: String,
    /// Severity.
    #[schema(value_type = String)]
    pub(crate) severity: Severity,
    /// Version that fixes it.
    pub(crate) fixed: Option<String>,
    /// Summary.
    pub(crate) summary: String,
}

/// What changed between two versions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Diff {
    /// Older version.
    pub(crate) from: u32,
    /// Newer version.
    pub(crate) to: u32,
    /// Components only in `to`.
    pub(crate) added: Vec<DiffComponent>,
    /// Components only in `from`.
    pub(crate) removed: Vec<DiffComponent>,
    /// Components at a higher version in `to`.
    pub(crate) upgraded: Vec<VersionChange>,
    /// Components at a lower version in `to`.
    pub(crate) downgraded: Vec<VersionChange>,
    /// Vulnerabilities of `to` that `from` did not have (for that package).
    pub(crate) new_vulnerabilities: Vec<DiffVulnerability>,
    /// Vulnerabilities of `from` that `to` no longer has.
    pub(crate) fixed_vulnerabilities: Vec<DiffVulnerability>,
    /// Vulnerabilities in both.
    pub(crate) unchanged_vulnerabilities: usize,
    /// Generation of the vulnerability database both were matched against.
    pub(crate) vulndb_generation: Option<u64>,
}

pub(crate) fn parse_min(s: &str) -> Result<Severity, ApiError> {
    match s.to_ascii_lowercase().as_str() {
        "unknown" | "none" => Ok(Severity::Unknown),
        other => Severity::from_word(other).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown severity {s:?}: use low, medium, high or critical"
            ))
        }),
    }
}

pub(crate) fn passes(f: &Finding, min: Severity) -> bool {
    f.malicious || f.severity >= min || (f.severity == Severity::Unknown && min <= Severity::Low)
}

/// Loads one version's inventory and evaluates it (VEX applied).
pub(crate) async fn evaluate_version(
    st: &AppState,
    tenant: &TenantId,
    project: &str,
    version: u32,
) -> Result<(Inventory, crate::supply_eval::Evaluation), ApiError> {
    let store = st.state.clone();
    let (dir, git) = (st.data_dir.clone(), st.git_repos.clone());
    let (tenant, pid) = (tenant.clone(), project.to_owned());
    tokio::task::spawn_blocking(move || {
        let Some(json) = store.sbom_inventory(&tenant, &pid, version)? else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("project {pid:?} has no version {version}"),
            ));
        };
        let inv: Inventory = serde_json::from_str(&json).map_err(ApiError::internal)?;
        let mut vex = load_vex(store.as_ref(), &tenant, &pid)?;
        if let Some(doc) = store.sbom_document(&tenant, &pid, version)? {
            vex.extend(embedded_vex(&inv.file, &doc));
        }
        let mut db = open_db(dir.as_deref())?;
        let ev = evaluate_with(
            db.as_mut(),
            inv.clone(),
            &vex,
            &scan_options(git.as_deref()),
        )?;
        Ok((inv, ev))
    })
    .await
    .map_err(ApiError::internal)?
}

fn latest_or_404(p: &mcpsec_store::Project) -> Result<u32, ApiError> {
    if p.latest_version == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("project {:?} has no SBOM yet", p.id),
        ));
    }
    Ok(p.latest_version)
}

/// Findings of the latest (or a given) version, matched against the vulnerability
/// database now.
#[utoipa::path(get, path = "/api/v1/projects/{id}/findings", tag = "projects",
    params(("id" = String, Path, description = "Project id"), FindingParams),
    responses(
        (status = 200, description = "Findings", body = Findings),
        (status = 400, description = "Invalid parameter", body = crate::error::ErrorBody),
        (status = 404, description = "No such project or version in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn findings(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(p): Query<FindingParams>,
) -> Result<Json<Findings>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}/findings", Some(&id)),
    )?;
    let min = p.min_severity.as_deref().map(parse_min).transpose()?;
    let limit = p.limit.unwrap_or(DEFAULT_FINDINGS);
    if limit == 0 || limit > MAX_FINDINGS_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_FINDINGS_PAGE}"
        )));
    }
    let mut all = project_findings(
        &st,
        &who,
        &id,
        p.version,
        min,
        p.include_suppressed.unwrap_or(false),
    )
    .await?;
    page(&mut all, p.offset.unwrap_or(0), limit);
    Ok(Json(all))
}

/// Keeps `limit` findings from `offset` on and says where the next page starts.
fn page(f: &mut Findings, offset: usize, limit: usize) {
    let total = f.findings.len();
    let start = offset.min(total);
    f.findings.truncate(start.saturating_add(limit).min(total));
    f.findings.drain(..start);
    f.total = total;
    f.offset = offset;
    let end = start + f.findings.len();
    f.next_offset = (end < total).then_some(end);
}

/// The findings of a project version (shared with GraphQL).
pub(crate) async fn project_findings(
    st: &AppState,
    who: &Principal,
    id: &str,
    version: Option<u32>,
    min: Option<Severity>,
    include_suppressed: bool,
) -> Result<Findings, ApiError> {
    let project = project_of(st, who, id).await?;
    let version = match version {
        Some(v) => v,
        None => latest_or_404(&project)?,
    };
    let (inv, ev) = evaluate_version(st, &who.tenant, id, version).await?;
    let report = ev.report;
    let reported = inv
        .reported
        .into_iter()
        .filter(|f| {
            min.is_none_or(|m| {
                f.severity >= m || (f.severity == Severity::Unknown && m <= Severity::Low)
            })
        })
        .collect();
    let suppressed = report.findings.iter().filter(|f| f.suppressed).count();
    let findings: Vec<Finding> = report
        .findings
        .into_iter()
        .filter(|f| include_suppressed || !f.suppressed)
        .filter(|f| min.is_none_or(|m| passes(f, m)))
        .collect();
    Ok(Findings {
        project: id.to_owned(),
        version,
        vulndb_generation: ev.generation,
        components: report.components,
        total: findings.len(),
        offset: 0,
        next_offset: None,
        findings,
        suppressed,
        warnings: report.warnings,
        reported,
    })
}

fn components_of(inv: &Inventory) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut out: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for c in inv.components.iter().chain(&inv.unmatched) {
        let eco = match c.ecosystem {
            Some(e) => e.osv_name().to_owned(),
            None => mcpsec_supply::purl::Purl::parse(&c.purl)
                .map(|p| p.ty)
                .unwrap_or_default(),
        };
        out.entry((eco, c.name.clone()))
            .or_default()
            .insert(c.version.clone(), c.purl.clone());
    }
    out
}

fn vuln(f: &Finding) -> DiffVulnerability {
    DiffVulnerability {
        id: f.id.clone(),
        aliases: f.aliases.clone(),
        package: f.package.clone(),
        version: f.version.clone(),
        severity: f.severity,
        fixed: f.fixed.clone(),
        summary: f.summary.clone(),
    }
}

/// Findings of `a` none of whose ids a finding of `b` for the same package has.
fn only_in(a: &[Finding], b: &[Finding]) -> Vec<DiffVulnerability> {
    let known: BTreeSet<(&str, &str, &str)> = b
        .iter()
        .filter(|f| counts(f))
        .flat_map(|f| {
            std::iter::once(&f.id)
                .chain(&f.aliases)
                .map(move |id| (f.ecosystem.as_str(), f.package.as_str(), id.as_str()))
        })
        .collect();
    let mut out: Vec<DiffVulnerability> = a
        .iter()
        .filter(|f| counts(f))
        .filter(|f| {
            std::iter::once(&f.id)
                .chain(&f.aliases)
                .all(|id| !known.contains(&(f.ecosystem.as_str(), f.package.as_str(), id.as_str())))
        })
        .map(vuln)
        .collect();
    out.sort_by(|x, y| (&x.package, &x.id).cmp(&(&y.package, &y.id)));
    out
}

/// Compares two inventories and their findings.
pub(crate) fn diff_of(
    from: (u32, &Inventory, &[Finding]),
    to: (u32, &Inventory, &[Finding]),
    generation: Option<u64>,
) -> Diff {
    let (a, b) = (components_of(from.1), components_of(to.1));
    let mut d = Diff {
        from: from.0,
        to: to.0,
        added: vec![],
        removed: vec![],
        upgraded: vec![],
        downgraded: vec![],
        new_vulnerabilities: only_in(to.2, from.2),
        fixed_vulnerabilities: only_in(from.2, to.2),
        unchanged_vulnerabilities: 0,
        vulndb_generation: generation,
    };
    let comp = |(eco, name): &(String, String), v: &str, purl: &str| DiffComponent {
        ecosystem: eco.clone(),
        name: name.clone(),
        version: v.to_owned(),
        purl: purl.to_owned(),
    };
    let empty = BTreeMap::new();
    let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (va, vb) = (a.get(k).unwrap_or(&empty), b.get(k).unwrap_or(&empty));
        let gone: Vec<(&String, &String)> =
            va.iter().filter(|(v, _)| !vb.contains_key(*v)).collect();
        let came: Vec<(&String, &String)> =
            vb.iter().filter(|(v, _)| !va.contains_key(*v)).collect();
        if gone.len() == 1 && came.len() == 1 {
            let (old, new) = (gone[0].0, came[0].0);
            let order = mcpsec_supply::version::Ecosystem::from_osv(&k.0)
                .and_then(|e| e.compare(old, new).ok())
                .unwrap_or_else(|| old.cmp(new));
            let change = VersionChange {
                ecosystem: k.0.clone(),
                name: k.1.clone(),
                from: old.clone(),
                to: new.clone(),
            };
            if order == std::cmp::Ordering::Greater {
                d.downgraded.push(change);
            } else {
                d.upgraded.push(change);
            }
            continue;
        }
        d.removed
            .extend(gone.into_iter().map(|(v, p)| comp(k, v, p)));
        d.added.extend(came.into_iter().map(|(v, p)| comp(k, v, p)));
    }
    let to_count = to.2.iter().filter(|f| counts(f)).count();
    d.unchanged_vulnerabilities = to_count.saturating_sub(d.new_vulnerabilities.len());
    d
}

/// What changed between two versions: components added, removed, upgraded and
/// downgraded, vulnerabilities new and fixed (both matched against the database now).
#[utoipa::path(get, path = "/api/v1/projects/{id}/diff", tag = "projects",
    params(("id" = String, Path, description = "Project id"), DiffParams),
    responses(
        (status = 200, description = "The diff", body = Diff),
        (status = 400, description = "Invalid versions", body = crate::error::ErrorBody),
        (status = 404, description = "No such project or version in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn diff(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(p): Query<DiffParams>,
) -> Result<Json<Diff>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}/diff", Some(&id)),
    )?;
    let project = project_of(&st, &who, &id).await?;
    let to = match p.to {
        Some(v) => v,
        None => latest_or_404(&project)?,
    };
    let from = match p.from {
        Some(v) => v,
        None if to > 1 => to - 1,
        None => {
            return Err(ApiError::bad_request(
                "the project has one version only: nothing to compare it with",
            ));
        }
    };
    if from == to {
        return Err(ApiError::bad_request("from and to name the same version"));
    }
    let (ia, ea) = evaluate_version(&st, &who.tenant, &id, from).await?;
    let (ib, eb) = evaluate_version(&st, &who.tenant, &id, to).await?;
    Ok(Json(diff_of(
        (from, &ia, &ea.report.findings),
        (to, &ib, &eb.report.findings),
        eb.generation,
    )))
}

/// The vulnerability database's state (no paths of the server are shown).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VulndbStatus {
    /// Whether a database was imported into the data directory.
    present: bool,
    /// Raised by every `mcpsec vulndb import`.
    generation: Option<u64>,
    /// Advisories stored.
    advisories: i64,
    /// Of which withdrawn.
    withdrawn: i64,
    /// Newest `modified` date of any advisory.
    newest_modified: Option<String>,
    /// Advisories per ecosystem.
    per_ecosystem: Vec<(String, i64)>,
    /// Last import (RFC 3339).
    last_import: Option<String>,
}

/// The vulnerability database's status.
#[utoipa::path(get, path = "/api/v1/vulndb", tag = "projects",
    responses((status = 200, description = "Status", body = VulndbStatus)),
    security(("bearer" = [])))]
pub(crate) async fn vulndb_status(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<VulndbStatus>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/vulndb", None),
    )?;
    let dir = st.data_dir.clone();
    let status = tokio::task::spawn_blocking(move || {
        let Some((db, g)) = open_db(dir.as_deref())? else {
            return Ok::<_, ApiError>(VulndbStatus {
                present: false,
                generation: None,
                advisories: 0,
                withdrawn: 0,
                newest_modified: None,
                per_ecosystem: vec![],
                last_import: None,
            });
        };
        let s = db.status().map_err(crate::supply_eval::db_error)?;
        Ok(VulndbStatus {
            present: true,
            generation: Some(g),
            advisories: s.advisories,
            withdrawn: s.withdrawn,
            newest_modified: s.newest_modified,
            per_ecosystem: s.per_ecosystem,
            last_import: s.sources.iter().map(|x| x.imported_at.clone()).max(),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(status))
}

/// Re-evaluates every stored SBOM (of every tenant) against the vulnerability database
/// now, raising an alert for each project with newly affected components; reports the
/// caller's tenant's figures.
#[utoipa::path(post, path = "/api/v1/vulndb/reevaluate", tag = "projects",
    responses(
        (status = 200, description = "Done", body = Reevaluation),
        (status = 403, description = "Not allowed (needs vulndb.admin)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn reevaluate(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Reevaluation>, ApiError> {
    st.authorize(
        &who,
        Action::VulndbAdmin,
        &http_attrs("POST", "/api/v1/vulndb/reevaluate", None),
    )?;
    let out = crate::supply_eval::reevaluate(&st, Some(who.tenant.clone()), false).await?;
    audit(
        &st,
        &who,
        "vulndb.reevaluate",
        "vulndb",
        serde_json::json!({ "generation": out.generation, "projects": out.projects, "alerts": out.alerts.len() }),
    );
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpsec_supply::inventory::Component;
    use mcpsec_supply::version::Ecosystem;

    fn inv(list: &[(&str, &str)]) -> Inventory {
        let mut i = Inventory::new("f", "test");
        for (n, v) in list {
            i.push(Component::new(Ecosystem::Npm, n, v, "x"));
        }
        i
    }

    #[test]
    fn diff_classifies_components() {
        let a = inv(&[
            ("a", "1.0.0"),
            ("b", "2.0.0"),
            ("c", "1.0.0"),
            ("d", "1.0.0"),
            ("d", "2.0.0"),
        ]);
        let b = inv(&[
            ("a", "1.0.0"),
            ("b", "10.0.0"),
            ("c", "0.9.0"),
            ("e", "1.0.0"),
            ("d", "3.0.0"),
        ]);
        let d = diff_of((1, &a, &[]), (2, &b, &[]), None);
        assert_eq!(d.upgraded.len(), 1);
        assert_eq!(
            (d.upgraded[0].name.as_str(), d.upgraded[0].to.as_str()),
            ("b", "10.0.0"),
            "ordered by the ecosystem's rules, not as text"
        );
        assert_eq!(d.downgraded.len(), 1);
        assert_eq!(d.downgraded[0].name, "c");
        let added: Vec<String> = d
            .added
            .iter()
            .map(|c| format!("{}@{}", c.name, c.version))
            .collect();
        let removed: Vec<String> = d
            .removed
            .iter()
            .map(|c| format!("{}@{}", c.name, c.version))
            .collect();
        assert_eq!(added, ["d@3.0.0", "e@1.0.0"]);
        assert_eq!(removed, ["d@1.0.0", "d@2.0.0"]);
    }
}
