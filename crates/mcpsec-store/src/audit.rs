//! The audit log: every authentication, every denied decision and every change, in a
//! hash chain (each entry commits to the one before it) with ed25519-signed checkpoints.
//!
//! Editing an entry breaks its hash; removing or reordering entries breaks the next
//! entry's link; cutting off the newest entries is caught by the last signed checkpoint,
//! whose signature also stops someone with database access but without the signing key
//! from rewriting the whole chain. This is the "blockchain audit" without a blockchain.

use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The hash that the first entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The tenant concerned (`-` for none).
    pub tenant: String,
    /// Who did it: a key id, `cli:<user>`, `anonymous`.
    pub actor: String,
    /// What: `auth.success`, `auth.failure`, `tenant.create`, `key.create`, `key.revoke`, ...
    pub action: String,
    /// On what (an id, a path).
    pub target: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Anything else, as JSON (never secrets).
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain (1-based).
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    /// The entry it vouches for.
    pub seq: u64,
    /// That entry's hash.
    pub hash: String,
    /// When it was signed.
    pub at: String,
    /// Hex ed25519 public key.
    pub public_key: String,
    /// Hex signature over `checkpoint_message(seq, hash)`.
    pub signature: String,
}

/// The hash of an entry: SHA-256 over the previous hash and the entry's canonical JSON.
pub fn entry_hash(seq: u64, at: &str, ev: &AuditEvent, prev_hash: &str) -> String {
    #[derive(Serialize)]
    struct Canon<'a> {
        seq: u64,
        at: &'a str,
        tenant: &'a str,
        actor: &'a str,
        action: &'a str,
        target: &'a str,
        outcome: &'a str,
        details: &'a serde_json::Value,
    }
    let canon = Canon {
        seq,
        at,
        tenant: &ev.tenant,
        actor: &ev.actor,
        action: &ev.action,
        target: &ev.target,
        outcome: &ev.outcome,
        details: &ev.details,
    };
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(serde_json::to_vec(&canon).unwrap_or_default());
    hex::encode(h.finalize())
}

fn checkpoint_message(seq: u64, hash: &str) -> Vec<u8> {
    format!("mcpsec-audit-checkpoint:{seq}:{hash}").into_bytes()
}

/// The signing key of a data directory, created (mode 0600) on first use.
pub struct AuditSigner {
    key: SigningKey,
}

impl AuditSigner {
    /// Loads `<path>` or creates it with a new random key.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let bytes = hex::decode(text.trim())
                .map_err(|_| StoreError::Invalid(format!("{} is not a hex key", path.display())))?;
            let arr: [u8; 32] = bytes.try_into().map_err(|_| {
                StoreError::Invalid(format!("{} must hold 32 bytes", path.display()))
            })?;
            return Ok(AuditSigner {
                key: SigningKey::from_bytes(&arr),
            });
        }
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(|e| StoreError::io("read /dev/urandom", e))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(hex::encode(seed).as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| StoreError::io(format!("write {}", path.display()), e))?;
                Ok(AuditSigner {
                    key: SigningKey::from_bytes(&seed),
                })
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(e) => Err(StoreError::io(format!("create {}", path.display()), e)),
        }
    }

    /// Hex public key.
    pub fn public_key(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// Signs a checkpoint for an entry.
    pub fn checkpoint(&self, seq: u64, hash: &str, at: DateTime<Utc>) -> AuditCheckpoint {
        let sig = self.key.sign(&checkpoint_message(seq, hash));
        AuditCheckpoint {
            seq,
            hash: hash.to_owned(),
            at: mcpsec_core::to_rfc3339(&at),
            public_key: self.public_key(),
            signature: hex::encode(sig.to_bytes()),
        }
    }
}

/// Entries between automatic checkpoints.
pub const CHECKPOINT_EVERY: u64 = 64;

/// Records audit events into a [`crate::StateStore`] and signs checkpoints.
pub struct Auditor {
    state: std::sync::Arc<dyn crate::StateStore>,
    signer: AuditSigner,
}

impl Auditor {
    /// An auditor writing to `state`, signing with the key at `key_path`.
    pub fn new(state: std::sync::Arc<dyn crate::StateStore>, key_path: &Path) -> Result<Self> {
        Ok(Auditor {
            state,
            signer: AuditSigner::load_or_create(key_path)?,
        })
    }

    /// Appends an event; every [`CHECKPOINT_EVERY`] entries a checkpoint is signed.
    pub fn record(&self, event: &AuditEvent) -> Result<AuditEntry> {
        let entry = self.state.append_audit(event)?;
        if entry.seq % CHECKPOINT_EVERY == 0 {
            self.state.add_audit_checkpoint(&self.signer.checkpoint(
                entry.seq,
                &entry.hash,
                Utc::now(),
            ))?;
        }
        Ok(entry)
    }

