//! Matching inventories against the database. One indexed look-up per distinct
//! (ecosystem, name); each candidate advisory's affected entries are evaluated with the
//! ecosystem's ordering; advisories that share an id or alias (CVE/GHSA) for the same
//! component merge into one [`Finding`] that says which version fixes all of them.

use crate::cvss::{Scored, Severity};
use crate::db::{DbError, VulnDb};
use crate::inventory::{InputError, Inventory};
use crate::osv::match_affected;
use crate::version::Ecosystem;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Inputs larger than this are refused (the largest real SBOMs are tens of MiB).
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// One vulnerability of one component (advisories with shared aliases merged).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The input file.
    pub file: String,
    /// Index of the inventory in [`ScanReport::inventories`].
    pub inventory: usize,
    /// Index of the component in its inventory.
    pub component: usize,
    /// Ecosystem.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Primary id (source advisory first: RUSTSEC/GHSA/GO/PYSEC before CVE).
    pub id: String,
    /// All ids of the merged advisories and their aliases.
    pub aliases: Vec<String>,
    /// The matched advisories (ids as stored).
    pub advisories: Vec<String>,
    /// Summary.
    pub summary: String,
    /// Severity (highest of the merged advisories).
    pub severity: Severity,
    /// The CVSS reading behind the severity, if any.
    pub cvss: Option<Scored>,
    /// Smallest version that fixes every merged advisory, when all name a fix.
    pub fixed: Option<String>,
    /// The affected intervals the version falls in.
    pub affected_ranges: Vec<String>,
    /// RustSec informational kind (unmaintained, unsound, notice): a warning, not a
    /// vulnerability.
    pub informational: Option<String>,
    /// Affected functions/symbols the advisories name (Go `imports[].symbols`, RustSec
    /// `affected.functions`): what to look for in the code to judge reachability.
    pub functions: Vec<String>,
    /// Whether the input marks the component as a direct dependency.
    pub direct: Option<bool>,
    /// Dependency path from a root to the component (names@versions), when the input
    /// records edges.
    pub path: Vec<String>,
    /// Where in the input the component is.
    pub location: String,
    /// Advisory link.
    pub url: Option<String>,
    /// The component's SBOM identifier (bom-ref / SPDXID), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// The VEX statement applied to this finding, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vex: Option<crate::vex::VexApplied>,
    /// Suppressed by VEX (`not_affected`, `fixed`): kept in the report, never fails a
    /// scan.
    pub suppressed: bool,
    /// EPSS reading of its CVE ids (the highest), when `vulndb import` was given the EPSS
    /// CSV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<crate::exploit::Epss>,
    /// CISA KEV entry of one of its CVE ids: known to be exploited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<crate::exploit::Kev>,
    /// From a malicious-package advisory (OSV `MAL-`): whatever its severity.
    pub malicious: bool,
    /// Risk 0–10 ([`crate::risk::finding_risk`]).
    pub risk: f64,
}

/// A scan's result.
#[derive(Debug, Default, Serialize)]
pub struct ScanReport {
    /// The inputs read.
    pub inventories: Vec<InventorySummary>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Input-level errors and element-level warnings.
    pub warnings: Vec<String>,
    /// Components looked at.
    pub components: usize,
    /// Milliseconds spent matching (after reading inputs).
    pub match_ms: f64,
    /// Risk per component and for the project ([`crate::risk::assess`]).
    pub risk: crate::risk::RiskSummary,
    /// Names close to popular packages' (possible typosquats).
    pub typosquats: Vec<crate::risk::Typosquat>,
}

/// One input in a report.
#[derive(Debug, Serialize)]
pub struct InventorySummary {
    /// File.
    pub file: String,
    /// Format.
    pub format: String,
    /// Components.
    pub components: usize,
    /// Dependency edges.
    pub edges: usize,
    /// The product the input describes (for product-level VEX statements).
    #[serde(skip_serializing_if = "crate::inventory::ProductRef::is_empty")]
    pub product: crate::inventory::ProductRef,
}

/// Scan errors (inputs that cannot be read at all are warnings, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Nothing scannable was found.
    #[error("{0}")]
    NoInput(String),
}

