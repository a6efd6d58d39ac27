//! The data of the `supply` report: each project's latest SBOM version matched against
//! the vulnerability database now (VEX applied, as `GET /api/v1/projects/{id}/findings`
//! does), its licences checked against the licence policy, and the diff with the
//! version before (as `GET /api/v1/projects/{id}/diff`).

use crate::ApiError;
use crate::projects_findings::diff_of;
use crate::supply_eval::{counts, embedded_vex, evaluate_with, load_vex, open_db, scan_options};
use mcpsec_core::TenantId;
use mcpsec_report::{
    Count, LicenceIssue, LicenceUse, LicenceVerdicts, ProjectPosture, SEVERITIES, SbomChanges,
    Supply, SupplyFinding,
};
use mcpsec_store::{Project, StateStore, StoreError};
use mcpsec_supply::cvss::Severity;
use mcpsec_supply::db::VulnDb;
use mcpsec_supply::inventory::Inventory;
use mcpsec_supply::license::{Policy, Verdict, check};
use mcpsec_supply::scan::Finding;
use mcpsec_supply::scan::ScanOptions;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the supply report reads what the state store does not hold.
#[derive(Clone, Copy, Default)]
pub struct SupplySources<'a> {
    /// The data dir with the vulnerability database (`None`: findings are empty and the
    /// report says so).
    pub vulndb_dir: Option<&'a Path>,
    /// The licence policy (`None`: the built-in default policy).
    pub policy: Option<&'a LicencePolicy>,
    /// Local clones that place commits in OSV `GIT` ranges (`[supply] git_repos`).
    pub git_repos: Option<&'a Path>,
}

/// A licence policy read from `[report] license_policy`, with the file it came from.
#[derive(Debug, Clone)]
pub struct LicencePolicy {
    /// The policy.
    pub policy: Policy,
    /// Its file name, shown in reports.
    pub name: String,
}

impl LicencePolicy {
    /// Reads a policy file (TOML; see `docs/license-policy.example.toml`).
    pub fn load(path: &Path) -> Result<Self, mcpsec_supply::license::PolicyError> {
        Ok(LicencePolicy {
            policy: Policy::load(path)?,
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
        })
    }
}

fn store_error(e: ApiError) -> StoreError {
    match e.code {
        mcpsec_core::ErrorCode::NotFound => StoreError::NotFound(e.message),
        _ => StoreError::Invalid(e.message),
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::None | Severity::Unknown => "unknown",
    }
}

/// The projects a report covers: one (by id or name) or all of the tenant's.
fn projects(
    state: &dyn StateStore,
    tenant: &TenantId,
    project: Option<&str>,
) -> Result<Vec<Project>, StoreError> {
    let Some(want) = project else {
        return state.list_projects(tenant);
    };
    if let Some(p) = state.get_project(tenant, want)? {
        return Ok(vec![p]);
    }
    match state
        .list_projects(tenant)?
        .into_iter()
        .find(|p| p.name == want)
    {
        Some(p) => Ok(vec![p]),
        None => Err(StoreError::NotFound(format!(
            "no project {:?} in this tenant (give a project id or name)",
            want.chars().take(200).collect::<String>()
        ))),
    }
}

/// A version's inventory and what matching it found.
struct Evaluated {
    inv: Inventory,
    findings: Vec<Finding>,
    warnings: Vec<String>,
    generation: Option<u64>,
}

/// The inventory of a version and its findings (VEX applied).
fn evaluate_version(
    state: &dyn StateStore,
    db: &mut Option<(VulnDb, u64)>,
    opts: &ScanOptions,
    tenant: &TenantId,
    project: &str,
    version: u32,
) -> Result<Evaluated, StoreError> {
    let Some(json) = state.sbom_inventory(tenant, project, version)? else {
        return Err(StoreError::NotFound(format!(
            "project {project:?} has no version {version}"
        )));
    };
    let inv: Inventory = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("stored inventory of {project}: {e}")))?;
    let mut vex = load_vex(state, tenant, project)?;
    if let Some(doc) = state.sbom_document(tenant, project, version)? {
        vex.extend(embedded_vex(&inv.file, &doc));
    }
    let ev = evaluate_with(db.as_mut(), inv.clone(), &vex, opts).map_err(store_error)?;
    Ok(Evaluated {
        inv,
        findings: ev.report.findings,
        warnings: ev.report.warnings,
        generation: ev.generation,
    })
}

fn finding(f: &Finding) -> SupplyFinding {
    SupplyFinding {
        id: f.id.clone(),
        aliases: f.aliases.iter().filter(|a| **a != f.id).cloned().collect(),
        package: f.package.clone(),
        version: f.version.clone(),
        purl: f.purl.clone(),
        severity: severity_name(f.severity).to_owned(),
        score: f.cvss.as_ref().and_then(|c| c.score),
        fixed: f.fixed.clone(),
        summary: f.summary.clone(),
        url: f.url.clone(),
        known_exploited: f.kev.is_some(),
        location: f.location.clone(),
    }
}

