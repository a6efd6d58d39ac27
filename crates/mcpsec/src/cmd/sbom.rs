//! `mcpsec sbom scan`: offline vulnerability scan of SBOMs (CycloneDX, SPDX) and
//! lockfiles against the local vulnerability database.

use crate::cli::StoreArgs;
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use mcpsec_supply::cvss::Severity;
use mcpsec_supply::db::VulnDb;
use mcpsec_supply::scan::{Finding, ScanOptions, ScanReport, read_inputs, scan_with};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mcpsec sbom ...`.
#[derive(Debug, Subcommand)]
pub enum SbomAction {
    /// Scan SBOMs, lockfiles or directories for known vulnerabilities.
    Scan(ScanArgs),
    /// Why is a package there: every dependency path from a root, and its blast radius.
    Why(WhyArgs),
    /// Check component licences (SPDX expressions) against a policy; exit 1 on a deny.
    Licenses(LicensesArgs),
}

/// `mcpsec sbom licenses`.
#[derive(Debug, Args)]
pub struct LicensesArgs {
    /// SBOM or lockfile, or a directory to search for them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Licence policy (TOML: allow/deny/review lists of licence ids and families; see
    /// docs/license-policy.example.toml). Default: permissive licences allowed, everything
    /// else to review, nothing denied.
    #[arg(long, value_name = "POLICY.toml")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LicenseFormat::Table)]
    pub format: LicenseFormat,
}

/// Output formats of `sbom licenses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LicenseFormat {
    /// A readable table, denied and to-review components first.
    Table,
    /// The full report as JSON.
    Json,
}

/// `mcpsec sbom why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// A purl (`pkg:npm/lodash`, with or without `@version`) or a package name (`name@version`).
    #[arg(value_name = "PURL|NAME")]
    pub package: String,
    /// The SBOM or lockfile.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Most paths listed per match.
    #[arg(long, default_value_t = 20)]
    pub max_paths: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table, grouped by input.
    Table,
    /// The full report as JSON.
    Json,
    /// SARIF 2.1.0 (code-scanning upload); VEX-suppressed findings carry a suppression.
    Sarif,
    /// A CycloneDX JSON VEX document of the findings (see `--cyclonedx-version`).
    CyclonedxVex,
}

/// CycloneDX version of `--format cyclonedx-vex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CdxSpec {
    /// CycloneDX 1.5.
    #[value(name = "1.5")]
    V1_5,
    /// CycloneDX 1.6.
    #[value(name = "1.6")]
    V1_6,
}

/// Severity threshold for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Never fail because of findings.
    Never,
    /// Any vulnerability, including those without severity data.
    Unknown,
    /// Low or higher (and unknown).
    Low,
    /// Medium or higher.
    Medium,
    /// High or higher.
    High,
    /// Critical only.
    Critical,
}

/// `mcpsec sbom scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// SBOM or lockfile, or a directory to search for them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Where the data lives (the database imported with `mcpsec vulndb import`).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Exit with 1 when a vulnerability at or above this severity is found
    /// (informational advisories — unmaintained, unsound — never fail; malicious packages
    /// fail at every threshold but `never`; VEX-suppressed findings never fail).
    #[arg(long, value_enum, default_value_t = FailOn::Unknown)]
    pub fail_on: FailOn,
    /// OpenVEX (JSON) or CycloneDX VEX (JSON or XML) document to apply (repeatable): `not_affected` and
    /// `fixed` statements suppress findings (kept in JSON/SARIF, never fail the scan),
    /// `affected` and `under_investigation` annotate them.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Also exit with 1 when a (not VEX-suppressed) finding is in CISA's Known Exploited
    /// Vulnerabilities catalogue (imported with `vulndb import`), whatever its severity.
    #[arg(long)]
    pub fail_on_kev: bool,
    /// CycloneDX version written by `--format cyclonedx-vex`.
    #[arg(long, value_enum, default_value_t = CdxSpec::V1_6)]
    pub cyclonedx_version: CdxSpec,
    /// Directory of full local clones (`DIR/github.com/owner/repo`, `DIR/owner/repo` or
    /// `DIR/repo`) whose history places a component's commit inside an advisory's GIT
    /// range; without it only exact commits and listed revisions match. Default:
    /// `supply.git_repos` from the config.
    #[arg(long, value_name = "DIR")]
    pub git_repos: Option<PathBuf>,
}

/// Runs an `sbom` action.
pub fn run(action: SbomAction) -> Result<ExitCode> {
    match action {
        SbomAction::Scan(a) => scan_cmd(a),
        SbomAction::Why(a) => why_cmd(a),
        SbomAction::Licenses(a) => licenses_cmd(a),
    }
}

