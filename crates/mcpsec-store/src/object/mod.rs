//! Object storage for documents kept as they came (SBOMs, reports, backups): keys under a
//! tenant. Embedded backend: the local filesystem ([`LocalObjectStore`]); S3 later.

mod local;

pub use local::LocalObjectStore;

use crate::Result;
use mcpsec_core::TenantId;

/// A blob store addressed by tenant and key.
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `bytes` under the key, replacing what was there, atomically.
    fn put(&self, tenant: &TenantId, key: &str, bytes: &[u8]) -> Result<()>;
    /// The bytes under the key, or `None`.
    fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<Vec<u8>>>;
    /// Keys starting with `prefix`, sorted.
    fn list(&self, tenant: &TenantId, prefix: &str) -> Result<Vec<String>>;
    /// Deletes the key; `false` when it did not exist.
    fn delete(&self, tenant: &TenantId, key: &str) -> Result<bool>;
}

/// Checks a key: 1–512 bytes of `[A-Za-z0-9._/-]`, no empty, `.` or `..` segment, no
/// leading `/`. Keys are paths under the tenant's root, so this is what stops traversal.
pub fn validate_key(key: &str) -> Result<()> {
    let ok_chars = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    let ok_segments = key
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..");
    if key.is_empty() || key.len() > 512 || !ok_chars || !ok_segments {
        return Err(crate::StoreError::Invalid(format!(
            "invalid object key {key:?}: use '/'-separated segments of letters, digits, '.', '_', '-'"
        )));
    }
    Ok(())
}
