//! Matching stored project SBOMs against the vulnerability database, and re-evaluating
//! all of them when the database changes.
//!
//! Key design decision: what a version was last found affected by is stored with it (as
//! "finding keys": component × every id and alias of each finding), and an alert is raised
//! only for findings none of whose ids were there before — in the same transaction that
//! stores the new keys. So an advisory that merely adds an alias to a known finding raises
//! nothing, a restart raises nothing twice, and each tenant only ever gets alerts about
//! its own projects.

use crate::{ApiError, AppState};
use chrono::Utc;
use mcpsec_core::{ErrorCode, TenantId};
use mcpsec_store::{Alert, AlertKind, AlertStatus, LatestSbom, StateStore};
use mcpsec_supply::cvss::Severity;
use mcpsec_supply::db::{DbError, VulnDb};
use mcpsec_supply::inventory::Inventory;
use mcpsec_supply::osv::GitHistory;
use mcpsec_supply::scan::{Finding, ScanOptions, ScanReport, scan_with};
use mcpsec_supply::vex::VexDocument;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The rule id of supply-chain alerts.
pub const NEW_VULNERABILITY_RULE: &str = "supply:new-vulnerability";
/// The checkpoint that remembers the database generation last re-evaluated against.
pub const GENERATION_CHECKPOINT: &str = "supply.vulndb_generation";
/// Findings described in full inside one alert (the count is always exact).
const MAX_ALERT_FINDINGS: usize = 100;

pub(crate) fn db_error(e: DbError) -> ApiError {
    ApiError::internal(e)
}

/// Opens the vulnerability database of the data directory; `None` when none was
/// imported (findings are then empty, and say so).
pub(crate) fn open_db(dir: Option<&Path>) -> Result<Option<(VulnDb, u64)>, ApiError> {
    let Some(dir) = dir else { return Ok(None) };
    match VulnDb::open_existing(dir) {
        Ok(db) => {
            let g = db.generation().map_err(db_error)?;
            Ok(Some((db, g)))
        }
        Err(DbError::Missing(_)) => Ok(None),
        Err(e) => Err(db_error(e)),
    }
}

/// One evaluation's result.
pub(crate) struct Evaluation {
    /// Findings (VEX applied).
    pub report: ScanReport,
    /// Generation of the database used (none: no database).
    pub generation: Option<u64>,
}

/// What a scan may use beyond the database: the local clones of `[supply] git_repos`
/// that order commits for OSV `GIT` ranges. Built per evaluation, so clones fetched
/// meanwhile are read afresh.
pub(crate) fn scan_options(git_repos: Option<&Path>) -> ScanOptions {
    ScanOptions {
        git_history: git_repos.map(GitHistory::new),
    }
}

/// Scans one inventory, applying the project's VEX documents and the statements the
/// SBOM itself carries (a CycloneDX BOM with `vulnerabilities[].analysis`).
pub(crate) fn evaluate_with(
    db: Option<&mut (VulnDb, u64)>,
    inv: Inventory,
    vex: &[VexDocument],
    opts: &ScanOptions,
) -> Result<Evaluation, ApiError> {
    let Some((db, generation)) = db else {
        let mut report = ScanReport {
            components: inv.components.len(),
            ..Default::default()
        };
        report.warnings.push(
            "no vulnerability database: run `mcpsec vulndb import` in the server's data directory"
                .into(),
        );
        return Ok(Evaluation {
            report,
            generation: None,
        });
    };
    let mut report = scan_with(db, vec![inv], opts).map_err(|e| match e {
        mcpsec_supply::scan::ScanError::Db(e) => db_error(e),
        e => ApiError::new(ErrorCode::BadRequest, e.to_string()),
    })?;
    if !vex.is_empty() {
        mcpsec_supply::vex::apply(&mut report, vex);
        report.risk = mcpsec_supply::risk::assess(&mut report);
    }
    Ok(Evaluation {
        report,
        generation: Some(*generation),
    })
}

