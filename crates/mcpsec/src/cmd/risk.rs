//! `mcpsec risk ...`: assess alerts, manage the asset inventory, inspect and test prompt
//! templates. Works on the data dir of a running or stopped `serve` (the state database
//! is shared in WAL mode), or on an alert file alone.

use super::load_config;
use crate::cli::StoreArgs;
use anyhow::{Context as _, Result, bail};
use clap::{Subcommand, ValueEnum};
use mcpsec_core::TenantId;
use mcpsec_risk::asset::{read_inventory, to_stored};
use mcpsec_risk::{AssessRequest, Assessment, Assessor, RiskConfig};
use mcpsec_store::{Alert, DataDir, SqliteState, StateStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// One JSON document.
    Json,
}

/// `mcpsec risk ...`.
#[derive(Debug, Subcommand)]
pub enum RiskAction {
    /// Assess an alert: the deterministic score with its factors, and a model's verdict
    /// when a provider is configured in `[risk]`.
    Assess {
        /// Id of a stored alert of the tenant.
        #[arg(
            value_name = "ALERT_ID",
            required_unless_present = "alert_file",
            conflicts_with = "alert_file"
        )]
        id: Option<String>,
        /// An alert as JSON (as `GET /api/v1/alerts/{id}` returns it) instead of an id.
        #[arg(long, value_name = "FILE")]
        alert_file: Option<PathBuf>,
        /// Provider from `[risk.providers]`, or `none` for the deterministic model only.
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
        /// Prompt scenario: alert_triage, attack_chain, vuln_impact, executive_summary.
        #[arg(long, default_value = "alert_triage")]
        scenario: String,
        /// table or json.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Tenant of the alert.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Prompt templates: list, show, render against an alert.
    Prompts {
        /// What to do.
        #[command(subcommand)]
        action: PromptsAction,
    },
    /// The asset inventory of a tenant.
    Assets {
        /// What to do.
        #[command(subcommand)]
        action: AssetsAction,
    },
    /// Fill a tenant's risk trend for the past from the alerts stored then (the
    /// deterministic model at each step, with today's alert statuses); steps that already
    /// have a point are kept. Safe next to a running `serve`.
    Backfill {
        /// How far back: a number of days.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
        days: u32,
        /// One point per hour or per day.
        #[arg(long, value_enum, default_value_t = Step::Day)]
        step: Step,
        /// Tenant.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// table or json.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// The spacing of backfilled points.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Step {
    /// One point per hour.
    Hour,
    /// One point per day.
    Day,
}

