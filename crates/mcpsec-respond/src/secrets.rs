//! The secret store: playbooks name secrets; the configuration says where each lives —
//! an environment variable, a file, or HashiCorp Vault KV v2 over its HTTP API
//! (`GET <address>/v1/<mount>/data/<path>` with `X-Vault-Token`). Values are never
//! logged, stored in runs or shown by the simulator.

use crate::action::ActionError;
use crate::config::VaultConfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where one secret lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (trailing newline removed).
    File(std::path::PathBuf),
    /// Vault KV v2: mount, path inside it, key in the secret's data.
    Vault {
        /// The KV v2 mount (e.g. `secret`).
        mount: String,
        /// Path under the mount.
        path: String,
        /// Key in the data.
        key: String,
    },
}

fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl SecretSource {
    /// Parses `env:VAR`, `file:/path` or `vault:<mount>/<path>#<key>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(v) = s.strip_prefix("env:") {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("'{s}': bad variable name"));
            }
            return Ok(SecretSource::Env(v.into()));
        }
        if let Some(p) = s.strip_prefix("file:") {
            if !p.starts_with('/') {
                return Err(format!("'{s}': the file path must be absolute"));
            }
            return Ok(SecretSource::File(p.into()));
        }
        if let Some(v) = s.strip_prefix("vault:") {
            let (loc, key) = v
                .split_once('#')
                .ok_or_else(|| format!("'{s}': needs #key"))?;
            let (mount, path) = loc
                .split_once('/')
                .ok_or_else(|| format!("'{s}': needs <mount>/<path>"))?;
            if !safe_segment(mount) || !path.split('/').all(safe_segment) || key.is_empty() {
                return Err(format!("'{s}': bad mount, path or key"));
            }
            return Ok(SecretSource::Vault {
                mount: mount.into(),
                path: path.into(),
                key: key.into(),
            });
        }
        Err(format!("'{s}': expected env:, file: or vault:"))
    }
}

/// Secrets by name.
pub struct SecretStore {
    sources: BTreeMap<String, SecretSource>,
    vault: Option<VaultConfig>,
    client: reqwest::Client,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("names", &self.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn read_local(src: &SecretSource, name: &str) -> Result<String, ActionError> {
    let fail = |reason: String| ActionError::Secret {
        name: name.into(),
        reason,
    };
    match src {
        SecretSource::Env(v) => std::env::var(v).map_err(|_| fail(format!("${v} is not set"))),
        SecretSource::File(p) => {
            let meta = std::fs::metadata(p).map_err(|e| fail(format!("{}: {e}", p.display())))?;
            if meta.len() > 64 * 1024 {
                return Err(fail(format!("{} is larger than 64 KiB", p.display())));
            }
            let text =
                std::fs::read_to_string(p).map_err(|e| fail(format!("{}: {e}", p.display())))?;
            Ok(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        SecretSource::Vault { .. } => Err(fail("not a local source".into())),
    }
}

impl SecretStore {
    /// Builds the store from `name -> source` and the optional Vault settings.
    pub fn new(
        secrets: &BTreeMap<String, String>,
        vault: Option<VaultConfig>,
    ) -> Result<Self, String> {
        let mut sources = BTreeMap::new();
        for (name, s) in secrets {
            let src = SecretSource::parse(s).map_err(|e| format!("secret {name}: {e}"))?;
            if matches!(src, SecretSource::Vault { .. }) && vault.is_none() {
                return Err(format!(
                    "secret {name} is in Vault but [respond.vault] is not set"
                ));
            }
            sources.insert(name.clone(), src);
        }
        if let Some(v) = &vault {
            if let SecretSource::Vault { .. } = SecretSource::parse(&v.token)? {
                return Err("the Vault token must come from env: or file:".into());
            }
            if !(v.address.starts_with("http://") || v.address.starts_with("https://")) {
                return Err(format!("vault address '{}' is not a URL", v.address));
            }
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(SecretStore {
            sources,
            vault,
            client,
        })
    }

    /// Whether a secret of this name is configured.
    pub fn has(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    /// Reads a secret.
    pub async fn get(&self, name: &str) -> Result<String, ActionError> {
        let fail = |reason: String| ActionError::Secret {
            name: name.into(),
            reason,
        };
        let src = self
            .sources
            .get(name)
            .ok_or_else(|| fail("not configured in [respond.secrets]".into()))?;
        let SecretSource::Vault { mount, path, key } = src else {
            return read_local(src, name);
        };
        let Some(vault) = &self.vault else {
            return Err(fail("[respond.vault] is not set".into()));
        };
        let token = SecretSource::parse(&vault.token)
            .map_err(fail)
            .and_then(|s| read_local(&s, "vault token"))?;
        let url = format!(
            "{}/v1/{mount}/data/{path}",
            vault.address.trim_end_matches('/')
        );
        let mut req = self.client.get(&url).header("X-Vault-Token", token);
        if let Some(ns) = &vault.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ActionError::Failed(format!("secret {name}: vault unreachable: {e}")))?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = match resp.json().await {
            Ok(v) => v,
            Err(_) => serde_json::Value::Null,
        };
        if status != 200 {
            let errors = body
                .get("errors")
                .map(|e| e.to_string())
                .unwrap_or_default();
            return Err(fail(format!("vault answered {status} {errors}")));
        }
        body.pointer("/data/data")
            .and_then(|d| d.get(key.as_str()))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| fail(format!("vault secret {mount}/{path} has no string '{key}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_strictly() {
        assert_eq!(
            SecretSource::parse("env:SLACK_TOKEN"),
            Ok(SecretSource::Env("SLACK_TOKEN".into()))
        );
        assert!(matches!(
            SecretSource::parse("vault:secret/soc/slack#token"),
            Ok(SecretSource::Vault { .. })
        ));
        for bad in [
            "",
            "SLACK",
            "env:",
            "env:A-B",
            "file:relative",
            "vault:secret#k",
            "vault:secret/../sys#k",
            "vault:secret/x",
            "vault:/x#k",
            "http:x",
        ] {
            assert!(SecretSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn env_and_file_secrets_and_missing_ones() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("tok");
        std::fs::write(&f, "s3cret\n").expect("write");
        let map = BTreeMap::from([
            ("f".to_string(), format!("file:{}", f.display())),
            (
                "e".to_string(),
                "env:MCPSEC_TEST_UNSET_SECRET_VAR".to_string(),
            ),
        ]);
        let s = SecretStore::new(&map, None).expect("store");
        assert_eq!(s.get("f").await, Ok("s3cret".to_string()));
        let e = s.get("e").await.expect_err("unset");
        assert!(e.to_string().contains("is not set"), "{e}");
        assert!(s.get("nope").await.is_err());
        let vault_only = BTreeMap::from([("v".to_string(), "vault:kv/a#b".to_string())]);
        assert!(SecretStore::new(&vault_only, None).is_err());
    }
}