/// The keys a finding stands for: its component with each of its ids and aliases.
fn keys_of(f: &Finding) -> impl Iterator<Item = String> + '_ {
    std::iter::once(&f.id)
        .chain(&f.aliases)
        .map(move |id| format!("{}|{}|{}|{}", f.ecosystem, f.package, f.version, id))
}

/// Whether a finding counts as "affected" (not VEX-suppressed, not an informational
/// notice such as "unmaintained").
pub(crate) fn counts(f: &Finding) -> bool {
    !f.suppressed && f.informational.is_none()
}

/// The sorted, de-duplicated keys of the findings that count.
pub(crate) fn finding_keys(report: &ScanReport) -> Vec<String> {
    let set: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| counts(f))
        .flat_map(keys_of)
        .collect();
    set.into_iter().collect()
}

/// The findings none of whose keys were known before.
pub(crate) fn new_findings<'a>(report: &'a ScanReport, before: &[String]) -> Vec<&'a Finding> {
    let before: BTreeSet<&str> = before.iter().map(String::as_str).collect();
    report
        .findings
        .iter()
        .filter(|f| counts(f))
        .filter(|f| keys_of(f).all(|k| !before.contains(k.as_str())))
        .collect()
}

/// Sigma level of a supply-chain alert: the most severe new finding's (unknown counts as
/// medium; a malicious package as critical).
fn level_of(findings: &[&Finding]) -> &'static str {
    if findings.iter().any(|f| f.malicious) {
        return "critical";
    }
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Critical) => "critical",
        Some(Severity::High) => "high",
        Some(Severity::Low) => "low",
        Some(Severity::None) => "informational",
        _ => "medium",
    }
}

/// The alert for newly affected components of one project version.
pub(crate) fn alert_for(
    tenant: &TenantId,
    project: &LatestSbom,
    generation: Option<u64>,
    new: &[&Finding],
) -> Alert {
    let now = Utc::now();
    let mut ids: Vec<String> = new.iter().map(|f| f.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let components: BTreeSet<String> = new
        .iter()
        .map(|f| format!("{}@{}", f.package, f.version))
        .collect();
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = if ids.len() > shown.len() {
        format!(" and {} more", ids.len() - shown.len())
    } else {
        String::new()
    };
    let events = new
        .iter()
        .take(MAX_ALERT_FINDINGS)
        .map(|f| {
            serde_json::json!({
                "id": f.id, "aliases": f.aliases, "advisories": f.advisories,
                "ecosystem": f.ecosystem, "package": f.package, "version": f.version,
                "purl": f.purl, "severity": f.severity, "fixed": f.fixed,
                "summary": f.summary, "url": f.url, "malicious": f.malicious,
                "kev": f.kev.is_some(), "direct": f.direct, "path": f.path,
            })
        })
        .collect();
    let mut group = serde_json::Map::new();
    group.insert("project".into(), project.project.clone().into());
    group.insert("project_name".into(), project.name.clone().into());
    group.insert("version".into(), project.version.into());
    group.insert("advisories".into(), ids.clone().into());
    group.insert(
        "components".into(),
        components.iter().cloned().collect::<Vec<_>>().into(),
    );
    if let Some(g) = generation {
        group.insert("vulndb_generation".into(), g.into());
    }
    Alert {
        id: ulid::Ulid::new().to_string(),
        tenant: tenant.clone(),
        kind: AlertKind::Supply,
        rule_id: NEW_VULNERABILITY_RULE.into(),
        rule_title: format!(
            "Project {}: {} newly affected component(s): {}{more}",
            project.name,
            components.len(),
            shown.join(", ")
        ),
        rule_version: 0,
        level: level_of(new).into(),
        tags: vec![
            "supply-chain".into(),
            format!("project:{}", project.project),
        ],
        techniques: vec!["T1195.001".into()],
        tactics: vec!["initial_access".into()],
        host: None,
        event_ids: Vec::new(),
        events,
        event_count: new.len() as u64,
        group: Some(group),
        event_time: now,
        created_at: now,
        seq: 0,
        status: AlertStatus::Open,
        status_by: None,
        status_at: None,
    }
}

/// Reads a project's VEX documents (unreadable ones are skipped: they were checked at
/// upload).
pub(crate) fn load_vex(
    store: &dyn StateStore,
    tenant: &TenantId,
    project: &str,
) -> mcpsec_store::Result<Vec<VexDocument>> {
    Ok(store
        .project_vex(tenant, project)?
        .into_iter()
        .filter_map(|(meta, bytes)| {
            let text = String::from_utf8(bytes).ok()?;
            mcpsec_supply::vex::parse_vex(&meta.file_name, &text).ok()
        })
        .collect())
}

/// The statements an SBOM carries itself, if it is a BOM with analysed vulnerabilities.
pub(crate) fn embedded_vex(file: &str, document: &[u8]) -> Option<VexDocument> {
    let text = std::str::from_utf8(document).ok()?;
    if !text.contains("\"vulnerabilities\"") && !text.contains("<vulnerabilities") {
        return None;
    }
    mcpsec_supply::vex::parse_vex(file, text)
        .ok()
        .filter(|d| !d.statements.is_empty())
}

/// What one re-evaluation did, for the caller's tenant.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub(crate) struct Reevaluation {
    /// Generation of the vulnerability database used (none: no database).
    pub generation: Option<u64>,
    /// Projects of the caller's tenant evaluated.
    pub projects: usize,
    /// Alerts raised for the caller's tenant.
    pub alerts: Vec<String>,
    /// Projects that could not be evaluated (with why).
    pub errors: Vec<String>,
}