/// Reads one input file: a lockfile by name, else an SBOM by content.
pub fn read_input(path: &Path) -> Result<Inventory, InputError> {
    let file = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| InputError::new(&file, format!("cannot read: {e}")))?;
    if meta.len() > MAX_INPUT_BYTES {
        return Err(InputError::new(
            &file,
            format!("too large ({} bytes; limit {MAX_INPUT_BYTES})", meta.len()),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| InputError::new(&file, format!("cannot read: {e}")))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    read_bytes(&file, &name, &bytes)
}

/// Reads one input held in memory (an upload): `file` names it in messages, `name` is
/// the file name that picks a lockfile reader (`Cargo.lock`, `package-lock.json`...);
/// any other name is read as an SBOM recognised by its content.
pub fn read_bytes(file: &str, name: &str, bytes: &[u8]) -> Result<Inventory, InputError> {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::new(
            file,
            format!("too large ({} bytes; limit {MAX_INPUT_BYTES})", bytes.len()),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| InputError::new(file, format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    if let Some(r) = crate::lockfile::reader_for(name) {
        return r(file, text);
    }
    if text.trim().is_empty() {
        return Err(InputError::new(file, "empty document"));
    }
    if let Some(r) = crate::sbom::sniff(text) {
        return r(file, text);
    }
    if crate::reports::sniff(text).is_some() {
        return crate::reports::parse_report(file, text);
    }
    Err(InputError::new(
        file,
        "not a recognised lockfile name, SBOM format (CycloneDX, SPDX) or scanner report",
    ))
}

/// Files to scan under a directory: known lockfile names and `*.json`/`*.xml`/`*.spdx`
/// SBOM candidates (by name: `bom`, `sbom`, `.cdx.`, `.spdx`), skipping VCS, vendored
/// and build directories.
pub fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if !name.starts_with('.')
                    && !matches!(
                        name.as_str(),
                        "node_modules" | "target" | "vendor" | "__pycache__"
                    )
                {
                    stack.push(e.path());
                }
            } else if ft.is_file() {
                let lower = name.to_ascii_lowercase();
                let sbomish = (lower.ends_with(".json")
                    || lower.ends_with(".xml")
                    || lower.ends_with(".spdx"))
                    && (lower.contains("bom") || lower.contains(".cdx") || lower.contains("spdx"));
                if crate::lockfile::reader_for(&name).is_some() || sbomish {
                    out.push(e.path());
                }
            }
        }
    }
    out.sort();
    out
}

fn id_rank(id: &str) -> u8 {
    if id.starts_with("CVE-") {
        2
    } else if id.starts_with("GHSA-") {
        1
    } else {
        0
    }
}

/// What a scan may use beyond the database.
#[derive(Debug, Default)]
pub struct ScanOptions {
    /// Local clones that order commits for OSV `GIT` ranges
    /// ([`crate::osv::GitHistory`]); without them only exact commits and listed
    /// revisions match.
    pub git_history: Option<crate::osv::GitHistory>,
}

/// Matches inventories against the database.
pub fn scan(db: &mut VulnDb, inventories: Vec<Inventory>) -> Result<ScanReport, ScanError> {
    scan_with(db, inventories, &ScanOptions::default())
}

