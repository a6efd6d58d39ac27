//! Bearer-token authentication against the API keys in the state store.
//!
//! Only the SHA-256 of a key is stored and compared; the key itself is never logged.
//! Lookups are cached for a few seconds so that a busy client costs no database read
//! per request, while a revoked key stops working within that time.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use mcpsec_core::{ErrorCode, TenantId};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is calling: attached to each authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id.
    pub key_id: String,
    /// The tenant every read and write is scoped to.
    pub tenant: TenantId,
    /// The key's role.
    pub role: String,
    /// Actions (or `area.*`) the key is limited to on top of its role; empty: no limit.
    pub scopes: Vec<String>,
}

/// Hex SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// WebSocket endpoints, which also take `?access_token=` (with and without the prefix the
/// nested router strips).
const WEBSOCKET_PATHS: &[&str] = &[
    "/stream",
    "/api/v1/stream",
    "/alerts/stream",
    "/api/v1/alerts/stream",
    "/graphql/ws",
];

const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct KeyCache {
    entries: Mutex<HashMap<String, (Instant, Option<Principal>)>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<Option<Principal>> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(hash)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, hash: String, p: Option<Principal>) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_MAX {
            map.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if map.len() >= CACHE_MAX {
                map.clear();
            }
        }
        map.insert(hash, (Instant::now(), p));
    }
}

fn unauthenticated(state: &AppState, path: &str, msg: &str) -> ApiError {
    metrics::counter!("mcpsec_auth_failures_total").increment(1);
    state.audit(mcpsec_store::AuditEvent {
        tenant: "-".into(),
        actor: "anonymous".into(),
        action: "auth.failure".into(),
        target: path.chars().take(200).collect(),
        outcome: "failure".into(),
        details: serde_json::json!({ "reason": msg }),
    });
    ApiError::new(ErrorCode::Unauthenticated, msg)
}

async fn lookup(state: &AppState, token: &str) -> Result<Option<Principal>, ApiError> {
    if let Some(oidc) = &state.oidc
        && crate::oidc::looks_like_jwt(token)
    {
        return match oidc.verify(token).await {
            Ok(p) => {
                let store = state.state.clone();
                let t = p.tenant.clone();
                let known = tokio::task::spawn_blocking(move || store.tenant_exists(&t))
                    .await
                    .map_err(ApiError::internal)??;
                Ok(known.then_some(p))
            }
            Err(crate::oidc::OidcError::Jwks(e)) => {
                tracing::error!(error = %e, "OIDC key fetch failed");
                Err(ApiError::new(
                    ErrorCode::Unavailable,
                    "cannot verify tokens right now: the identity provider's keys are unreachable",
                ))
            }
            Err(e) => {
                tracing::debug!(error = %e, "JWT refused");
                Ok(None)
            }
        };
    }
    let hash = hash_token(token);
    if let Some(hit) = state.keys.get(&hash) {
        return Ok(hit);
    }
    let store = state.state.clone();
    let h = hash.clone();
    let key = tokio::task::spawn_blocking(move || store.find_api_key(&h))
        .await
        .map_err(ApiError::internal)??;
    let now = Utc::now();
    let principal = key.filter(|k| k.is_usable(now)).map(|k| {
        state.audit(mcpsec_store::AuditEvent {
            tenant: k.tenant.to_string(),
            actor: k.id.clone(),
            action: "auth.success".into(),
            target: String::new(),
            outcome: "success".into(),
            details: serde_json::json!({ "role": k.role }),
        });
        let store = state.state.clone();
        let id = k.id.clone();
        tokio::task::spawn_blocking(move || {
            let _ = store.touch_api_key(&id, now);
        });
        Principal {
            key_id: k.id,
            tenant: k.tenant,
            role: k.role,
            scopes: k.scopes,
        }
    });
    state.keys.put(hash, principal.clone());
    Ok(principal)
}

