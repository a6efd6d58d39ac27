//! [`LocalObjectStore`]: objects as files under `<root>/<tenant>/<key>`.

use super::{ObjectStore, validate_key};
use crate::{Result, StoreError};
use mcpsec_core::TenantId;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Objects stored as files; writes go to a temporary file, are fsynced, then renamed.
pub struct LocalObjectStore {
    root: PathBuf,
}

impl LocalObjectStore {
    /// A store rooted at `root` (created when missing).
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root)
            .map_err(|e| StoreError::io(format!("create {}", root.display()), e))?;
        Ok(LocalObjectStore {
            root: root.to_owned(),
        })
    }

    fn path(&self, tenant: &TenantId, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(tenant.as_str()).join(key))
    }
}

impl ObjectStore for LocalObjectStore {
    fn put(&self, tenant: &TenantId, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(tenant, key)?;
        let parent = path.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent)
            .map_err(|e| StoreError::io(format!("create {}", parent.display()), e))?;
        let tmp = parent.join(format!(".tmp-{}", ulid::Ulid::new()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::io(format!("write {}", path.display()), e)
        })
    }

    fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(tenant, key)?;
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(format!("read {}", path.display()), e)),
        }
    }

    fn list(&self, tenant: &TenantId, prefix: &str) -> Result<Vec<String>> {
        let base = self.root.join(tenant.as_str());
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(format!("list {}", dir.display()), e)),
            };
            for entry in rd.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&base) {
                    let key = rel.to_string_lossy().replace('\\', "/");
                    if !key.rsplit('/').next().unwrap_or("").starts_with(".tmp-")
                        && key.starts_with(prefix)
                    {
                        out.push(key);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, tenant: &TenantId, key: &str) -> Result<bool> {
        let path = self.path(tenant, key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io(format!("delete {}", path.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_per_tenant_and_keys_cannot_escape() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = LocalObjectStore::open(dir.path()).expect("open");
        let a = TenantId::new("a").expect("t");
        let b = TenantId::new("b").expect("t");
        s.put(&a, "sboms/p1/v1.json", b"{}").expect("put");
        assert_eq!(
            s.get(&a, "sboms/p1/v1.json").expect("get").as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(s.get(&b, "sboms/p1/v1.json").expect("get"), None);
        assert_eq!(
            s.list(&a, "sboms/").expect("list"),
            vec!["sboms/p1/v1.json".to_string()]
        );
        for bad in ["../b/x", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "x y"] {
            assert!(s.put(&a, bad, b"x").is_err(), "{bad:?} accepted");
        }
        assert!(s.delete(&a, "sboms/p1/v1.json").expect("delete"));
        assert!(!s.delete(&a, "sboms/p1/v1.json").expect("delete again"));
    }
}
