//! The layout of a data directory and the lock that gives one process the writer role.

use crate::{Result, StoreError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Paths inside a data directory:
///
/// ```text
/// <data>/LOCK        held by the process that writes the log and the index
/// <data>/log/        event log segments
/// <data>/state.db    SQLite state (shared with `mcpsec admin`)
/// <data>/index/      tantivy index
/// <data>/objects/    object store
/// <data>/audit-signing.key  signs audit checkpoints
/// ```
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// Held while a process owns the data directory; released on drop.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDir {
    /// A data directory at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The event log directory.
    pub fn log(&self) -> PathBuf {
        self.root.join("log")
    }
    /// The SQLite state database.
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.db")
    }
    /// The search index directory.
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }
    /// The object store root.
    pub fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// The key that signs audit checkpoints (mode 0600).
    pub fn audit_key(&self) -> PathBuf {
        self.root.join("audit-signing.key")
    }

    /// Creates the directory (mode 0700 where supported).
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| StoreError::io(format!("create data dir {}", self.root.display()), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    /// Takes the writer lock without waiting; the error names the holder's pid.
    pub fn lock(&self) -> Result<DataDirLock> {
        self.create()?;
        let path = self.root.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(format!("open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "{}", std::process::id());
                let _ = file.sync_all();
                Ok(DataDirLock { _file: file })
            }
            Err(_) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(StoreError::Invalid(format!(
                    "data dir {} is in use by another mcpsec process (pid {}); stop it or talk to it over its API",
                    self.root.display(),
                    holder.trim()
                )))
            }
        }
    }

    /// Whether the directory holds no mcpsec data yet.
    pub fn is_empty(&self) -> bool {
        !self.log().exists() && !self.state_db().exists() && !self.index().exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = DataDir::new(dir.path());
        let held = d.lock().expect("first lock");
        let err = d.lock().expect_err("second lock must fail");
        assert!(err.to_string().contains("in use"), "{err}");
        drop(held);
        d.lock().expect("lock after release");
    }
}