/// `mcpsec risk prompts ...`.
#[derive(Debug, Subcommand)]
pub enum PromptsAction {
    /// List the templates a tenant gets (name, version, origin).
    List {
        /// Tenant whose overrides apply.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Configuration (for `[risk] prompts_dir`).
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a template's text.
    Show {
        /// Scenario name.
        name: String,
        /// Tenant whose overrides apply.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Configuration.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Render a template for an alert (redacted and fenced, exactly as a model would get
    /// it) without calling any model.
    Test {
        /// Scenario name.
        name: String,
        /// The alert as JSON.
        #[arg(long, value_name = "FILE")]
        alert_file: PathBuf,
        /// Tenant whose overrides apply.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Configuration.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `mcpsec risk assets ...`.
#[derive(Debug, Subcommand)]
pub enum AssetsAction {
    /// Load an inventory file (.toml, .json, .csv); replaces the tenant's inventory unless
    /// `--merge`.
    Load {
        /// The file.
        file: PathBuf,
        /// Add to the inventory (same kind and name: replaced) instead of replacing it.
        #[arg(long)]
        merge: bool,
        /// The tenant (must exist).
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set an asset's vulnerable components from a supply-chain scan (`mcpsec sbom scan
    /// --format json`): its vulnerability list is replaced; the asset is created (medium
    /// criticality) when the inventory lacks it.
    LoadScan {
        /// The scan report (JSON).
        report: PathBuf,
        /// The asset, as `kind:name` (e.g. `host:web1.corp.example`).
        #[arg(long, value_name = "KIND:NAME")]
        asset: String,
        /// The tenant (must exist).
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Risk per asset and for the tenant over `[risk] window_days` of alerts.
    Show {
        /// table or json.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Most assets listed.
        #[arg(long, default_value_t = 25)]
        limit: usize,
        /// The tenant.
        #[arg(long, default_value = TenantId::DEFAULT)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs a risk subcommand.
pub fn run(action: RiskAction) -> Result<ExitCode> {
    crate::cmd::quiet_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(dispatch(action))
}

fn tenant_id(s: &str) -> Result<TenantId> {
    TenantId::new(s).map_err(anyhow::Error::msg)
}

/// The data dir's state database (must exist), or an empty in-memory one when allowed.
fn open_state(
    store: &StoreArgs,
    allow_memory: bool,
) -> Result<(crate::config::Config, Arc<dyn StateStore>)> {
    let cfg = load_config(store)?;
    let data = DataDir::new(&cfg.data_dir);
    let path = data.state_db();
    let state: Arc<dyn StateStore> = if path.exists() {
        Arc::new(SqliteState::open(&path).context("cannot open the state database")?)
    } else if allow_memory {
        Arc::new(SqliteState::in_memory()?)
    } else {
        bail!(
            "no state database at {} (run `mcpsec serve` there first, or pass --data-dir)",
            path.display()
        );
    };
    Ok((cfg, state))
}

fn read_alert(path: &Path) -> Result<Alert> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= 64 << 20,
        "{}: larger than 64 MiB",
        path.display()
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not an alert (JSON as GET /api/v1/alerts/{{id}} returns it)",
            path.display()
        )
    })
}

async fn dispatch(action: RiskAction) -> Result<ExitCode> {
    match action {
        RiskAction::Assess {
            id,
            alert_file,
            provider,
            scenario,
            format,
            tenant,
            store,
        } => {
            let tenant = tenant_id(&tenant)?;
            let (cfg, state) = open_state(&store, alert_file.is_some())?;
            let (alert, stored) = match (&id, &alert_file) {
                (Some(id), _) => (
                    state
                        .get_alert(&tenant, id)?
                        .with_context(|| format!("no alert {id} in tenant {tenant}"))?,
                    true,
                ),
                (None, Some(f)) => (read_alert(f)?, false),
                (None, None) => bail!("give an ALERT_ID or --alert-file"),
            };
            let mut assessor = Assessor::new(cfg.risk.clone(), state)?;
            // Related events come from the index when the data dir has one (read-only,
            // as of its last commit).
            let index_dir = DataDir::new(&cfg.data_dir).index();
            if index_dir.exists() {
                match mcpsec_store::TantivyIndex::open_read_only(&index_dir) {
                    Ok(ix) => assessor = assessor.with_index(Arc::new(ix)),
                    Err(e) => eprintln!("warning: no related events: cannot open the index: {e}"),
                }
            }
            let a = assessor
                .assess(AssessRequest {
                    tenant,
                    alert,
                    rule_status: None,
                    provider,
                    scenario,
                    actor: "cli".into(),
                    store_result: stored,
                })
                .await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&a)?),
                Format::Table => print_assessment(&a),
            }
            Ok(ExitCode::SUCCESS)
        }
        RiskAction::Prompts { action } => prompts(action),
        RiskAction::Backfill {
            days,
            step,
            tenant,
            format,
            store,
        } => {
            let t = tenant_id(&tenant)?;
            let (cfg, state) = open_state(&store, false)?;
            let step = match step {
                Step::Hour => chrono::Duration::hours(1),
                Step::Day => chrono::Duration::days(1),
            };
            let to = chrono::Utc::now();
            let from = to - chrono::Duration::days(days.into());
            let window = cfg.risk.window_days;
            let b = tokio::task::spawn_blocking(move || {
                mcpsec_risk::assess::backfill(state.as_ref(), &t, window, from, to, step)
            })
            .await
            .context("the backfill task failed")??;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&b)?),
                Format::Table => println!(
                    "tenant {tenant}: {} step(s), {} written ({} point(s)), {} kept",
                    b.steps, b.written, b.points, b.kept
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        RiskAction::Assets { action } => assets(action).await,
    }
}

fn print_assessment(a: &Assessment) {
    println!("alert      {}", a.alert_id);
    println!("score      {}/100 ({})", a.score, a.band);
    println!("source     {}", a.source.as_str());
    for r in &a.reasons {
        println!("           - {r}");
    }
    println!("factors");
    for f in &a.risk.factors {
        let effect = match (f.points, f.multiplier) {
            (Some(p), _) => format!("+{p}"),
            (_, Some(m)) => format!("×{m}"),
            _ => String::new(),
        };
        println!(
            "  {:<15} {:<20} {:>7}  {}",
            f.name, f.input, effect, f.reason
        );
    }
    let v = &a.verdict;
    println!("verdict    {} (confidence {:.2})", v.severity, v.confidence);
    println!("rationale  {}", v.rationale);
    for act in &v.recommended_actions {
        println!("action     - {act}");
    }
    if !v.attack_techniques.is_empty() {
        println!("techniques {}", v.attack_techniques.join(", "));
    }
    if let Some(l) = &a.llm {
        println!(
            "model      {} {} (template {} v{}, {} attempt(s){}, {} + {} tokens, {} ms, ${:.6})",
            l.provider,
            l.model,
            l.template,
            l.template_version,
            l.attempts,
            if l.cached { ", cached" } else { "" },
            l.prompt_tokens,
            l.completion_tokens,
            l.latency_ms,
            l.cost_usd
        );
    }
}

fn prompts_of(cfg: &RiskConfig) -> mcpsec_risk::prompt::Prompts {
    match &cfg.prompts_dir {
        Some(d) => mcpsec_risk::prompt::Prompts::with_dir(d),
        None => mcpsec_risk::prompt::Prompts::embedded(),
    }
}

fn prompts(action: PromptsAction) -> Result<ExitCode> {
    match action {
        PromptsAction::List { tenant, store } => {
            let cfg = load_config(&store)?;
            let t = tenant_id(&tenant)?;
            println!(
                "{:<18} {:>7}  {:<10}  DESCRIPTION",
                "NAME", "VERSION", "ORIGIN"
            );
            for p in prompts_of(&cfg.risk).list(t.as_str())? {
                println!(
                    "{:<18} {:>7}  {:<10}  {}",
                    p.name, p.version, p.origin, p.description
                );
            }
        }
        PromptsAction::Show {
            name,
            tenant,
            store,
        } => {
            let cfg = load_config(&store)?;
            let t = tenant_id(&tenant)?;
            let p = prompts_of(&cfg.risk).load(t.as_str(), &name)?;
            eprintln!(
                "# {} version {} from {} (sha256 {})",
                p.name, p.version, p.origin, p.sha256
            );
            print!("{}", p.text);
        }
        PromptsAction::Test {
            name,
            alert_file,
            tenant,
            store,
        } => {
            let t = tenant_id(&tenant)?;
            let (cfg, state) = open_state(&store, true)?;
            let alert = read_alert(&alert_file)?;
            let ctx = mcpsec_risk::assess::AlertContext::gather(
                state.as_ref(),
                None,
                &t,
                alert,
                None,
                chrono::Utc::now(),
            )?;
            let mut data = ctx.data(cfg.risk.max_events, cfg.risk.max_prompt_bytes);
            let redactor = mcpsec_risk::prompt::redact::Redactor::new(
                cfg.risk.redact_defaults,
                &cfg.risk.redact,
            )?;
            let n = redactor.value(&mut data);
            let r = prompts_of(&cfg.risk).render(
                t.as_str(),
                &name,
                &data,
                ctx.risk.score,
                &ctx.risk.band,
            )?;
            eprintln!(
                "# {} version {} from {}; {n} redaction(s); fence {}",
                r.template, r.version, r.origin, r.fence_id
            );
            println!("=== system ===\n{}\n=== user ===\n{}", r.system, r.user);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn assets(action: AssetsAction) -> Result<ExitCode> {
    match action {
        AssetsAction::Load {
            file,
            merge,
            tenant,
            store,
        } => {
            let t = tenant_id(&tenant)?;
            let (_, state) = open_state(&store, false)?;
            anyhow::ensure!(state.tenant_exists(&t)?, "no tenant {t}");
            let list = read_inventory(&file)?;
            let now = chrono::Utc::now();
            let stored = list
                .iter()
                .map(|a| to_stored(a, "cli", now))
                .collect::<Result<Vec<_>, _>>()?;
            let total = state.put_assets(&t, &stored, !merge)?;
            state.append_audit(&mcpsec_store::AuditEvent {
                tenant: t.to_string(),
                actor: "cli".into(),
                action: "risk.assets".into(),
                target: file.display().to_string(),
                outcome: "success".into(),
                details: serde_json::json!({ "loaded": stored.len(), "total": total, "replaced": !merge }),
            })?;
            eprintln!("{} asset(s) loaded; tenant {t} has {total}", stored.len());
        }
        AssetsAction::LoadScan {
            report,
            asset,
            tenant,
            store,
        } => {
            let t = tenant_id(&tenant)?;
            let (kind, name) = asset
                .split_once(':')
                .and_then(|(k, n)| Some((mcpsec_risk::asset::AssetKind::parse(k)?, n.trim())))
                .filter(|(_, n)| !n.is_empty())
                .context("--asset must be KIND:NAME with KIND host, user, service or project")?;
            let (_, state) = open_state(&store, false)?;
            anyhow::ensure!(state.tenant_exists(&t)?, "no tenant {t}");
            let meta = std::fs::metadata(&report)
                .with_context(|| format!("cannot read {}", report.display()))?;
            anyhow::ensure!(
                meta.len() <= 64 << 20,
                "{}: larger than 64 MiB",
                report.display()
            );
            let text = std::fs::read_to_string(&report)
                .with_context(|| format!("cannot read {}", report.display()))?;
            let (vulns, skipped) = mcpsec_risk::asset_scan::vulns_from_scan(&text)
                .with_context(|| report.display().to_string())?;
            let inv = mcpsec_risk::asset::Inventory::from_stored(&state.list_assets(&t)?);
            let mut a = inv
                .find(kind, name)
                .cloned()
                .unwrap_or(mcpsec_risk::asset::Asset {
                    kind,
                    name: name.to_owned(),
                    aliases: Vec::new(),
                    criticality: None,
                    exposure: None,
                    owner: None,
                    project: None,
                    tags: Vec::new(),
                    vulnerabilities: Vec::new(),
                });
            a.vulnerabilities = vulns;
            mcpsec_risk::asset::validate(std::slice::from_ref(&a))?;
            let stored = to_stored(&a, "cli", chrono::Utc::now())?;
            state.put_assets(&t, std::slice::from_ref(&stored), false)?;
            state.append_audit(&mcpsec_store::AuditEvent {
                tenant: t.to_string(),
                actor: "cli".into(),
                action: "risk.assets".into(),
                target: format!("{}:{}", kind.as_str(), a.name),
                outcome: "success".into(),
                details: serde_json::json!({ "scan": report.display().to_string(), "vulnerabilities": a.vulnerabilities.len(), "skipped": skipped }),
            })?;
            eprintln!(
                "{}:{}: {} vulnerable component(s) from the scan ({skipped} suppressed, informational or duplicate)",
                kind.as_str(),
                a.name,
                a.vulnerabilities.len()
            );
        }
        AssetsAction::Show {
            format,
            limit,
            tenant,
            store,
        } => {
            let t = tenant_id(&tenant)?;
            let (cfg, state) = open_state(&store, false)?;
            let o = mcpsec_risk::assess::overview(
                state.as_ref(),
                &t,
                cfg.risk.window_days,
                chrono::Utc::now(),
                &Default::default(),
            )?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&o)?),
                Format::Table => {
                    println!(
                        "tenant {t}: {}/100 ({}), {} asset(s) at risk, {} alert(s) since {}",
                        o.tenant.score,
                        o.tenant.band,
                        o.tenant.assets_at_risk,
                        o.tenant.alerts,
                        o.from
                    );
                    println!(
                        "{:<8} {:<40} {:>5}  {:<8} {:>6}  TOP ALERT",
                        "KIND", "NAME", "SCORE", "BAND", "ALERTS"
                    );
                    for a in o.assets.iter().take(limit) {
                        println!(
                            "{:<8} {:<40} {:>5}  {:<8} {:>6}  {}",
                            a.kind.as_str(),
                            a.name,
                            a.score,
                            a.band,
                            a.alerts,
                            a.top_alerts
                                .first()
                                .map(|x| x.rule_title.as_str())
                                .unwrap_or("-")
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