    /// Signs a checkpoint for the newest entry now (at shutdown, after CLI changes).
    pub fn checkpoint_now(&self) -> Result<()> {
        let mut last = None;
        let mut after = 0;
        loop {
            let page = self.state.audit_entries(None, after, 10_000)?;
            match page.last() {
                Some(e) => {
                    after = e.seq;
                    last = Some((e.seq, e.hash.clone()));
                }
                None => break,
            }
        }
        if let Some((seq, hash)) = last {
            self.state
                .add_audit_checkpoint(&self.signer.checkpoint(seq, &hash, Utc::now()))?;
        }
        Ok(())
    }

    /// The public key that signs this data directory's checkpoints.
    pub fn public_key(&self) -> String {
        self.signer.public_key()
    }

    /// Verifies the whole log of the store, one page of entries at a time: memory stays
    /// bounded by the page and the checkpoints, whatever the length of the log.
    pub fn verify(&self) -> Result<VerifyReport> {
        let cps = self.state.audit_checkpoints()?;
        let mut check = ChainCheck::new(&cps);
        let mut after = 0;
        loop {
            let page = self.state.audit_entries(None, after, 10_000)?;
            match page.last() {
                Some(e) => after = e.seq,
                None => break,
            }
            for e in &page {
                check.entry(e);
            }
        }
        Ok(check.finish(&cps, Some(&self.public_key())))
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// Every problem, with the entry it concerns.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether the log is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a chain and its checkpoints. `trusted_key` (hex), when given, is the only key
/// whose signatures count.
pub fn verify(
    entries: &[AuditEntry],
    checkpoints: &[AuditCheckpoint],
    trusted_key: Option<&str>,
) -> VerifyReport {
    let mut check = ChainCheck::new(checkpoints);
    for e in entries {
        check.entry(e);
    }
    check.finish(checkpoints, trusted_key)
}

/// The chain checked entry by entry, keeping only what the checkpoints need: the
/// hashes of the entries they vouch for.
struct ChainCheck {
    report: VerifyReport,
    prev: String,
    expect_seq: u64,
    last: u64,
    /// Checkpointed sequence numbers and the hash their entry had (`None`: not seen).
    vouched: std::collections::HashMap<u64, Option<String>>,
}

impl ChainCheck {
    fn new(checkpoints: &[AuditCheckpoint]) -> Self {
        ChainCheck {
            report: VerifyReport::default(),
            prev: GENESIS_HASH.to_owned(),
            expect_seq: 1,
            last: 0,
            vouched: checkpoints.iter().map(|c| (c.seq, None)).collect(),
        }
    }

    fn entry(&mut self, e: &AuditEntry) {
        let r = &mut self.report;
        r.entries += 1;
        if e.seq != self.expect_seq {
            r.problems.push(format!(
                "entry {}: expected seq {} (entries removed or reordered)",
                e.seq, self.expect_seq
            ));
        }
        if e.prev_hash != self.prev {
            r.problems.push(format!(
                "entry {}: does not link to the entry before it (removed, inserted or reordered)",
                e.seq
            ));
        }
        let h = entry_hash(e.seq, &e.at, &e.event, &e.prev_hash);
        if h != e.hash {
            r.problems.push(format!(
                "entry {}: content does not match its hash (edited)",
                e.seq
            ));
        }
        if let Some(seen) = self.vouched.get_mut(&e.seq) {
            *seen = Some(e.hash.clone());
        }
        self.prev = e.hash.clone();
        self.expect_seq = e.seq + 1;
        self.last = e.seq;
    }

    fn finish(self, checkpoints: &[AuditCheckpoint], trusted_key: Option<&str>) -> VerifyReport {
        let ChainCheck {
            report: mut r,
            last,
            vouched,
            ..
        } = self;
        r.checkpoints = checkpoints.len() as u64;
        check_checkpoints(&mut r, checkpoints, trusted_key, last, &vouched);
        r
    }
}

fn check_checkpoints(
    r: &mut VerifyReport,
    checkpoints: &[AuditCheckpoint],
    trusted_key: Option<&str>,
    last: u64,
    by_seq: &std::collections::HashMap<u64, Option<String>>,
) {
    for c in checkpoints {
        if let Some(k) = trusted_key
            && c.public_key != k
        {
            r.problems
                .push(format!("checkpoint {}: signed by an unknown key", c.seq));
            continue;
        }
        let valid = hex::decode(&c.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .zip(
                hex::decode(&c.signature)
                    .ok()
                    .and_then(|b| <[u8; 64]>::try_from(b).ok()),
            )
            .is_some_and(|(k, s)| {
                k.verify(
                    &checkpoint_message(c.seq, &c.hash),
                    &Signature::from_bytes(&s),
                )
                .is_ok()
            });
        if !valid {
            r.problems
                .push(format!("checkpoint {}: bad signature", c.seq));
        }
        match by_seq.get(&c.seq).and_then(Option::as_ref) {
            Some(h) if *h == c.hash => {}
            Some(_) => r.problems.push(format!(
                "checkpoint {}: entry {} changed since it was signed",
                c.seq, c.seq
            )),
            None if c.seq > last => r.problems.push(format!(
                "checkpoint {}: the log ends at {last}; newer entries were removed",
                c.seq
            )),
            None => r
                .problems
                .push(format!("checkpoint {}: entry {} is missing", c.seq, c.seq)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let event = AuditEvent {
                    tenant: "t".into(),
                    actor: "k1".into(),
                    action: "key.create".into(),
                    target: format!("key{seq}"),
                    outcome: "success".into(),
                    details: serde_json::json!({"n": seq}),
                };
                let at = format!("2026-11-20T00:00:{:02}Z", seq % 60);
                let hash = entry_hash(seq, &at, &event, &prev);
                let e = AuditEntry {
                    seq,
                    at,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn the_store_is_verified_page_by_page_with_its_checkpoints() {
        let dir = tempfile::tempdir().expect("tmp");
        let state: std::sync::Arc<dyn crate::StateStore> =
            std::sync::Arc::new(crate::SqliteState::in_memory().expect("db"));
        let auditor = Auditor::new(state, &dir.path().join("k")).expect("auditor");
        assert!(
            auditor.verify().expect("verify").ok(),
            "an empty log is intact"
        );
        for i in 0..130 {
            auditor
                .record(&AuditEvent {
                    tenant: "-".into(),
                    actor: "k1".into(),
                    action: "key.create".into(),
                    target: format!("key{i}"),
                    outcome: "success".into(),
                    details: serde_json::json!({}),
                })
                .expect("record");
        }
        let r = auditor.verify().expect("verify");
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(
            (r.entries, r.checkpoints),
            (130, 2),
            "checkpoints at 64 and 128"
        );
    }

    #[test]
    fn intact_chain_verifies_and_each_kind_of_tampering_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let signer = AuditSigner::load_or_create(&dir.path().join("k")).expect("key");
        let again = AuditSigner::load_or_create(&dir.path().join("k")).expect("key");
        assert_eq!(signer.public_key(), again.public_key());
        let entries = chain(10);
        let cps = vec![
            signer.checkpoint(5, &entries[4].hash, Utc::now()),
            signer.checkpoint(10, &entries[9].hash, Utc::now()),
        ];
        let key = signer.public_key();
        assert!(verify(&entries, &cps, Some(&key)).ok());

        let mut edited = entries.clone();
        edited[2].event.target = "other".into();
        assert!(
            verify(&edited, &cps, Some(&key))
                .problems
                .iter()
                .any(|p| p.contains("entry 3") && p.contains("edited"))
        );

        let mut removed = entries.clone();
        removed.remove(6);
        assert!(
            verify(&removed, &cps, Some(&key))
                .problems
                .iter()
                .any(|p| p.contains("removed"))
        );

        let mut reordered = entries.clone();
        reordered.swap(3, 4);
        assert!(!verify(&reordered, &cps, Some(&key)).ok());

        let truncated = entries[..8].to_vec();
        assert!(
            verify(&truncated, &cps, Some(&key))
                .problems
                .iter()
                .any(|p| p.contains("newer entries were removed"))
        );

        // A rewritten chain with fresh hashes still fails the signed checkpoint.
        let mut rewritten = chain(10);
        rewritten[0].event.actor = "mallory".into();
        let mut prev = GENESIS_HASH.to_owned();
        for e in &mut rewritten {
            e.prev_hash = prev.clone();
            e.hash = entry_hash(e.seq, &e.at, &e.event, &e.prev_hash);
            prev = e.hash.clone();
        }
        assert!(
            verify(&rewritten, &cps, Some(&key))
                .problems
                .iter()
                .any(|p| p.contains("changed since it was signed"))
        );

        let mut forged = cps.clone();
        forged[0].signature = hex::encode([0u8; 64]);
        assert!(
            verify(&entries, &forged, Some(&key))
                .problems
                .iter()
                .any(|p| p.contains("bad signature"))
        );
        let other = AuditSigner::load_or_create(&dir.path().join("other")).expect("key");
        let foreign = vec![other.checkpoint(10, &entries[9].hash, Utc::now())];
        assert!(!verify(&entries, &foreign, Some(&key)).ok());
    }
}