/// Re-evaluates the latest version of every project of every tenant against the
/// database, stores the new finding keys and raises alerts for newly affected projects.
/// Returns the figures of `caller` (all tenants when `None`) and the alerts raised.
fn reevaluate_blocking(
    store: &dyn StateStore,
    data_dir: Option<&Path>,
    git_repos: Option<&Path>,
    caller: Option<&TenantId>,
    only_stale: bool,
) -> Result<(Reevaluation, Vec<Alert>), ApiError> {
    let mut out = Reevaluation::default();
    let mut raised = Vec::new();
    let Some(mut db) = open_db(data_dir)? else {
        return Ok((out, raised));
    };
    out.generation = Some(db.1);
    let current = db.1;
    let opts = scan_options(git_repos);
    for p in store
        .latest_sboms()?
        .into_iter()
        .filter(|p| !only_stale || p.vulndb_generation != Some(current))
    {
        let mine = caller.is_none_or(|t| *t == p.tenant);
        let result = (|| -> Result<Option<Alert>, ApiError> {
            let Some(json) = store.sbom_inventory(&p.tenant, &p.project, p.version)? else {
                return Ok(None); // deleted meanwhile
            };
            let inv: Inventory = serde_json::from_str(&json).map_err(ApiError::internal)?;
            let mut vex = load_vex(store, &p.tenant, &p.project)?;
            if let Some(doc) = store.sbom_document(&p.tenant, &p.project, p.version)?
                && let Some(d) = embedded_vex(&inv.file, &doc)
            {
                vex.insert(0, d);
            }
            let ev = evaluate_with(Some(&mut db), inv, &vex, &opts)?;
            let keys = finding_keys(&ev.report);
            let before = store.finding_keys(&p.tenant, &p.project, p.version)?;
            let new = new_findings(&ev.report, &before);
            let alert = (!new.is_empty()).then(|| alert_for(&p.tenant, &p, ev.generation, &new));
            store.commit_evaluation(
                &p.tenant,
                &p.project,
                p.version,
                &keys,
                ev.generation,
                alert.as_slice(),
            )?;
            Ok(alert)
        })();
        match result {
            Ok(alert) => {
                if mine {
                    out.projects += 1;
                    if let Some(a) = &alert {
                        out.alerts.push(a.id.clone());
                    }
                }
                raised.extend(alert);
            }
            Err(e) => {
                tracing::error!(tenant = %p.tenant.as_str(), project = %p.project, error = %e.message, "supply-chain re-evaluation failed");
                if mine {
                    out.errors
                        .push(format!("project {}: {}", p.project, e.message));
                }
            }
        }
    }
    Ok((out, raised))
}

