//! `mcpsec replay --from SEQ`: re-feeds the consumers from a log sequence number.
//! The index drops what it holds from SEQ on and indexes the log again from there, so a
//! replay never duplicates an event.

use super::{load_config, open_stores, quiet_logging};
use crate::cli::ReplayArgs;
use anyhow::{Result, bail};
use mcpsec_store::{Indexer, IndexerOptions};
use std::process::ExitCode;

/// Runs the command.
pub fn run(a: ReplayArgs) -> Result<ExitCode> {
    quiet_logging();
    let cfg = load_config(&a.store)?;
    let s = open_stores(&cfg)?;
    let bounds = s.log.bounds();
    if a.from == 0 || a.from > bounds.last_seq + 1 {
        bail!(
            "--from {} is outside the log (it holds {}..={})",
            a.from,
            bounds.first_seq,
            bounds.last_seq
        );
    }
    if a.from < bounds.first_seq {
        eprintln!(
            "note: events before {} were removed by retention; replaying from there",
            bounds.first_seq
        );
    }
    s.index.delete_from_seq(a.from)?;
    s.index.commit()?;
    let n = Indexer::new(s.log.clone(), s.index.clone(), IndexerOptions::default()).catch_up()?;
    println!(
        "replayed {n} events from seq {} to {}; index now at seq {}",
        a.from.max(bounds.first_seq),
        bounds.last_seq,
        s.index.indexed_seq()
    );
    Ok(ExitCode::SUCCESS)
}
