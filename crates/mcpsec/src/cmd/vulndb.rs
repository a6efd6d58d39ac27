//! `mcpsec vulndb`: import advisories into the local vulnerability database and show
//! what it holds. The database lives in the data directory but is separate from the
//! `serve`-owned stores, so no data-directory lock is taken.

use crate::cli::StoreArgs;
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use mcpsec_supply::db::VulnDb;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mcpsec vulndb ...`.
#[derive(Debug, Subcommand)]
pub enum VulndbAction {
    /// Import advisories: OSV JSON/YAML files, directory trees, OSV zip archives
    /// (`<ecosystem>/all.zip`), or a RustSec advisory-db checkout; also FIRST's EPSS CSV
    /// (`*.csv`, `*.csv.gz`) and CISA's KEV catalogue (JSON), each replacing the previous
    /// import of its kind.
    Import(ImportArgs),
    /// Show sources, counts per ecosystem, newest advisory date and import times.
    Status(StatusArgs),
}

/// `mcpsec vulndb import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files, directories or zip archives to import.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mcpsec vulndb status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `vulndb` action.
pub fn run(action: VulndbAction) -> Result<ExitCode> {
    match action {
        VulndbAction::Import(a) => import(a),
        VulndbAction::Status(a) => status(a),
    }
}

fn import(a: ImportArgs) -> Result<ExitCode> {
    let cfg = super::load_config(&a.store)?;
    let mut db =
        VulnDb::open_dir(&cfg.data_dir).context("cannot open the vulnerability database")?;
    let mut out = Vec::new();
    let mut failed = false;
    for src in &a.sources {
        if !src.exists() {
            eprintln!("error: {}: no such file or directory", src.display());
            failed = true;
            continue;
        }
        if let Some(kind) = mcpsec_supply::exploit::sniff(src) {
            use mcpsec_supply::exploit::{Kind, parse_epss, parse_kev, read_text};
            let name = src.display().to_string();
            let parsed = read_text(src).and_then(|text| match kind {
                Kind::Epss => parse_epss(&name, &text).map(|f| (Some(f), None)),
                Kind::Kev => parse_kev(&name, &text).map(|f| (None, Some(f))),
            });
            let r = match parsed {
                Ok((Some(f), _)) => db.store_epss(&name, &f)?,
                Ok((_, Some(f))) => db.store_kev(&name, &f)?,
                Ok((None, None)) => continue,
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                    continue;
                }
            };
            for w in r.warnings.iter().take(20) {
                eprintln!("warning: {w}");
            }
            if r.warnings.len() > 20 {
                eprintln!("warning: … and {} more rows skipped", r.warnings.len() - 20);
            }
            let what = match kind {
                Kind::Epss => "EPSS scores",
                Kind::Kev => "KEV entries",
            };
            if !a.json {
                println!(
                    "{}: {} {what} imported (replacing earlier ones), {} skipped, {:.2}s",
                    r.source,
                    r.stored,
                    r.warnings.len(),
                    r.seconds
                );
            }
            out.push(serde_json::json!({
                "source": r.source, "kind": what, "stored": r.stored,
                "skipped": r.warnings, "seconds": r.seconds
            }));
            continue;
        }
        let r = db.import(src)?;
        for w in r.warnings.iter().take(20) {
            eprintln!("warning: {w}");
        }
        if r.warnings.len() > 20 {
            eprintln!(
                "warning: … and {} more files skipped",
                r.warnings.len() - 20
            );
        }
        if !a.json {
            println!(
                "{}: {} advisories imported ({} withdrawn, kept but never reported), {} files skipped, {:.2}s",
                r.source,
                r.advisories,
                r.withdrawn,
                r.warnings.len(),
                r.seconds
            );
        }
        out.push(serde_json::json!({
            "source": r.source, "advisories": r.advisories, "withdrawn": r.withdrawn,
            "skipped": r.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(), "seconds": r.seconds
        }));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn status(a: StatusArgs) -> Result<ExitCode> {
    let cfg = super::load_config(&a.store)?;
    let db = VulnDb::open_existing(&cfg.data_dir)?;
    let s = db.status()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "database: {} ({:.1} MiB)",
        s.path,
        s.bytes as f64 / 1_048_576.0
    );
    println!(
        "advisories: {} ({} withdrawn), generation {}",
        s.advisories, s.withdrawn, s.generation
    );
    println!("EPSS scores: {}, KEV entries: {}", s.epss, s.kev);
    println!(
        "newest modified: {}",
        s.newest_modified.as_deref().unwrap_or("-")
    );
    println!("per ecosystem:");
    for (e, n) in &s.per_ecosystem {
        println!("  {e:<20} {n:>8}");
    }
    println!("sources:");
    for src in &s.sources {
        println!(
            "  {}  imported {}  {} advisories, {} skipped, {:.2}s",
            src.path, src.imported_at, src.advisories, src.warnings, src.seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}