/// Runs a re-evaluation (one at a time) and publishes its alerts to the alert stream;
/// `only_stale`: just the versions last evaluated against another generation.
pub(crate) async fn reevaluate(
    st: &AppState,
    caller: Option<TenantId>,
    only_stale: bool,
) -> Result<Reevaluation, ApiError> {
    let _one = st.reevaluation.lock().await;
    let store = st.state.clone();
    let (dir, git) = (st.data_dir.clone(), st.git_repos.clone());
    let (out, raised) = tokio::task::spawn_blocking(move || {
        reevaluate_blocking(
            store.as_ref(),
            dir.as_deref(),
            git.as_deref(),
            caller.as_ref(),
            only_stale,
        )
    })
    .await
    .map_err(ApiError::internal)??;
    if !raised.is_empty() {
        metrics::counter!("mcpsec_supply_alerts_total").increment(raised.len() as u64);
        tracing::info!(
            alerts = raised.len(),
            "supply chain: newly affected projects alerted"
        );
    }
    if let Some(d) = &st.detector {
        d.publish(&raised);
    }
    if let Some(g) = out.generation {
        st.on_store(move |s| s.set_checkpoint(GENERATION_CHECKPOINT, &g.to_string()))
            .await?;
    }
    Ok(out)
}

/// One check of the periodic watcher: re-evaluates when the database generation differs
/// from the one last re-evaluated against.
async fn check_once(st: &AppState) -> Result<(), ApiError> {
    let dir = st.data_dir.clone();
    let now = tokio::task::spawn_blocking(move || match dir {
        Some(d) => VulnDb::generation_in(&d).map_err(db_error),
        None => Ok(None),
    })
    .await
    .map_err(ApiError::internal)??;
    let Some(now) = now else { return Ok(()) };
    let seen = st
        .on_store(|s| s.checkpoint(GENERATION_CHECKPOINT))
        .await?
        .and_then(|v| v.parse::<u64>().ok());
    // versions uploaded while an import was under way were matched against the older
    // generation: they are evaluated again too
    let stale = st
        .on_store(move |s| {
            Ok(s.latest_sboms()?
                .iter()
                .any(|p| p.vulndb_generation != Some(now)))
        })
        .await?;
    if seen == Some(now) && !stale {
        return Ok(());
    }
    let changed = seen != Some(now);
    if changed {
        tracing::info!(
            generation = now,
            previous = ?seen,
            "vulnerability database changed: re-evaluating stored SBOMs"
        );
    }
    let out = reevaluate(st, None, !changed).await?;
    if changed || !out.alerts.is_empty() {
        st.audit(mcpsec_store::AuditEvent {
            tenant: "-".into(),
            actor: format!("process:{}", std::process::id()),
            action: "vulndb.reevaluate".into(),
            target: "vulndb".into(),
            outcome: "success".into(),
            details: serde_json::json!({
                "generation": out.generation, "previous": seen, "projects": out.projects,
                "alerts": out.alerts.len(), "errors": out.errors.len(), "trigger": "watch",
            }),
        });
    }
    Ok(())
}

