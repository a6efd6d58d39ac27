//! JWT bearer tokens from an OIDC issuer, validated against the issuer's JWKS.
//!
//! Keys are fetched from the issuer's discovery document (or a configured JWKS URL),
//! cached, and fetched again when a token names a key id we do not know (rotation) —
//! at most once per `min_refetch_secs`, so a flood of made-up key ids cannot turn into a
//! flood of requests to the issuer. Signature, `exp`, `nbf`, `iss` and `aud` are checked;
//! only asymmetric algorithms are accepted.

use crate::Principal;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use mcpsec_core::TenantId;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How to trust an OIDC issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer (`iss`), e.g. `https://login.example.com/realms/soc`.
    pub issuer: String,
    /// The audience tokens must carry (`aud`).
    pub audience: String,
    /// JWKS URL; when absent, read from `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Claim naming the tenant.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// Claim naming the role.
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Seconds a fetched JWKS is trusted before it is fetched again.
    #[serde(default = "default_cache_secs")]
    pub cache_secs: u64,
    /// Shortest time between two fetches caused by unknown key ids.
    #[serde(default = "default_min_refetch_secs")]
    pub min_refetch_secs: u64,
}

fn default_min_refetch_secs() -> u64 {
    30
}

fn default_tenant_claim() -> String {
    "tenant".into()
}
fn default_role_claim() -> String {
    "role".into()
}
fn default_cache_secs() -> u64 {
    300
}

/// Why a token was refused (said to the client; no token content in it).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Not a JWT, bad signature, expired, wrong issuer/audience, unknown key.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The issuer's keys could not be fetched.
    #[error("cannot fetch the issuer's keys: {0}")]
    Jwks(String),
}

struct Cache {
    keys: Option<JwkSet>,
    fetched: Option<Instant>,
}

/// Validates JWTs for one issuer.
pub struct OidcVerifier {
    cfg: OidcConfig,
    http: reqwest::Client,
    cache: RwLock<Cache>,
}

const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Whether a bearer token looks like a JWT (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("ey")
}

impl OidcVerifier {
    /// A verifier for `cfg`.
    pub fn new(cfg: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        OidcVerifier {
            cfg,
            http,
            cache: RwLock::new(Cache {
                keys: None,
                fetched: None,
            }),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, OidcError> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| OidcError::Jwks(format!("{what}: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Jwks(format!("{what} is not valid: {e}")))
    }

    async fn jwks_url(&self) -> Result<String, OidcError> {
        if let Some(u) = &self.cfg.jwks_url {
            return Ok(u.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.cfg.issuer.trim_end_matches('/')
        );
        let doc: serde_json::Value = self.get_json(&url, "discovery document").await?;
        doc["jwks_uri"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| OidcError::Jwks("discovery document has no jwks_uri".into()))
    }

    async fn refresh(&self, force: bool) -> Result<(), OidcError> {
        let mut c = self.cache.write().await;
        let age = c.fetched.map(|t| t.elapsed());
        let fresh = age.is_some_and(|a| a < Duration::from_secs(self.cfg.cache_secs));
        let too_soon = age.is_some_and(|a| a < Duration::from_secs(self.cfg.min_refetch_secs));
        if (fresh && !force) || (force && too_soon) {
            return Ok(());
        }
        let url = self.jwks_url().await?;
        let keys: JwkSet = self.get_json(&url, "JWKS").await?;
        metrics::counter!("mcpsec_oidc_jwks_fetches_total").increment(1);
        c.keys = Some(keys);
        c.fetched = Some(Instant::now());
        Ok(())
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<Option<DecodingKey>, OidcError> {
        let c = self.cache.read().await;
        let Some(keys) = &c.keys else { return Ok(None) };
        let jwk = match kid {
            Some(k) => keys.find(k),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        };
        jwk.map(|j| {
            DecodingKey::from_jwk(j).map_err(|e| OidcError::Invalid(format!("unusable key: {e}")))
        })
        .transpose()
    }

    /// Validates a token and maps its claims to a principal.
    pub async fn verify(&self, token: &str) -> Result<Principal, OidcError> {
        let header = decode_header(token).map_err(|e| OidcError::Invalid(e.to_string()))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(OidcError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        self.refresh(false).await?;
        let mut key = self.key_for(header.kid.as_deref()).await?;
        if key.is_none() {
            // Maybe the issuer rotated its keys.
            self.refresh(true).await?;
            key = self.key_for(header.kid.as_deref()).await?;
        }
        let key = key.ok_or_else(|| OidcError::Invalid("signed with an unknown key".into()))?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.cfg.issuer]);
        v.set_audience(&[&self.cfg.audience]);
        v.leeway = 30;
        v.validate_nbf = true;
        let data = decode::<serde_json::Value>(token, &key, &v)
            .map_err(|e| OidcError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let tenant = claims[&self.cfg.tenant_claim]
            .as_str()
            .ok_or_else(|| OidcError::Invalid(format!("no {} claim", self.cfg.tenant_claim)))
            .and_then(|t| TenantId::new(t).map_err(OidcError::Invalid))?;
        let role = claims[&self.cfg.role_claim]
            .as_str()
            .unwrap_or("viewer")
            .to_owned();
        let sub = claims["sub"].as_str().unwrap_or("unknown");
        Ok(Principal {
            key_id: format!("oidc:{}", sub.chars().take(128).collect::<String>()),
            tenant,
            role,
            scopes: Vec::new(),
        })
    }
}
