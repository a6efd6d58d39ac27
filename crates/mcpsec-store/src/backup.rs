//! Consistent backups of a data directory, also while `serve` writes to it.
//!
//! Order matters: the index is copied first (its commit records the last log sequence
//! number it holds, S), then the state database (SQLite's online backup), then the log,
//! which only grows, so the copy holds at least everything up to S. After a restore the
//! indexer continues from S + 1: the restored instance searches exactly what the log
//! copy holds. Index files are immutable once committed; a copy is accepted only if
//! the index's `meta.json` is the same before and after it (else it is retried).

use crate::log::copy_valid_prefix;
use crate::{DataDir, Result, SqliteState, StateStore, StoreError};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// Written as `BACKUP.json` at the root of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupManifest {
    /// Format version of the backup layout.
    pub format: u32,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// mcpsec version that wrote it.
    pub mcpsec_version: String,
    /// Log sequence number recorded in the copied index commit.
    pub indexed_seq: u64,
    /// Records copied from the event log.
    pub log_records: u64,
    /// Files copied, relative to the backup root.
    pub files: Vec<String>,
}

const MANIFEST: &str = "BACKUP.json";

fn io(ctx: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::io(ctx, e)
}

fn indexed_seq_of(meta: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(meta)
        .ok()
        .and_then(|v| {
            v.get("payload")
                .and_then(|p| p.as_str())
                .and_then(|p| p.parse().ok())
        })
        .unwrap_or(0)
}

/// Copies the index directory consistently; returns (indexed_seq, files copied).
fn copy_index(src: &Path, dst: &Path) -> Result<(u64, Vec<String>)> {
    fs::create_dir_all(dst).map_err(io(format!("create {}", dst.display())))?;
    let meta_path = src.join("meta.json");
    if !meta_path.exists() {
        return Ok((0, Vec::new()));
    }
    for attempt in 0..20 {
        let before = fs::read(&meta_path).map_err(io(format!("read {}", meta_path.display())))?;
        let mut files = Vec::new();
        let mut vanished = false;
        let rd = fs::read_dir(src).map_err(io(format!("list {}", src.display())))?;
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".lock") || name == "meta.json" || !entry.path().is_file() {
                continue;
            }
            match fs::copy(entry.path(), dst.join(&name)) {
                Ok(_) => files.push(format!("index/{name}")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => vanished = true,
                Err(e) => return Err(StoreError::io(format!("copy {name}"), e)),
            }
        }
        let after = fs::read(&meta_path).map_err(io(format!("read {}", meta_path.display())))?;
        if before == after && !vanished {
            fs::write(dst.join("meta.json"), &after).map_err(io("write meta.json".into()))?;
            files.push("index/meta.json".into());
            return Ok((indexed_seq_of(&after), files));
        }
        tracing::debug!(attempt, "index changed during backup copy; retrying");
        let _ = fs::remove_dir_all(dst);
        fs::create_dir_all(dst).map_err(io(format!("create {}", dst.display())))?;
        std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)));
    }
    Err(StoreError::Index(
        "the index kept changing during the backup; retry when ingest is calmer".into(),
    ))
}

/// Takes a consistent snapshot of `data` into the new directory `out`.
pub fn snapshot(data: &DataDir, out: &Path) -> Result<BackupManifest> {
    if !data.state_db().exists() && !data.log().exists() {
        return Err(StoreError::NotFound(format!(
            "{} is not an mcpsec data dir",
            data.root().display()
        )));
    }
    if out.exists()
        && fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(StoreError::Invalid(format!(
            "backup destination {} exists and is not empty",
            out.display()
        )));
    }
    let target = DataDir::new(out);
    target.create()?;
    let (indexed_seq, mut files) = copy_index(&data.index(), &target.index())?;
    if data.state_db().exists() {
        SqliteState::open(&data.state_db())?.backup_to(&target.state_db())?;
        files.push("state.db".into());
    }
    fs::create_dir_all(target.log()).map_err(io(format!("create {}", target.log().display())))?;
    let mut log_records = 0;
    for (first, path) in crate::log::list_segment_files(&data.log())? {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        match copy_valid_prefix(&path, &target.log().join(&name), first) {
            Ok(n) => {
                log_records += n;
                files.push(format!("log/{name}"));
            }
            // Removed by retention while we copied: its events are older than the rest.
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            Err(e) => return Err(e),
        }
    }
    if data.audit_key().exists() {
        fs::copy(data.audit_key(), target.audit_key())
            .map_err(io("copy the audit signing key".into()))?;
        files.push("audit-signing.key".into());
    }
    let objects = data.objects();
    if objects.exists() {
        copy_tree(&objects, &target.objects(), "objects", &mut files)?;
    }
    let manifest = BackupManifest {
        format: 1,
        created_at: mcpsec_core::to_rfc3339(&chrono::Utc::now()),
        mcpsec_version: env!("CARGO_PKG_VERSION").into(),
        indexed_seq,
        log_records,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    fs::write(out.join(MANIFEST), text).map_err(io(format!("write {MANIFEST}")))?;
    Ok(manifest)
}

fn copy_tree(src: &Path, dst: &Path, rel: &str, files: &mut Vec<String>) -> Result<()> {
    fs::create_dir_all(dst).map_err(io(format!("create {}", dst.display())))?;
    for entry in fs::read_dir(src)
        .map_err(io(format!("list {}", src.display())))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let p = entry.path();
        let r = format!("{rel}/{name}");
        if p.is_dir() {
            copy_tree(&p, &dst.join(&name), &r, files)?;
        } else if !name.starts_with(".tmp-") {
            fs::copy(&p, dst.join(&name)).map_err(io(format!("copy {}", p.display())))?;
            files.push(r);
        }
    }
    Ok(())
}

/// Restores a backup made by [`snapshot`] into `data`, which must not hold data yet
/// (unless `force`, which replaces it). The caller holds no lock on `data`; this takes it.
pub fn restore(backup: &Path, data: &DataDir, force: bool) -> Result<BackupManifest> {
    let text = fs::read(backup.join(MANIFEST)).map_err(|e| {
        StoreError::io(
            format!(
                "{} is not an mcpsec backup (no {MANIFEST})",
                backup.display()
            ),
            e,
        )
    })?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| StoreError::Invalid(format!("{MANIFEST}: {e}")))?;
    if manifest.format != 1 {
        return Err(StoreError::Invalid(format!(
            "backup format {} is not supported by this version",
            manifest.format
        )));
    }
    for f in &manifest.files {
        if !backup.join(f).is_file() {
            return Err(StoreError::Invalid(format!(
                "backup is incomplete: {f} is missing"
            )));
        }
    }
    let _lock = data.lock()?;
    if !data.is_empty() {
        if !force {
            return Err(StoreError::Invalid(format!(
                "{} already holds data; pass --force to replace it",
                data.root().display()
            )));
        }
        for p in [data.log(), data.index(), data.objects()] {
            if p.exists() {
                fs::remove_dir_all(&p).map_err(io(format!("remove {}", p.display())))?;
            }
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = data.root().join(format!("state.db{suffix}"));
            if p.exists() {
                fs::remove_file(&p).map_err(io(format!("remove {}", p.display())))?;
            }
        }
    }
    for f in &manifest.files {
        let src = backup.join(f);
        let dst = data.root().join(f);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
        }
        fs::copy(&src, &dst).map_err(io(format!("restore {f}")))?;
    }
    fs::create_dir_all(data.log()).map_err(io(format!("create {}", data.log().display())))?;
    Ok(manifest)
}
