//! One module per subcommand, plus what they share: configuration and store opening.

mod admin;
pub use admin::new_secret;
mod audit;
mod backup;
mod bench;
mod bench_alerts;
mod bench_api;
pub mod hunt;
mod ingest;
pub mod playbook;
mod replay;
pub mod report;
pub mod risk;
pub mod rules;
pub mod sbom;
pub mod vulndb;

use crate::cli::{BenchWhat, Cli, Command, ConfigAction, StoreArgs};
use crate::config::Config;
use anyhow::{Context as _, Result};
use mcpsec_store::{
    DataDir, DataDirLock, EventLog, FileLog, FileLogOptions, SearchIndex, SqliteState, StateStore,
    TantivyIndex, TantivyOptions,
};
use std::process::ExitCode;
use std::sync::Arc;

/// Dispatches a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(a) => crate::serve::run(a).map(|_| ExitCode::SUCCESS),
        Command::Ingest(a) => ingest::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Backup(a) => backup::backup(a),
        Command::Restore(a) => backup::restore(a),
        Command::Admin { what } => admin::run(what),
        Command::Audit { action } => audit::run(action),
        Command::Mcp(a) => crate::mcp::run(a),
        Command::Config {
            action: ConfigAction::Check { file },
        } => config_check(&file),
        Command::Bench {
            what: BenchWhat::Ingest(a),
        } => bench::ingest(a),
        Command::Bench {
            what: BenchWhat::Alerts(a),
        } => bench_alerts::run(a),
        Command::Bench {
            what: BenchWhat::Api(a),
        } => bench_api::run(a),
        Command::Bench {
            what: BenchWhat::Hunt(a),
        } => bench::hunt(a),
        Command::Rules { action } => rules::run(action),
        Command::Hunt(a) => hunt::run(a),
        Command::Vulndb { action } => vulndb::run(action),
        Command::Sbom { action } => sbom::run(action),
        Command::Report { action } => report::run(action),
        Command::Playbook { action } => playbook::run(action),
        Command::Risk { action } => risk::run(action),
    }
}

fn config_check(file: &std::path::Path) -> Result<ExitCode> {
    match Config::load(Some(file)) {
        Ok(cfg) => {
            println!("{}: ok", file.display());
            println!("{cfg:#?}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: invalid: {e:#}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// Loads the configuration for a command, applying `--data-dir`.
pub fn load_config(store: &StoreArgs) -> Result<Config> {
    let mut cfg = Config::load(store.config.as_deref())?;
    if let Some(d) = &store.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

/// Logging for one-shot commands: warnings and errors only, unless RUST_LOG says more.
pub fn quiet_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The opened stores of a data directory, with its writer lock held.
pub struct Stores {
    /// The directory.
    pub data: DataDir,
    /// Held while the stores are open.
    pub lock: DataDirLock,
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// The state store.
    pub state: Arc<dyn StateStore>,
    /// The search index.
    pub index: Arc<dyn SearchIndex>,
}

/// Locks the data directory and opens its stores.
pub fn open_stores(cfg: &Config) -> Result<Stores> {
    let data = DataDir::new(&cfg.data_dir);
    let lock = data.lock()?;
    let log = FileLog::open(
        &data.log(),
        FileLogOptions {
            segment_bytes: cfg.event_log.segment_bytes,
        },
    )
    .context("cannot open the event log")?;
    let state = SqliteState::open(&data.state_db()).context("cannot open the state database")?;
    let index = TantivyIndex::open(
        &data.index(),
        TantivyOptions {
            threads: cfg.index.threads,
            writer_memory: cfg.index.writer_memory_bytes,
        },
    )
    .context("cannot open the search index")?;
    Ok(Stores {
        data,
        lock,
        log: Arc::new(log),
        state: Arc::new(state),
        index: Arc::new(index),
    })
}
