//! `mcpsec audit verify`.

use super::load_config;
use crate::cli::AuditAction;
use anyhow::{Context as _, Result};
use mcpsec_store::{Auditor, DataDir, SqliteState, StateStore};
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the command.
pub fn run(action: AuditAction) -> Result<ExitCode> {
    let AuditAction::Verify { store, json } = action;
    let cfg = load_config(&store)?;
    let data = DataDir::new(&cfg.data_dir);
    anyhow::ensure!(
        data.state_db().exists(),
        "no state database in {}",
        data.root().display()
    );
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteState::open(&data.state_db()).context("cannot open the state database")?);
    anyhow::ensure!(
        data.audit_key().exists(),
        "no audit signing key in {}: nothing was audited yet, or the key was removed",
        data.root().display()
    );
    let report = Auditor::new(state, &data.audit_key())?.verify()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.ok() {
        println!(
            "audit log intact: {} entries, {} signed checkpoints",
            report.entries, report.checkpoints
        );
    } else {
        println!(
            "audit log TAMPERED: {} problems in {} entries, {} checkpoints",
            report.problems.len(),
            report.entries,
            report.checkpoints
        );
        for p in &report.problems {
            println!("  {p}");
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