fn licences(policy: &Policy, inv: &Inventory, p: &mut ProjectPosture) {
    let report = check(policy, std::slice::from_ref(inv));
    p.verdicts = LicenceVerdicts {
        allowed: report.allowed as u64,
        review: report.review as u64,
        denied: report.denied as u64,
        missing: report.missing as u64,
        unknown: report.unknown as u64,
    };
    let mut uses: BTreeMap<String, (u64, Verdict)> = BTreeMap::new();
    for c in &report.components {
        let name = if c.licenses.is_empty() {
            "(none)".to_owned()
        } else {
            c.licenses.join(" AND ")
        };
        let e = uses.entry(name).or_insert((0, Verdict::Allow));
        e.0 += 1;
        e.1 = e.1.min(c.verdict);
        if c.verdict != Verdict::Allow {
            p.licence_issues.push(LicenceIssue {
                package: c.package.clone(),
                version: c.version.clone(),
                licences: c.licenses.join(", "),
                verdict: c.verdict.as_str().to_owned(),
                reason: c.reasons.join("; "),
            });
        }
    }
    p.licences = uses
        .into_iter()
        .map(|(licence, (components, v))| LicenceUse {
            licence,
            components,
            verdict: v.as_str().to_owned(),
        })
        .collect();
    p.licences.sort_by(|a, b| {
        b.components
            .cmp(&a.components)
            .then(a.licence.cmp(&b.licence))
    });
}

fn changes(d: crate::projects_findings::Diff) -> SbomChanges {
    let comp = |c: &crate::projects_findings::DiffComponent| format!("{}@{}", c.name, c.version);
    let change =
        |c: &crate::projects_findings::VersionChange| format!("{} {} -> {}", c.name, c.from, c.to);
    let vuln =
        |v: &crate::projects_findings::DiffVulnerability| format!("{} ({})", v.id, v.package);
    SbomChanges {
        from: d.from,
        to: d.to,
        added: d.added.iter().map(comp).collect(),
        removed: d.removed.iter().map(comp).collect(),
        upgraded: d.upgraded.iter().map(change).collect(),
        downgraded: d.downgraded.iter().map(change).collect(),
        new_vulnerabilities: d.new_vulnerabilities.iter().map(vuln).collect(),
        fixed_vulnerabilities: d.fixed_vulnerabilities.iter().map(vuln).collect(),
    }
}

fn posture(
    state: &dyn StateStore,
    db: &mut Option<(VulnDb, u64)>,
    opts: &ScanOptions,
    policy: &Policy,
    tenant: &TenantId,
    project: &Project,
) -> Result<ProjectPosture, StoreError> {
    let mut p = ProjectPosture {
        id: project.id.clone(),
        name: project.name.clone(),
        version: project.latest_version,
        by_severity: SEVERITIES
            .iter()
            .map(|s| Count {
                name: (*s).to_owned(),
                count: 0,
            })
            .collect(),
        ..ProjectPosture::default()
    };
    let latest = project.latest_version;
    if latest == 0 {
        p.warnings.push("no SBOM uploaded yet".to_owned());
        return Ok(p);
    }
    if let Some(v) = state.get_sbom(tenant, &project.id, latest)? {
        p.file_name = v.file_name;
        p.format = v.format;
        p.components = v.components;
    }
    let Evaluated {
        inv,
        findings: found,
        warnings,
        generation,
    } = evaluate_version(state, db, opts, tenant, &project.id, latest)?;
    p.vulndb_generation = generation;
    p.warnings = warnings;
    p.suppressed = found.iter().filter(|f| f.suppressed).count() as u64;
    for f in found.iter().filter(|f| counts(f)) {
        let name = severity_name(f.severity);
        if let Some(c) = p.by_severity.iter_mut().find(|c| c.name == name) {
            c.count += 1;
        }
        p.fixable += u64::from(f.fixed.is_some());
        p.findings.push(finding(f));
    }
    licences(policy, &inv, &mut p);
    if latest > 1 {
        let before = evaluate_version(state, db, opts, tenant, &project.id, latest - 1)?;
        p.changes = Some(changes(diff_of(
            (latest - 1, &before.inv, &before.findings),
            (latest, &inv, &found),
            generation,
        )));
    }
    Ok(p)
}

/// The supply posture of one project (id or name) or of every project of the tenant.
pub(crate) fn supply(
    state: &dyn StateStore,
    src: SupplySources<'_>,
    tenant: &TenantId,
    project: Option<&str>,
) -> Result<Supply, StoreError> {
    let list = projects(state, tenant, project)?;
    let mut db = open_db(src.vulndb_dir).map_err(store_error)?;
    let opts = scan_options(src.git_repos);
    let default = Policy::default();
    let (policy, name) = match src.policy {
        Some(p) => (&p.policy, p.name.as_str()),
        None => (&default, "built-in default"),
    };
    let mut out = Supply {
        policy: name.to_owned(),
        projects: Vec::with_capacity(list.len()),
    };
    for p in &list {
        out.projects
            .push(posture(state, &mut db, &opts, policy, tenant, p)?);
    }
    Ok(out)
}
