//! `mcpsec playbook validate|import|test|actions|approve|reject`: response playbooks
//! checked, imported from CACAO v2, simulated against an alert, and approvals decided
//! straight in the data dir of a running or stopped `serve`.

use super::load_config;
use crate::cli::StoreArgs;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use mcpsec_respond::simulate::{Recorded, Simulation};
use mcpsec_respond::{Decider, Engine, Registry};
use mcpsec_store::{AuditEvent, Auditor, DataDir, SqliteState, StateStore};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `mcpsec playbook ...`.
#[derive(Debug, Subcommand)]
pub enum PlaybookAction {
    /// Check playbook files; one line per problem (`FILE:LINE: step 'id': message`);
    /// exit 1 when any is invalid.
    Validate {
        /// Playbook files (YAML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Convert a CACAO v2 playbook (JSON) to an mcpsec playbook (YAML on stdout or
    /// `--output`); what cannot be mapped is listed on stderr.
    Import {
        /// The CACAO JSON file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Where to write the YAML.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run a playbook against an alert with every action recorded instead of sent:
    /// shows each step and what would go where (secrets redacted). Exit 1 when the
    /// simulated run fails.
    Test {
        /// The playbook file.
        #[arg(value_name = "PLAYBOOK")]
        playbook: PathBuf,
        /// The alert (JSON, as `GET /api/v1/alerts/{id}` returns it).
        #[arg(long, value_name = "FILE")]
        alert: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TestFormat::Table)]
        format: TestFormat,
        /// Configuration file whose `[respond.services]` base URLs are used.
        #[arg(long, short = 'c', env = "MCPSEC_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List the actions playbooks can use.
    Actions,
    /// Approve a step waiting for approval (works on the data dir; `serve` picks the
    /// decision up within a second).
    Approve(DecideArgs),
    /// Reject a step waiting for approval (it fails and its compensation runs).
    Reject(DecideArgs),
}

/// A decision from the command line.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The run id.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// The step id.
    #[arg(value_name = "STEP")]
    pub step: String,
    /// Why.
    #[arg(long)]
    pub comment: Option<String>,
    /// Decide as this approver (default: $USER). The local command line is trusted like
    /// an admin: it may decide for any role or named approver.
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Where the data is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Output of `playbook test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// Steps and effects, for people.
    Table,
    /// The whole simulation as JSON.
    Json,
}

/// Runs a `playbook` subcommand.
pub fn run(action: PlaybookAction) -> Result<ExitCode> {
    match action {
        PlaybookAction::Validate { files } => validate(&files),
        PlaybookAction::Import { file, output } => import(&file, output.as_deref()),
        PlaybookAction::Test {
            playbook,
            alert,
            format,
            config,
        } => test(&playbook, &alert, format, config),
        PlaybookAction::Actions => {
            for a in Registry::builtin().all() {
                println!("{:<22} {}", a.name(), a.summary());
            }
            Ok(ExitCode::SUCCESS)
        }
        PlaybookAction::Approve(a) => decide(a, true),
        PlaybookAction::Reject(a) => decide(a, false),
    }
}

fn validate(files: &[PathBuf]) -> Result<ExitCode> {
    let registry = Registry::builtin();
    let mut bad = 0;
    for f in files {
        let text = match std::fs::read(f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                println!("{}: cannot read: {e}", f.display());
                bad += 1;
                continue;
            }
        };
        match mcpsec_respond::parse_playbook(&text, &registry) {
            Ok(pb) => println!("{}: ok ({} steps)", f.display(), pb.steps.len()),
            Err(inv) => {
                bad += 1;
                for d in inv.0 {
                    let at = match (d.line, d.column) {
                        (Some(l), Some(c)) => format!(":{l}:{c}"),
                        (Some(l), None) => format!(":{l}"),
                        _ => String::new(),
                    };
                    let step = d.step.map(|s| format!("step '{s}': ")).unwrap_or_default();
                    println!("{}{at}: {step}{}", f.display(), d.message);
                }
            }
        }
    }
    println!("{} valid, {bad} invalid", files.len() - bad);
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn import(file: &std::path::Path, output: Option<&std::path::Path>) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let imported = match mcpsec_respond::cacao::import(&text) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{}: cannot import: {e}", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    for u in &imported.unmapped {
        eprintln!("not mapped: {u}");
    }
    match output {
        Some(o) => std::fs::write(o, &imported.yaml)
            .with_context(|| format!("cannot write {}", o.display()))?,
        None => print!("{}", imported.yaml),
    }
    eprintln!(
        "imported {} steps, {} things not mapped",
        imported.playbook.steps.len(),
        imported.unmapped.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn test(
    playbook: &std::path::Path,
    alert: &std::path::Path,
    format: TestFormat,
    config: Option<PathBuf>,
) -> Result<ExitCode> {
    let yaml = std::fs::read_to_string(playbook)
        .with_context(|| format!("cannot read {}", playbook.display()))?;
    let alert_text = std::fs::read_to_string(alert)
        .with_context(|| format!("cannot read {}", alert.display()))?;
    let alert: serde_json::Value = serde_json::from_str(&alert_text)
        .with_context(|| format!("{} is not JSON", alert.display()))?;
    if !alert.is_object() {
        bail!("{}: the alert must be a JSON object", playbook.display());
    }
    let services = match config {
        Some(c) => crate::config::Config::load(Some(&c))?.respond.services,
        None => mcpsec_respond::Services::default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sim = match rt.block_on(mcpsec_respond::simulate::simulate(&yaml, alert, services)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", playbook.display());
            return Ok(ExitCode::from(1));
        }
    };
    match format {
        TestFormat::Json => println!("{}", serde_json::to_string_pretty(&sim)?),
        TestFormat::Table => print_table(&sim),
    }
    Ok(if sim.status == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(sim: &Simulation) {
    println!("{:<28} {:<10} {:>8}  DETAIL", "STEP", "STATUS", "ATTEMPTS");
    for s in &sim.steps {
        let name = if s.item >= 0 {
            format!("{}[{}]", s.step_id, s.item)
        } else {
            s.step_id.clone()
        };
        let detail = s
            .error
            .clone()
            .or_else(|| (s.actor != "simulator").then(|| s.actor.clone()))
            .unwrap_or_default();
        println!("{name:<28} {:<10} {:>8}  {detail}", s.status, s.attempt);
    }
    println!();
    println!("What would be sent:");
    for e in &sim.effects {
        match &e.effect {
            Recorded::Http(r) => {
                println!("[{}] {} {}", e.step, r.method, r.url);
                for (k, v) in &r.headers {
                    println!("    {k}: {v}");
                }
                if let Some(b) = &r.body {
                    println!("    {b}");
                }
            }
            Recorded::Command(c) => {
                println!("[{}] run {:?}", e.step, c.argv);
                if let Some(s) = &c.stdin {
                    for l in s.lines() {
                        println!("    {l}");
                    }
                }
            }
            Recorded::Mail(m) => {
                println!(
                    "[{}] mail from {} to {}: {}",
                    e.step,
                    m.from,
                    m.to.join(", "),
                    m.subject
                );
                for l in m.body.lines() {
                    println!("    {l}");
                }
            }
            Recorded::Alert(a) => println!(
                "[{}] alert {} status {} note {}",
                e.step,
                a.alert_id,
                a.status.as_deref().unwrap_or("(unchanged)"),
                a.note.as_deref().unwrap_or("-")
            ),
            Recorded::Resolve { host } => {
                println!("[{}] resolve {host} (simulated as 192.0.2.1)", e.step)
            }
        }
    }
    println!();
    println!("run: {}", sim.status);
}

fn decide(a: DecideArgs, approve: bool) -> Result<ExitCode> {
    let cfg = load_config(&a.store)?;
    let data = DataDir::new(&cfg.data_dir);
    if !data.state_db().exists() {
        bail!("no state database in {}", cfg.data_dir.display());
    }
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteState::open(&data.state_db()).context("cannot open the state database")?);
    let actor = a
        .actor
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let engine = Engine::new(
        state.clone(),
        Registry::builtin(),
        Arc::new(mcpsec_respond::simulate::Recorder::new(Default::default())),
    );
    let who = Decider {
        actor: actor.clone(),
        role: "admin".into(),
        any_role: true,
    };
    let rec = match engine.decide(None, &a.run, &a.step, &who, approve, a.comment.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}/{}: {e}", a.run, a.step);
            return Ok(ExitCode::from(1));
        }
    };
    let verb = if approve { "approve" } else { "reject" };
    let auditor = Auditor::new(state, &data.audit_key())?;
    auditor.record(&AuditEvent {
        tenant: rec.tenant.to_string(),
        actor: format!("cli:{actor}"),
        action: format!("approvals.{verb}"),
        target: format!("{}/{}", a.run, a.step),
        outcome: "success".into(),
        details: serde_json::json!({"comment": a.comment, "status": rec.status}),
    })?;
    auditor.checkpoint_now()?;
    println!("{}/{}: {} ({})", a.run, a.step, verb, rec.status);
    Ok(ExitCode::SUCCESS)
}