/// [`scan`] with options.
pub fn scan_with(
    db: &mut VulnDb,
    inventories: Vec<Inventory>,
    opts: &ScanOptions,
) -> Result<ScanReport, ScanError> {
    let t = std::time::Instant::now();
    let mut report = ScanReport {
        typosquats: crate::risk::typosquats(&inventories),
        ..Default::default()
    };
    for (ii, inv) in inventories.iter().enumerate() {
        report.inventories.push(InventorySummary {
            file: inv.file.clone(),
            format: inv.format.clone(),
            components: inv.components.len(),
            edges: inv.edges.len(),
            product: inv.product.clone(),
        });
        for w in &inv.warnings {
            report.warnings.push(format!("{}: {w}", inv.file));
        }
        report.components += inv.components.len();
        let mut seen: BTreeSet<(Ecosystem, String, String)> = BTreeSet::new();
        let mut parents: Option<Vec<Vec<usize>>> = None;
        for (ci, c) in inv.components.iter().enumerate() {
            let Some(eco) = c.ecosystem else { continue };
            if c.local || c.version.is_empty() {
                continue;
            }
            if !seen.insert((eco, eco.normalize_name(&c.name), c.version.clone())) {
                continue;
            }
            let key = (eco, eco.normalize_name(&c.name));
            let candidates = db.advisories_for(eco, &c.name)?;
            if candidates.is_empty() {
                continue;
            }
            if let Err(e) = eco.validate(&c.version) {
                report.warnings.push(format!(
                    "{}: {} ({}): {e}; not matched",
                    inv.file, c.name, c.location
                ));
                continue;
            }
            // matched advisories for this component
            let mut hits: Vec<(std::sync::Arc<crate::osv::Advisory>, Option<String>, String)> =
                Vec::new();
            for adv in candidates {
                for a in &adv.affected {
                    let (e2, n2) = crate::db::index_key(&a.package.ecosystem, &a.package.name);
                    if e2 != eco.osv_name()
                        || n2 != key.1
                        || !crate::inventory::distro_matches(
                            c.distro.as_deref(),
                            &a.package.ecosystem,
                        )
                    {
                        continue;
                    }
                    match match_affected(eco, a, &c.version) {
                        Ok(Some(m)) => {
                            hits.push((adv.clone(), m.fixed, m.interval));
                            break;
                        }
                        Ok(None) => {}
                        Err(e) => report.warnings.push(format!("advisory {}: {e}", adv.id)),
                    }
                }
            }
            // merge by shared ids/aliases (union-find over hit indices)
            let n = hits.len();
            let mut parent: Vec<usize> = (0..n).collect();
            fn find(p: &mut [usize], x: usize) -> usize {
                let mut r = x;
                while p[r] != r {
                    r = p[r];
                }
                p[x] = r;
                r
            }
            let mut owner: HashMap<String, usize> = HashMap::new();
            for (i, (a, _, _)) in hits.iter().enumerate() {
                for name in std::iter::once(&a.id).chain(&a.aliases) {
                    if let Some(&j) = owner.get(name) {
                        let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                        parent[ri] = rj;
                    } else {
                        owner.insert(name.clone(), i);
                    }
                }
            }
            let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
            for i in 0..n {
                let r = find(&mut parent, i);
                groups.entry(r).or_default().push(i);
            }
            let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
            groups.sort();
            for g in groups {
                let mut ids: Vec<String> = g.iter().map(|&i| hits[i].0.id.clone()).collect();
                ids.sort_by_key(|x| (id_rank(x), x.clone()));
                let mut all: BTreeSet<String> = BTreeSet::new();
                for &i in &g {
                    all.insert(hits[i].0.id.clone());
                    all.extend(hits[i].0.aliases.iter().cloned());
                }
                let primary = ids[0].clone();
                let lead = g
                    .iter()
                    .map(|&i| &hits[i].0)
                    .find(|a| a.id == primary)
                    .unwrap_or(&hits[g[0]].0);
                let severity = g
                    .iter()
                    .map(|&i| hits[i].0.severity_rating())
                    .max()
                    .unwrap_or(Severity::Unknown);
                let cvss = g
                    .iter()
                    .filter_map(|&i| hits[i].0.cvss())
                    .filter(|s| s.score.is_some())
                    .max_by(|a, b| a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal));
                let fixes: Vec<Option<&String>> = g.iter().map(|&i| hits[i].1.as_ref()).collect();
                let fixed = if fixes.iter().all(Option::is_some) {
                    fixes
                        .iter()
                        .flatten()
                        .copied()
                        .max_by(|a, b| eco.compare(a, b).unwrap_or(Ordering::Equal))
                        .cloned()
                } else {
                    None
                };
                let mut ranges: Vec<String> = g.iter().map(|&i| hits[i].2.clone()).collect();
                ranges.sort();
                ranges.dedup();
                let summary = lead
                    .summary
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .or_else(|| {
                        lead.details
                            .as_ref()
                            .map(|d| d.lines().next().unwrap_or("").chars().take(160).collect())
                    })
                    .unwrap_or_default();
                let url = lead
                    .references
                    .iter()
                    .find(|r| r.kind == "ADVISORY")
                    .or_else(|| lead.references.first())
                    .map(|r| r.url.clone());
                let path = if inv.edges.is_empty() {
                    vec![]
                } else {
                    inv.path_with(parents.get_or_insert_with(|| inv.parents()), ci)
                        .iter()
                        .map(|&k| {
                            format!("{}@{}", inv.components[k].name, inv.components[k].version)
                        })
                        .collect()
                };
                report.findings.push(Finding {
                    file: inv.file.clone(),
                    inventory: ii,
                    component: ci,
                    ecosystem: eco.osv_name().to_string(),
                    package: c.name.clone(),
                    version: c.version.clone(),
                    purl: c.purl.clone(),
                    id: primary,
                    aliases: all.into_iter().collect(),
                    advisories: ids,
                    summary,
                    severity,
                    cvss,
                    fixed,
                    affected_ranges: ranges,
                    functions: affected_functions(g.iter().map(|&i| &*hits[i].0), &key.1),
                    informational: g
                        .iter()
                        .find_map(|&i| hits[i].0.informational().map(str::to_string)),
                    direct: c.direct,
                    path,
                    location: c.location.clone(),
                    url,
                    bom_ref: c.bom_ref.clone(),
                    vex: None,
                    suppressed: false,
                    epss: None,
                    kev: None,
                    malicious: false,
                    risk: 0.0,
                });
            }
        }
        git_findings(db, inv, ii, opts.git_history.as_ref(), &mut report)?;
    }
    for f in &mut report.findings {
        let cves: Vec<&str> = std::iter::once(&f.id)
            .chain(&f.aliases)
            .map(String::as_str)
            .filter(|x| x.starts_with("CVE-"))
            .collect();
        if !cves.is_empty() {
            let (epss, kev) = db.exploit_signals(&cves)?;
            f.epss = epss;
            f.kev = kev;
        }
    }
    report.risk = crate::risk::assess(&mut report);
    report.findings.sort_by(|a, b| {
        let score = |f: &Finding| f.cvss.as_ref().and_then(|c| c.score).unwrap_or(0.0);
        (
            !a.malicious,
            a.informational.is_some(),
            std::cmp::Reverse(a.severity),
        )
            .cmp(&(
                !b.malicious,
                b.informational.is_some(),
                std::cmp::Reverse(b.severity),
            ))
            .then_with(|| score(b).partial_cmp(&score(a)).unwrap_or(Ordering::Equal))
            .then_with(|| {
                (&a.file, &a.package, &a.version, &a.id)
                    .cmp(&(&b.file, &b.package, &b.version, &b.id))
            })
    });
    report.match_ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}

