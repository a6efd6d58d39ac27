//! `mcpsec report generate`: a report over a data directory, also while `serve` runs
//! there. It never takes the writer lock: the index and the state database are opened
//! read-only, and the report sees what the index had committed when it started.

use super::load_config;
use crate::cli::StoreArgs;
use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use mcpsec_core::TenantId;
use mcpsec_detect::{Catalog, CatalogOptions, TenantRules};
use mcpsec_report::{AlertSummary, Format, KINDS, ReportData, SummaryBuilder, Templates};
use mcpsec_server::{ComplianceSources, ReportSources, SupplySources};
use mcpsec_store::{DataDir, SearchIndex, SqliteState, StateStore, StoreError, TantivyIndex};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// `mcpsec report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Generate a report (kinds: executive, triage, coverage, supply, risk, response,
    /// compliance). Reads the data
    /// dir of a running or stopped `serve` without locking it.
    Generate {
        /// Report kind: `executive` (events by source and format, over time, top hosts
        /// and sources, alerts), `triage` (alerts by status, level, rule and host,
        /// MTTA/MTTR, open alerts waiting longest), `coverage` (an ATT&CK matrix of
        /// the deployed rules and the techniques that fired), `supply` (per project:
        /// vulnerable components by severity with fix availability, licences and the
        /// licence-policy verdicts, changes since the SBOM version before), `risk`
        /// (the tenant's risk now and over the period, the assets that rose highest,
        /// the highest-risk alerts with their factors), `response` (playbook runs by
        /// playbook and outcome, failed runs, approvals and their waits) or
        /// `compliance` (SOC 2, ISO 27001 Annex A, NIST SP 800-53 and CIS Controls v8:
        /// which controls the tenant's data gives evidence for, with where to check
        /// it); `risk` and `response` default to the last 7 days, `compliance` to the
        /// last 30.
        #[arg(value_name = "KIND")]
        kind: String,
        /// Start of the period (RFC 3339, epoch seconds, `now-7d`); default: the first
        /// event.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End of the period, exclusive; default: the last event.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// html, pdf, csv, json, md, xlsx, or sarif (supply only); default: from the
        /// --output extension, else html.
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// File to write (replaced atomically); default: standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// The project (id or name) a supply report covers; default: every project of
        /// the tenant.
        #[arg(long, value_name = "PROJECT")]
        project: Option<String>,
        /// The framework a compliance report maps: soc2, iso27001, nist80053, cis8 or
        /// all (default).
        #[arg(long, value_name = "FRAMEWORK")]
        framework: Option<String>,
        /// Tenant whose data the report covers.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs a report subcommand.
pub fn run(action: ReportAction) -> Result<ExitCode> {
    crate::cmd::quiet_logging();
    let ReportAction::Generate {
        kind,
        from,
        to,
        format,
        output,
        project,
        framework,
        tenant,
        store,
    } = action;
    if !KINDS.contains(&kind.as_str()) {
        bail!(
            "unknown report kind {kind:?}: available: {}",
            KINDS.join(", ")
        );
    }
    let format = choose_format(format.as_deref(), output.as_deref())?;
    if format == Format::Sarif && kind != "supply" {
        bail!("SARIF holds findings: only the supply report can be written as SARIF");
    }
    if project.is_some() && kind != "supply" {
        bail!("--project applies to the supply report only");
    }
    if framework.is_some() && kind != "compliance" {
        bail!("--framework applies to the compliance report only");
    }
    let framework = mcpsec_report::parse_framework(framework.as_deref())?;
    let tenant = TenantId::new(&tenant).map_err(anyhow::Error::msg)?;
    let now = Utc::now();
    let time = |s: &Option<String>, what: &str| -> Result<Option<DateTime<Utc>>> {
        s.as_deref()
            .map(|s| mcpsec_server::parse_time_param(s, now))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--{what}: {e}"))
    };
    let (from, to) = (time(&from, "from")?, time(&to, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        bail!("--from ({f}) must be before --to ({t})");
    }
    let cfg = load_config(&store)?;
    let data = DataDir::new(&cfg.data_dir);
    let started = Instant::now();
    let report = gather(
        &cfg,
        &data,
        &kind,
        &tenant,
        (from, to),
        (project.as_deref(), &framework),
        now,
    )?;
    let templates = match &cfg.report.templates_dir {
        Some(dir) => Templates::with_overrides(dir),
        None => Templates::embedded(),
    };
    let bytes = mcpsec_report::render(&report, format, &templates)?;
    match &output {
        Some(path) => write_atomically(path, &bytes)?,
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("cannot write the report to standard output")?,
    }
    eprintln!(
        "{} report for tenant {}: {} events, {} alerts, {} {} bytes{} in {:.2} s",
        kind,
        tenant,
        report.events.total,
        report.alerts.total,
        format.as_str(),
        bytes.len(),
        output
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn choose_format(flag: Option<&str>, output: Option<&Path>) -> Result<Format> {
    if let Some(f) = flag {
        return Ok(f.parse()?);
    }
    match output.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        Some(ext) => ext
            .parse()
            .context("cannot tell the format from the output name; pass --format"),
        None => Ok(Format::Html),
    }
}

/// The data of a report: the tenant's events in the period from the search index, and
/// its alerts; `project` scopes a supply report, `framework` a compliance report. Refuses tenants the data dir does not know, so a typo does not yield an
/// empty report that looks like a quiet week.
pub fn gather(
    cfg: &crate::config::Config,
    data: &DataDir,
    kind: &str,
    tenant: &TenantId,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    (project, framework): (Option<&str>, &str),
    now: DateTime<Utc>,
) -> Result<ReportData> {
    if data.is_empty() {
        bail!(
            "{} holds no mcpsec data (run `mcpsec serve` or `mcpsec ingest` with this --data-dir first)",
            data.root().display()
        );
    }
    let state = SqliteState::open_read_only(&data.state_db())
        .context("cannot open the state database read-only")?;
    if !state.tenant_exists(tenant)? {
        bail!(
            "no tenant \"{tenant}\" in {}: a report covers one existing tenant (list them with `mcpsec admin tenant list`)",
            data.root().display()
        );
    }
    let index = match TantivyIndex::open_read_only(&data.index()) {
        Ok(index) => Some(index),
        // Nothing indexed yet: a report with no events says so.
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e).context("cannot open the search index read-only"),
    };
    if state.schema_version().unwrap_or(0) < 3 {
        // A data dir from before alerts were stored (opened read-only, so not migrated).
        if kind != "executive" {
            bail!(
                "this data dir stores no alerts yet: start `mcpsec serve` on it once to upgrade it"
            );
        }
        let alerts = AlertSummary::default();
        return match &index {
            Some(index) => mcpsec_server::build_report(index, kind, tenant, from, to, alerts, now)
                .context("cannot read the search index"),
            None => Ok(SummaryBuilder::new(from, to).finish(
                kind,
                mcpsec_report::title(kind),
                tenant.as_str(),
                alerts,
                now,
            )),
        };
    }
    let state: Arc<dyn StateStore> = Arc::new(state);
    let rules = if matches!(kind, "coverage" | "risk" | "compliance") {
        Some(deployed_rules(cfg, &state, tenant)?)
    } else {
        None
    };
    let policy = cfg.report.license_policy()?;
    // The chain is verified with the data dir's own key; without one nothing was
    // audited yet and the report says so. Loading an existing key writes nothing.
    let auditor = if kind == "compliance" && data.audit_key().exists() {
        Some(mcpsec_store::Auditor::new(
            state.clone(),
            &data.audit_key(),
        )?)
    } else {
        None
    };
    let src = ReportSources {
        index: index.as_ref().map(|i| i as &dyn SearchIndex),
        state: state.as_ref(),
        rules: rules.as_deref(),
        progress: None,
        project,
        supply: SupplySources {
            vulndb_dir: Some(data.root()),
            policy: policy.as_deref(),
            git_repos: cfg.supply.git_repos.as_deref(),
        },
        risk_window_days: cfg.risk.window_days,
        compliance: ComplianceSources {
            framework,
            audit: auditor.as_ref(),
            oidc: Some(cfg.auth.oidc.is_some()),
            tls: Some(cfg.server.tls.is_some()),
        },
    };
    mcpsec_server::report_data(&src, kind, tenant, from, to, now)
        .context("cannot gather the report data")
}

/// The rules the tenant runs under this configuration: the files of `[detection]
/// rule_paths` (the demo's built-in rules are not files and are not counted) and the
/// rules deployed through the API, minus those switched off.
fn deployed_rules(
    cfg: &crate::config::Config,
    state: &Arc<dyn StateStore>,
    tenant: &TenantId,
) -> Result<Arc<TenantRules>> {
    let mapping = crate::cmd::hunt::load_mapping(cfg.detection.mapping.as_deref())?;
    let catalog = Catalog::new(
        state.clone(),
        CatalogOptions {
            rule_paths: cfg.detection.rule_paths.clone(),
            embedded: Vec::new(),
            mapping,
        },
    );
    catalog
        .rules_for(tenant)
        .context("cannot load the deployed rules")
}

/// Writes next to the target and renames, so a reader never sees half a report.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
