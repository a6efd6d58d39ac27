//! HTTPS with optional client certificates (mTLS), with rustls.
//!
//! The listener accepts TLS connections and hands each request the client certificate the
//! handshake verified (if any) as a [`ClientCert`] extension. The authentication middleware
//! maps a certificate to an identity through the configured table ([`CertIdentity`]) when a
//! request carries no bearer token: a certificate whose subject CN or one of whose SANs
//! names an entry acts as that entry's tenant and role. A certificate the configured CA did
//! not issue is refused during the handshake; a trusted one that names no entry gets 401.

use crate::AppState;
use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Whether clients must present a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A certificate is verified when presented; requests without one use API keys.
    #[default]
    Optional,
    /// The handshake fails without a certificate the CA issued.
    Required,
}

/// One client certificate identity: which tenant and role a certificate acts as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertIdentity {
    /// The certificate's subject common name, or one of its subject alternative names
    /// (DNS name, e-mail address, URI, IP address); compared ignoring ASCII case.
    pub subject: String,
    /// The tenant the certificate acts for.
    pub tenant: String,
    /// Its role.
    pub role: String,
    /// The name the audit log records (`cert:<name>`).
    pub name: String,
}

/// `[server.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) that issue client certificates; without it no client
    /// certificate is asked for.
    pub client_ca: Option<PathBuf>,
    /// `optional` (default) or `required`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Client certificate identities.
    #[serde(default)]
    pub clients: Vec<CertIdentity>,
}

/// TLS set-up errors; each names the file or setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("server.tls: {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The settings do not fit together, or rustls refused them.
    #[error("server.tls: {0}")]
    Invalid(String),
}

/// The verified client certificate of a connection (DER), attached to its requests.
#[derive(Debug, Clone)]
pub struct ClientCert(pub Arc<CertificateDer<'static>>);

fn file_err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let list = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))?;
    if list.is_empty() {
        return Err(file_err(path, "no PEM certificate in it"));
    }
    Ok(list)
}

/// Reads the certificates and key and builds the rustls configuration.
pub fn server_config(cfg: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&cfg.cert)?;
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| file_err(&cfg.key, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let builder = match &cfg.client_ca {
        None => {
            if cfg.client_auth == ClientAuth::Required || !cfg.clients.is_empty() {
                return Err(TlsError::Invalid(
                    "client certificates need client_ca (the CA that issues them)".into(),
                ));
            }
            builder.with_no_client_auth()
        }
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).map_err(|e| file_err(ca, e))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider);
            let verifier = match cfg.client_auth {
                ClientAuth::Optional => verifier.allow_unauthenticated(),
                ClientAuth::Required => verifier,
            }
            .build()
            .map_err(|e| file_err(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Invalid(format!("{}: {e}", cfg.key.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Whether a handshake failed because of the client's certificate (worth an audit entry),
/// rather than a client that does not speak TLS.
fn certificate_refused(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            Some(inner.to_string())
        }
        _ => None,
    }
}

/// Serves `app` over TLS on `listener` until `shutdown` completes, then lets open
/// connections finish (at most 30 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    config: Arc<rustls::ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let state = state.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        if let Some(reason) = certificate_refused(&e) {
                            metrics::counter!("mcpsec_auth_failures_total").increment(1);
                            state.audit(mcpsec_store::AuditEvent {
                                tenant: "-".into(),
                                actor: format!("tls:{}", peer.ip()),
                                action: "auth.failure".into(),
                                target: "tls handshake".into(),
                                outcome: "failure".into(),
                                details: serde_json::json!({ "method": "mtls", "reason": reason }),
                            });
                        }
                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| ClientCert(Arc::new(c.clone().into_owned())));
            let svc = tower::ServiceBuilder::new()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    if let Some(c) = &cert {
                        req.extensions_mut().insert(c.clone());
                    }
                    req
                })
                .service(app);
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 30 s; closing them");
    }
    Ok(())
}