/// Watches the vulnerability database of the data directory and re-evaluates every
/// stored SBOM when an import changed it (checked every `every`, and at start, so an
/// import made while `serve` was stopped is picked up too).
pub fn spawn_vulndb_watch(
    st: AppState,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let st = Arc::new(st);
    tokio::spawn(async move {
        loop {
            if let Err(e) = check_once(&st).await {
                tracing::error!(error = %e.message, "vulnerability database check failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, aliases: &[&str], suppressed: bool) -> Finding {
        Finding {
            file: "f".into(),
            inventory: 0,
            component: 0,
            ecosystem: "npm".into(),
            package: "left-pad".into(),
            version: "1.0.0".into(),
            purl: "pkg:npm/left-pad@1.0.0".into(),
            id: id.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            advisories: vec![id.into()],
            summary: String::new(),
            severity: Severity::High,
            cvss: None,
            fixed: None,
            affected_ranges: vec![],
            informational: None,
            functions: vec![],
            direct: None,
            path: vec![],
            location: String::new(),
            url: None,
            bom_ref: None,
            vex: None,
            suppressed,
            epss: None,
            kev: None,
            malicious: false,
            risk: 0.0,
        }
    }

    #[test]
    fn new_means_no_id_or_alias_seen_before() {
        let old = ScanReport {
            findings: vec![finding("GHSA-a", &["CVE-1"], false)],
            ..Default::default()
        };
        let keys = finding_keys(&old);
        let now = ScanReport {
            findings: vec![
                // same vulnerability, now led by another id: not new
                finding("RUSTSEC-1", &["CVE-1", "GHSA-a"], false),
                finding("GHSA-b", &[], false),
                finding("GHSA-c", &[], true),
            ],
            ..Default::default()
        };
        let new = new_findings(&now, &keys);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].id, "GHSA-b");
        assert!(new_findings(&now, &finding_keys(&now)).is_empty());
    }

    /// Re-evaluation cost: `cargo test -p mcpsec-server --lib reevaluation_figures --
    /// --ignored --nocapture` (50 projects of 2,000 npm components against 2,000
    /// advisories, half the components affected).
    #[test]
    #[ignore]
    fn reevaluation_figures() {
        use mcpsec_store::{NewSbom, ProjectStore, SqliteState};
        let tmp = tempfile::tempdir().expect("tmp");
        let adv = tmp.path().join("adv");
        std::fs::create_dir_all(&adv).expect("mkdir");
        for i in 0..2000 {
            let a = serde_json::json!({"id": format!("GHSA-perf-{i}"), "modified": "2025-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "npm", "name": format!("pkg{i}")},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]});
            std::fs::write(adv.join(format!("{i}.json")), a.to_string()).expect("write");
        }
        let mut db = VulnDb::open_dir(tmp.path()).expect("db");
        db.import(&adv).expect("import");
        drop(db);
        let store = SqliteState::in_memory().expect("store");
        let mut inv = Inventory::new("bom.json", "test");
        for i in 0..2000 {
            let v = if i % 2 == 0 { "1.0.0" } else { "3.0.0" };
            inv.push(mcpsec_supply::inventory::Component::new(
                mcpsec_supply::version::Ecosystem::Npm,
                &format!("pkg{i}"),
                v,
                "x",
            ));
        }
        let json = serde_json::to_string(&inv).expect("json");
        for t in 0..5 {
            let tenant = TenantId::new(&format!("t{t}")).expect("tenant");
            for p in 0..10 {
                let pr = store
                    .create_project(&tenant, &format!("p{p}"), None, "k", Utc::now())
                    .expect("project");
                store
                    .add_sbom(
                        &tenant,
                        &pr.id,
                        &NewSbom {
                            file_name: "bom.json",
                            content_type: None,
                            format: "test",
                            document: b"{}",
                            sha256: "0",
                            inventory: &json,
                            components: 2000,
                            warnings: &[],
                            finding_keys: &[],
                            vulndb_generation: None,
                            actor: "k",
                            at: Utc::now(),
                        },
                    )
                    .expect("sbom");
            }
        }
        for round in ["first (every finding new)", "second (nothing new)"] {
            let t = std::time::Instant::now();
            let (out, alerts) = reevaluate_blocking(&store, Some(tmp.path()), None, None, false)
                .expect("reevaluate");
            eprintln!(
                "{round}: {} projects x 2000 components, {} alerts, {:.0} ms",
                out.projects,
                alerts.len(),
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}