fn licenses_cmd(a: LicensesArgs) -> Result<ExitCode> {
    use mcpsec_supply::license::{Policy, Verdict, check};
    let policy = match &a.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let (invs, read_warnings) = read_inputs(&a.paths)?;
    let mut report = check(&policy, &invs);
    report.warnings.splice(0..0, read_warnings);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = String::new();
    match a.format {
        LicenseFormat::Json => out = serde_json::to_string_pretty(&report)?,
        LicenseFormat::Table => {
            let w = report
                .components
                .iter()
                .map(|c| c.package.len() + c.version.len() + 1)
                .max()
                .unwrap_or(7)
                .clamp(7, 50);
            let _ = writeln!(out, "{:<7} {:<w$} LICENCE / WHY", "VERDICT", "PACKAGE");
            for c in &report.components {
                let lic = if c.licenses.is_empty() {
                    "-".to_string()
                } else {
                    c.licenses.join(" AND ")
                };
                let _ = writeln!(
                    out,
                    "{:<7} {:<w$} {lic}",
                    c.verdict.as_str().to_uppercase(),
                    format!("{}@{}", c.package, c.version)
                );
                if c.verdict != Verdict::Allow {
                    let _ = writeln!(out, "{:<7} {:<w$}   {}", "", "", c.reasons.join("; "));
                }
            }
            let _ = writeln!(
                out,
                "{} components: {} allowed, {} to review, {} denied ({} without licence data, {} with an unknown licence)",
                report.components.len(),
                report.allowed,
                report.review,
                report.denied,
                report.missing,
                report.unknown
            );
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(if report.denied > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn why_cmd(a: WhyArgs) -> Result<ExitCode> {
    let inv = mcpsec_supply::scan::read_input(&a.file)?;
    let graph = mcpsec_supply::graph::DepGraph::new(&inv);
    let answers = graph.why(&a.package, a.max_paths.max(1));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answers)?);
    } else if answers.is_empty() {
        eprintln!("{} is not in {}", a.package, a.file.display());
    } else {
        let mut out = String::new();
        for w in &answers {
            let _ = writeln!(
                out,
                "{} ({}){}: {} path(s), {} dependent package(s), pulled in by {}",
                w.component,
                w.purl,
                if w.direct { ", direct" } else { "" },
                w.paths.len(),
                w.blast_radius,
                if w.affected_roots.is_empty() {
                    "-".to_string()
                } else {
                    w.affected_roots.join(", ")
                }
            );
            for p in &w.paths {
                let _ = writeln!(out, "  {}", p.join(" → "));
            }
            if w.truncated {
                let _ = writeln!(out, "  … more paths (raise --max-paths)");
            }
            if inv.edges.is_empty() {
                let _ = writeln!(out, "  (this input records no dependency edges)");
            }
        }
        std::io::stdout().write_all(out.as_bytes())?;
    }
    Ok(if answers.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn fails(f: &Finding, t: FailOn) -> bool {
    if f.informational.is_some() || f.suppressed {
        return false;
    }
    if f.malicious && t != FailOn::Never {
        return true;
    }
    match t {
        FailOn::Never => false,
        FailOn::Unknown => true,
        FailOn::Low => f.severity >= Severity::Low || f.severity == Severity::Unknown,
        FailOn::Medium => f.severity >= Severity::Medium,
        FailOn::High => f.severity >= Severity::High,
        FailOn::Critical => f.severity >= Severity::Critical,
    }
}

fn scan_cmd(a: ScanArgs) -> Result<ExitCode> {
    let cfg = super::load_config(&a.store)?;
    let mut db = VulnDb::open_existing(&cfg.data_dir)?;
    let (invs, read_warnings) = read_inputs(&a.paths)?;
    let opts = ScanOptions {
        git_history: a
            .git_repos
            .clone()
            .or_else(|| cfg.supply.git_repos.clone())
            .map(mcpsec_supply::osv::GitHistory::new),
    };
    let mut report = scan_with(&mut db, invs, &opts)?;
    report.warnings.splice(0..0, read_warnings);
    let mut docs = Vec::new();
    for p in &a.vex {
        match mcpsec_supply::vex::load_vex(p) {
            Ok(d) => {
                report.warnings.extend(d.warnings.iter().cloned());
                docs.push(d);
            }
            Err(e) => report
                .warnings
                .push(format!("VEX {e}; its statements are not applied")),
        }
    }
    if !a.vex.is_empty() {
        let s = mcpsec_supply::vex::apply(&mut report, &docs);
        report.risk = mcpsec_supply::risk::assess(&mut report);
        eprintln!(
            "vex: {} statement(s) from {} document(s): {} finding(s) suppressed, {} annotated",
            s.statements, s.documents, s.suppressed, s.annotated
        );
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = match a.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report)?,
        OutputFormat::Sarif => serde_json::to_string_pretty(&mcpsec_supply::sarif::to_sarif(
            &report,
            env!("CARGO_PKG_VERSION"),
        ))?,
        OutputFormat::CyclonedxVex => {
            let id = ulid::Ulid::new().0.to_be_bytes();
            let h = hex_of(&id);
            // RFC 4122 version 4 layout from 128 random-enough bits
            let serial = format!(
                "{}-{}-4{}-{:x}{}-{}",
                &h[0..8],
                &h[8..12],
                &h[13..16],
                8 | (id[8] & 0x3),
                &h[17..20],
                &h[20..32]
            );
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let ver = match a.cyclonedx_version {
                CdxSpec::V1_5 => mcpsec_supply::cdx_vex::CdxVersion::V1_5,
                CdxSpec::V1_6 => mcpsec_supply::cdx_vex::CdxVersion::V1_6,
            };
            serde_json::to_string_pretty(&mcpsec_supply::cdx_vex::to_cyclonedx_vex(
                &report,
                ver,
                env!("CARGO_PKG_VERSION"),
                &serial,
                &ts,
            ))?
        }
        OutputFormat::Table => table(&report),
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    // a closed pipe (`| head`) is not an error
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    let fail = report
        .findings
        .iter()
        .any(|f| fails(f, a.fail_on) || (a.fail_on_kev && f.kev.is_some() && !f.suppressed));
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sev_cell(f: &Finding) -> String {
    if let Some(i) = &f.informational {
        return format!("warn:{i}");
    }
    if f.malicious {
        return "MALICIOUS".into();
    }
    let s = match f.cvss.as_ref().and_then(|c| c.score) {
        Some(s) => format!("{} {s:.1}", f.severity.as_str().to_uppercase()),
        None => f.severity.as_str().to_uppercase(),
    };
    if f.kev.is_some() {
        format!("{s} KEV")
    } else {
        s
    }
}

fn table(r: &ScanReport) -> String {
    let mut o = String::new();
    let mut by_file: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in r.findings.iter().filter(|f| !f.suppressed) {
        by_file.entry(f.inventory).or_default().push(f);
    }
    for (i, inv) in r.inventories.iter().enumerate() {
        let fs = by_file.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let vulns = fs.iter().filter(|f| f.informational.is_none()).count();
        let _ = writeln!(
            o,
            "{} ({}, {} components): {}",
            inv.file,
            inv.format,
            inv.components,
            if fs.is_empty() {
                "no known vulnerabilities".to_string()
            } else {
                format!("{vulns} vulnerabilities, {} warnings", fs.len() - vulns)
            }
        );
        if fs.is_empty() {
            continue;
        }
        let w_pkg = fs
            .iter()
            .map(|f| f.package.len())
            .max()
            .unwrap_or(7)
            .clamp(7, 40);
        let w_ver = fs
            .iter()
            .map(|f| f.version.len())
            .max()
            .unwrap_or(9)
            .clamp(9, 24);
        let w_fix = fs
            .iter()
            .map(|f| f.fixed.as_deref().unwrap_or("-").len())
            .max()
            .unwrap_or(8)
            .clamp(8, 24);
        let w_id = fs
            .iter()
            .map(|f| f.id.len())
            .max()
            .unwrap_or(2)
            .clamp(2, 24);
        let _ = writeln!(
            o,
            "  {:<18} {:<w_pkg$} {:<w_ver$} {:<w_fix$} {:<w_id$} SUMMARY",
            "SEVERITY", "PACKAGE", "INSTALLED", "FIXED IN", "ID"
        );
        for f in fs {
            let summary: String = f.summary.chars().take(70).collect();
            let _ = writeln!(
                o,
                "  {:<18} {:<w_pkg$} {:<w_ver$} {:<w_fix$} {:<w_id$} {summary}",
                sev_cell(f),
                f.package,
                f.version,
                f.fixed.as_deref().unwrap_or("-"),
                f.id
            );
            let others: Vec<&str> = f
                .aliases
                .iter()
                .filter(|x| **x != f.id)
                .map(String::as_str)
                .collect();
            let mut extra = Vec::new();
            if !others.is_empty() {
                extra.push(format!("aliases: {}", others.join(", ")));
            }
            extra.push(format!("affected: {}", f.affected_ranges.join("; ")));
            if !f.functions.is_empty() {
                let shown: Vec<&str> = f.functions.iter().take(4).map(String::as_str).collect();
                let more = f.functions.len().saturating_sub(4);
                extra.push(format!(
                    "affected code: {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" (+{more} more)")
                    } else {
                        String::new()
                    }
                ));
            }
            if f.risk > 0.0 {
                extra.push(format!("risk {:.1}", f.risk));
            }
            if let Some(k) = &f.kev {
                extra.push(format!(
                    "KEV: known exploited (added {}{}{})",
                    k.date_added,
                    k.due_date
                        .as_deref()
                        .map(|d| format!(", due {d}"))
                        .unwrap_or_default(),
                    if k.ransomware.as_deref() == Some("Known") {
                        ", used by ransomware"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(e) = &f.epss {
                extra.push(format!(
                    "EPSS {:.3} (percentile {:.0})",
                    e.score,
                    e.percentile * 100.0
                ));
            }
            if let Some(v) = &f.vex {
                extra.push(format!("VEX {}: {}", v.status.as_str(), v.source));
            }
            if f.path.len() > 1 {
                extra.push(format!("via: {}", f.path.join(" → ")));
            } else if f.direct == Some(true) {
                extra.push("direct dependency".into());
            }
            let _ = writeln!(o, "  {:<18} {}", "", extra.join("  |  "));
        }
        let _ = writeln!(o);
    }
    let suppressed: Vec<&Finding> = r.findings.iter().filter(|f| f.suppressed).collect();
    if !suppressed.is_empty() {
        let _ = writeln!(o, "suppressed by VEX:");
        for f in &suppressed {
            if let Some(v) = &f.vex {
                let _ = writeln!(
                    o,
                    "  {} {} {}: {}{} ({})",
                    f.package,
                    f.version,
                    f.id,
                    v.status.as_str(),
                    v.justification
                        .as_deref()
                        .map(|j| format!(", {j}"))
                        .unwrap_or_default(),
                    v.source
                );
            }
        }
        let _ = writeln!(o);
    }
    // summary with upgrade advice
    let vulns: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.informational.is_none() && !f.suppressed)
        .collect();
    let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for f in &vulns {
        *counts.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.0)).collect();
    let _ = writeln!(
        o,
        "{} vulnerabilities{} in {} components scanned ({} informational warnings, {} suppressed by VEX); matched in {:.1} ms",
        vulns.len(),
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        },
        r.components,
        r.findings
            .iter()
            .filter(|f| f.informational.is_some() && !f.suppressed)
            .count(),
        suppressed.len(),
        r.match_ms
    );
    if !r.risk.components.is_empty() {
        let top: Vec<String> = r
            .risk
            .components
            .iter()
            .take(3)
            .map(|c| format!("{}@{} {:.1}", c.package, c.version, c.risk))
            .collect();
        let _ = writeln!(
            o,
            "project risk {:.1}/10 ({} component(s) at 7 or more; highest: {})",
            r.risk.project,
            r.risk.high_risk_components,
            top.join(", ")
        );
    }
    if !r.typosquats.is_empty() {
        let _ = writeln!(
            o,
            "names close to popular packages (possible typosquats; check them):"
        );
        for t in &r.typosquats {
            let _ = writeln!(
                o,
                "  {} {} ({}) resembles {} ({} edit(s)) in {}",
                t.package, t.version, t.ecosystem, t.resembles, t.distance, t.file
            );
        }
    }
    let mut upgrades: BTreeMap<(&str, &str), (Option<&str>, bool, usize)> = BTreeMap::new();
    for f in &vulns {
        let e = upgrades
            .entry((f.package.as_str(), f.version.as_str()))
            .or_insert((None, true, 0));
        e.2 += 1;
        match (&f.fixed, e.0) {
            (None, _) => e.1 = false,
            (Some(v), None) => e.0 = Some(v.as_str()),
            (Some(v), Some(cur)) => {
                let eco = mcpsec_supply::version::Ecosystem::from_osv(&f.ecosystem);
                if eco.and_then(|e| e.compare(v, cur).ok()) == Some(std::cmp::Ordering::Greater) {
                    e.0 = Some(v.as_str());
                }
            }
        }
    }
    if !upgrades.is_empty() {
        let _ = writeln!(o, "upgrades:");
        for ((p, v), (to, all, n)) in upgrades {
            match (to, all) {
                (Some(t), true) => {
                    let _ = writeln!(o, "  {p} {v} → {t} (fixes {n})");
                }
                (Some(t), false) => {
                    let _ = writeln!(
                        o,
                        "  {p} {v} → {t} fixes some; at least one of {n} has no fix yet"
                    );
                }
                (None, _) => {
                    let _ = writeln!(
                        o,
                        "  {p} {v}: no fixed version published for {n} advisory(ies)"
                    );
                }
            }
        }
    }
    o
}