/// Components whose purl names a repository and revision (`pkg:github/...@rev`, a
/// `vcs_url` qualifier), matched against the advisories' GIT ranges
/// ([`crate::osv::match_git`]: equal commits and listed revisions only, unless `history`
/// holds a clone of the repository).
fn git_findings(
    db: &mut VulnDb,
    inv: &Inventory,
    ii: usize,
    history: Option<&crate::osv::GitHistory>,
    report: &mut ScanReport,
) -> Result<(), ScanError> {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut parents: Option<Vec<Vec<usize>>> = None;
    let n = inv.components.len();
    for (ci, c) in inv.components.iter().chain(&inv.unmatched).enumerate() {
        let Some(g) = crate::purl::Purl::parse(&c.purl)
            .ok()
            .and_then(|p| crate::osv::git_ref(&p))
        else {
            continue;
        };
        if !seen.insert((g.repo.clone(), g.rev.clone())) {
            continue;
        }
        let mut found: Vec<Finding> = Vec::new();
        let advisories = db.advisories_for_repo(&g.repo)?;
        if let Some(h) = history
            && !advisories.is_empty()
        {
            match h.clone_of(&g.repo) {
                None => report.warnings.push(format!(
                    "{}: no full clone of {} under the git repositories directory; only exact \
                     commits and listed revisions of its advisories are matched",
                    inv.file, g.repo
                )),
                Some(dir) if h.commit(&dir, &g.rev).is_none() => report.warnings.push(format!(
                    "{}: revision {} is not in the clone of {}; only exact commits and listed \
                     revisions of its advisories are matched",
                    inv.file, g.rev, g.repo
                )),
                Some(_) => {}
            }
        }
        for adv in advisories {
            let Some(m) = adv
                .affected
                .iter()
                .find_map(|a| crate::osv::match_git(a, &g.repo, &g.rev, history))
            else {
                continue;
            };
            let ids: BTreeSet<String> = std::iter::once(&adv.id)
                .chain(&adv.aliases)
                .cloned()
                .collect();
            if let Some(f) = found
                .iter_mut()
                .find(|f| f.aliases.iter().any(|x| ids.contains(x)))
            {
                f.advisories.push(adv.id.clone());
                f.advisories.sort();
                f.aliases.extend(ids);
                f.aliases.sort();
                f.aliases.dedup();
                f.severity = f.severity.max(adv.severity_rating());
                f.affected_ranges.push(m.interval);
                continue;
            }
            let path = if ci < n && !inv.edges.is_empty() {
                inv.path_with(parents.get_or_insert_with(|| inv.parents()), ci)
                    .iter()
                    .map(|&k| format!("{}@{}", inv.components[k].name, inv.components[k].version))
                    .collect()
            } else {
                vec![]
            };
            found.push(Finding {
                file: inv.file.clone(),
                inventory: ii,
                // unmatched components count after the matched ones
                component: ci,
                ecosystem: crate::db::GIT_KEY.to_string(),
                package: g.repo.clone(),
                version: g.rev.clone(),
                purl: c.purl.clone(),
                id: adv.id.clone(),
                aliases: ids.into_iter().collect(),
                advisories: vec![adv.id.clone()],
                summary: adv
                    .summary
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .or_else(|| {
                        adv.details
                            .as_ref()
                            .map(|d| d.lines().next().unwrap_or("").chars().take(160).collect())
                    })
                    .unwrap_or_default(),
                severity: adv.severity_rating(),
                cvss: adv.cvss().filter(|s| s.score.is_some()),
                fixed: m.fixed,
                affected_ranges: vec![m.interval],
                informational: adv.informational().map(str::to_string),
                functions: vec![],
                direct: c.direct,
                path,
                location: c.location.clone(),
                url: adv
                    .references
                    .iter()
                    .find(|r| r.kind == "ADVISORY")
                    .or_else(|| adv.references.first())
                    .map(|r| r.url.clone()),
                bom_ref: c.bom_ref.clone(),
                vex: None,
                suppressed: false,
                epss: None,
                kev: None,
                malicious: false,
                risk: 0.0,
            });
        }
        report.findings.extend(found);
    }
    Ok(())
}