/// The identity a verified client certificate maps to (`[server.tls] clients`), cached
/// like keys; an unmapped certificate, or one whose tenant does not exist, gets 401.
async fn cert_principal(
    state: &AppState,
    cert: &crate::tls::ClientCert,
    path: &str,
) -> Result<Principal, ApiError> {
    let der: &[u8] = cert.0.as_ref();
    let hash = format!("cert:{}", hex::encode(Sha256::digest(der)));
    let names = crate::cert_names::cert_names(der);
    let refuse = |names: &[String]| {
        let shown: String = names.join(", ").chars().take(200).collect();
        unauthenticated(
            state,
            path,
            &format!("the client certificate ({shown}) is not mapped to an identity"),
        )
    };
    if let Some(hit) = state.keys.get(&hash) {
        return hit.ok_or_else(|| refuse(&names));
    }
    let found = state
        .cert_identities
        .iter()
        .find(|i| names.iter().any(|n| n.eq_ignore_ascii_case(&i.subject)));
    let mut principal = None;
    if let Some(i) = found
        && let Ok(tenant) = mcpsec_core::TenantId::new(&i.tenant)
    {
        let store = state.state.clone();
        let t = tenant.clone();
        let known = tokio::task::spawn_blocking(move || store.tenant_exists(&t))
            .await
            .map_err(ApiError::internal)??;
        if known {
            state.audit(mcpsec_store::AuditEvent {
                tenant: tenant.to_string(),
                actor: format!("cert:{}", i.name),
                action: "auth.success".into(),
                target: String::new(),
                outcome: "success".into(),
                details: serde_json::json!({ "method": "mtls", "role": i.role, "subject": i.subject }),
            });
            principal = Some(Principal {
                key_id: format!("cert:{}", i.name),
                tenant,
                role: i.role.clone(),
                scopes: Vec::new(),
            });
        }
    }
    state.keys.put(hash, principal.clone());
    principal.ok_or_else(|| refuse(&names))
}

/// Authenticates a verified client certificate for another transport (gRPC): the same
/// identity table, cache, audit and rate limits as HTTP requests.
pub async fn authenticate_cert(
    state: &AppState,
    cert: &crate::tls::ClientCert,
    what: &str,
) -> Result<Principal, ApiError> {
    let principal = cert_principal(state, cert, what).await?;
    state.limiter.check(&principal)?;
    Ok(principal)
}

/// Authenticates a bearer token for another transport (gRPC): the same key lookup,
/// cache, audit and rate limits as HTTP requests.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    what: &str,
) -> Result<Principal, ApiError> {
    if token.is_empty() || token.len() > 512 {
        return Err(unauthenticated(state, what, "missing or malformed API key"));
    }
    let principal = lookup(state, token)
        .await?
        .ok_or_else(|| unauthenticated(state, what, "invalid, expired or revoked API key"))?;
    state.limiter.check(&principal)?;
    Ok(principal)
}

/// Middleware: requires `Authorization: Bearer <key>`; answers 401 otherwise.
pub(crate) async fn require_auth(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    // Browsers cannot set headers on a WebSocket: the stream also takes ?access_token=.
    // (Inside the nested /api/v1 router the path is seen without its prefix.)
    let query_token = WEBSOCKET_PATHS
        .contains(&path.as_str())
        .then(|| req.uri().query())
        .flatten()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("access_token=")))
        .map(|t| format!("Bearer {t}"));
    let header_value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let value = header_value.or(query_token);
    if value.is_none()
        && let Some(cert) = req.extensions().get::<crate::tls::ClientCert>().cloned()
    {
        let principal = cert_principal(&state, &cert, &path).await?;
        state.limiter.check(&principal)?;
        req.extensions_mut().insert(principal);
        req.extensions_mut().insert(state.clone());
        return Ok(next.run(req).await);
    }
    let Some(value) = value else {
        return Err(unauthenticated(
            &state,
            &path,
            "missing Authorization: Bearer <api key>",
        ));
    };
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, rest)| rest.trim())
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or_else(|| {
            unauthenticated(
                &state,
                &path,
                "malformed Authorization header; expected Bearer <api key>",
            )
        })?;
    let principal = lookup(&state, token)
        .await?
        .ok_or_else(|| unauthenticated(&state, &path, "invalid, expired or revoked API key"))?;
    state.limiter.check(&principal)?;
    req.extensions_mut().insert(principal);
    // Adapters that only see request parts (MCP over HTTP) reach the state from here.
    req.extensions_mut().insert(state.clone());
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_hex() {
        assert_eq!(hash_token("abc").len(), 64);
        assert_eq!(hash_token("abc"), hash_token("abc"));
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }
}
