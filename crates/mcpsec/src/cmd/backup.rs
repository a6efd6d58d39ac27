//! `mcpsec backup` and `mcpsec restore`.

use super::{load_config, quiet_logging};
use crate::cli::{BackupArgs, RestoreArgs};
use anyhow::{Context as _, Result};
use mcpsec_store::DataDir;
use std::process::ExitCode;

/// Takes a snapshot (works while `serve` runs on the same data directory).
pub fn backup(a: BackupArgs) -> Result<ExitCode> {
    quiet_logging();
    let cfg = load_config(&a.store)?;
    let data = DataDir::new(&cfg.data_dir);
    let m = mcpsec_store::snapshot(&data, &a.out)
        .with_context(|| format!("backup of {} failed", data.root().display()))?;
    println!(
        "backup written to {}: {} files, {} log records, index at seq {}",
        a.out.display(),
        m.files.len(),
        m.log_records,
        m.indexed_seq
    );
    Ok(ExitCode::SUCCESS)
}

/// Restores a snapshot into a stopped data directory.
pub fn restore(a: RestoreArgs) -> Result<ExitCode> {
    quiet_logging();
    let cfg = load_config(&a.store)?;
    let data = DataDir::new(&cfg.data_dir);
    let m = mcpsec_store::restore(&a.backup, &data, a.force)
        .with_context(|| format!("restore into {} failed", data.root().display()))?;
    println!(
        "restored {} files from the backup of {} into {}",
        m.files.len(),
        m.created_at,
        data.root().display()
    );
    Ok(ExitCode::SUCCESS)
}