fn affected_functions<'a>(
    advs: impl Iterator<Item = &'a crate::osv::Advisory>,
    name: &str,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for a in advs {
        for af in a.affected.iter().filter(|x| x.package.name == name) {
            let es = &af.ecosystem_specific;
            for imp in es
                .get("imports")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let path = imp.get("path").and_then(|p| p.as_str()).unwrap_or("");
                for sym in imp
                    .get("symbols")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(sym) = sym.as_str() {
                        out.insert(format!("{path}.{sym}"));
                    }
                }
            }
            for f in es
                .get("affects")
                .and_then(|v| v.get("functions"))
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(f) = f.as_str() {
                    out.insert(f.to_string());
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Reads every input under `paths` (files, or directories searched with [`discover`]);
/// unreadable inputs become warnings. Errors only when nothing could be read.
pub fn read_inputs(paths: &[PathBuf]) -> Result<(Vec<Inventory>, Vec<String>), ScanError> {
    let mut invs = Vec::new();
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = discover(p);
            if found.is_empty() {
                warnings.push(format!("{}: no lockfiles or SBOMs found", p.display()));
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let explicit = paths.len() == 1 && !paths[0].is_dir();
    for f in &files {
        match read_input(f) {
            Ok(i) => invs.push(i),
            Err(e) => {
                if explicit {
                    return Err(ScanError::NoInput(e.to_string()));
                }
                warnings.push(e.to_string());
            }
        }
    }
    if invs.is_empty() {
        return Err(ScanError::NoInput(match warnings.first() {
            Some(w) => format!("nothing could be scanned: {w}"),
            None => "nothing to scan".into(),
        }));
    }
    Ok((invs, warnings))
}
