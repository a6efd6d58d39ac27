//! Shared state of the handlers.

use crate::auth::KeyCache;
use mcpsec_ingest::Pipeline;
use mcpsec_store::{EventLog, SearchIndex, StateStore};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Limits on request bodies.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest body accepted on the wire (compressed or not); larger gets 413.
    pub max_body_bytes: usize,
    /// Largest body after decompression; larger gets 413.
    pub max_decoded_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 32 << 20,
            max_decoded_bytes: 256 << 20,
        }
    }
}

/// How the HTTP API protects itself.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Body limits.
    pub limits: HttpLimits,
    /// Rate limits per key and tenant.
    pub rate: crate::RateLimits,
    /// Origins allowed by CORS (none by default).
    pub cors_origins: Vec<String>,
    /// Host names the MCP endpoint accepts besides loopback (DNS-rebinding guard).
    pub mcp_hosts: Vec<String>,
    /// Trust JWTs of this OIDC issuer besides API keys.
    pub oidc: Option<crate::OidcConfig>,
    /// Roles and the optional Rego policy.
    pub authz: Option<Arc<crate::Authorizer>>,
    /// Report template overrides (`[report] templates_dir`); none: the embedded ones.
    pub report_templates: Option<std::path::PathBuf>,
    /// The licence policy of supply reports (`[report] license_policy`); none: the
    /// built-in default.
    pub report_license_policy: Option<Arc<crate::LicencePolicy>>,
    /// The data directory, where `mcpsec vulndb import` writes the vulnerability
    /// database that project findings, the supply report and the MCP tools `scan_sbom`
    /// and `lookup_vulnerability` are matched against; none: no matching.
    pub data_dir: Option<std::path::PathBuf>,
    /// Full local clones that order commits for OSV `GIT` ranges in project findings,
    /// uploads and re-evaluations (`[supply] git_repos`); none: exact commits and listed
    /// revisions only.
    pub git_repos: Option<std::path::PathBuf>,
    /// Client certificate identities (`[server.tls] clients`), used when TLS is on.
    pub client_certs: Vec<crate::CertIdentity>,
    /// How scheduled reports are mailed and stored (`[report.smtp]`, `[report.s3]`).
    pub report_delivery: crate::ReportDelivery,
    /// Bounds of the report data cache (`[report] cache_entries`, `cache_bytes`).
    pub report_cache: crate::ReportCacheLimits,
    /// Whether the API is served over TLS (`[server.tls]`), as the compliance report
    /// shows it.
    pub tls: bool,
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The entrance to the event log.
    pub pipeline: Pipeline,
    /// The event log (for bounds and lag).
    pub log: Arc<dyn EventLog>,
    /// The search index.
    pub index: Arc<dyn SearchIndex>,
    /// Tenants, keys, checkpoints.
    pub state: Arc<dyn StateStore>,
    /// Body limits.
    pub limits: HttpLimits,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// False until start-up finished and again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// The audit log (authentication, denials, changes).
    pub audit: Arc<mcpsec_store::Auditor>,
    /// Origins allowed by CORS (none by default).
    pub cors_origins: Vec<String>,
    /// Host names the MCP endpoint accepts besides loopback.
    pub mcp_hosts: Vec<String>,
    /// Report template overrides; none: the embedded ones.
    pub report_templates: Option<std::path::PathBuf>,
    /// The licence policy of supply reports; none: the built-in default.
    pub report_license_policy: Option<Arc<crate::LicencePolicy>>,
    /// Where the vulnerability database lives (the data directory).
    pub data_dir: Option<std::path::PathBuf>,
    /// Local clones for OSV `GIT` ranges (`[supply] git_repos`).
    pub git_repos: Option<std::path::PathBuf>,
    /// How scheduled reports are mailed and stored.
    pub report_delivery: Arc<crate::ReportDelivery>,
    /// Gathered report data by tenant, kind, parameters and data version.
    pub(crate) report_cache: Arc<crate::report_cache::ReportCache>,
    /// Serializes supply-chain re-evaluations (periodic and on request).
    pub(crate) reevaluation: Arc<tokio::sync::Mutex<()>>,
    pub(crate) cert_identities: Arc<Vec<crate::CertIdentity>>,
    /// Whether the API is served over TLS.
    pub(crate) tls: bool,
    pub(crate) oidc: Option<Arc<crate::oidc::OidcVerifier>>,
    pub(crate) authz: Arc<crate::Authorizer>,
    pub(crate) limiter: Arc<crate::limits::Limiter>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) graphql: crate::graphql::McpsecSchema,
    /// The detection consumer (alerts, deployed rules); `None` where detection is off.
    pub detector: Option<Arc<mcpsec_detect::Detector>>,
    /// Progress of report jobs being rendered, and the worker permits.
    pub(crate) report_jobs: Arc<crate::report_jobs::JobBoard>,
    /// The share-link signing key, once loaded.
    pub(crate) share_key: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    /// The response orchestrator (playbooks, runs, approvals); `None` where it is off.
    pub responder: Option<Arc<mcpsec_respond::Responder>>,
    /// Risk assessment (deterministic only until [`AppState::with_risk`] sets providers).
    pub risk: Option<Arc<mcpsec_risk::Assessor>>,
}

impl AppState {
    /// Appends an audit event off the async threads; a failure is logged, not fatal.
    pub fn audit(&self, event: mcpsec_store::AuditEvent) {
        let audit = self.audit.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = audit.record(&event) {
                tracing::error!(error = %e, action = %event.action, "cannot write the audit log");
            }
        });
    }

    /// Checks an action for a principal; a denial is audited and becomes a 403.
    pub fn authorize(
        &self,
        who: &crate::Principal,
        action: crate::Action,
        attrs: &crate::Attributes,
    ) -> Result<(), crate::ApiError> {
        let verdict = self.authz.check(who, action, attrs);
        if let Err(e) = &verdict {
            metrics::counter!("mcpsec_authz_denied_total").increment(1);
            self.audit(mcpsec_store::AuditEvent {
                tenant: who.tenant.to_string(),
                actor: who.key_id.clone(),
                action: action.as_str().into(),
                target: attrs.path.chars().take(200).collect(),
                outcome: "denied".into(),
                details: serde_json::json!({ "role": who.role, "transport": attrs.transport, "reason": e.message }),
            });
        }
        verdict
    }

    /// Forgets idle rate-limit buckets (call periodically).
    pub fn shrink_rate_limits(&self) {
        self.limiter.shrink();
    }

    /// Assembles the state.
    pub fn new(
        pipeline: Pipeline,
        log: Arc<dyn EventLog>,
        index: Arc<dyn SearchIndex>,
        state: Arc<dyn StateStore>,
        metrics: PrometheusHandle,
        audit: Arc<mcpsec_store::Auditor>,
        opts: HttpOptions,
    ) -> Self {
        let HttpOptions {
            limits,
            rate,
            cors_origins,
            mcp_hosts,
            oidc,
            authz,
            report_templates,
            report_license_policy,
            data_dir,
            git_repos,
            client_certs,
            report_delivery,
            report_cache,
            tls,
        } = opts;
        let authz = authz.unwrap_or_else(|| {
            Arc::new(
                crate::Authorizer::new(Default::default(), None)
                    .unwrap_or_else(|_| unreachable!("built-in roles need no parsing")),
            )
        });
        let risk = mcpsec_risk::Assessor::new(Default::default(), state.clone())
            .map_err(|e| tracing::error!(error = %e, "risk assessment unavailable"))
            .ok()
            .map(|a| Arc::new(a.with_index(index.clone())));
        AppState {
            pipeline,
            log,
            index,
            state,
            limits,
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
            audit,
            cors_origins,
            mcp_hosts,
            report_templates,
            report_license_policy,
            data_dir,
            git_repos,
            report_delivery: Arc::new(report_delivery),
            report_cache: Arc::new(crate::report_cache::ReportCache::new(report_cache)),
            reevaluation: Arc::new(tokio::sync::Mutex::new(())),
            cert_identities: Arc::new(client_certs),
            tls,
            oidc: oidc.map(|c| Arc::new(crate::oidc::OidcVerifier::new(c))),
            authz,
            limiter: crate::limits::Limiter::new(rate),
            keys: Arc::new(KeyCache::default()),
            graphql: crate::graphql::schema(),
            detector: None,
            report_jobs: crate::report_jobs::JobBoard::new(),
            share_key: Arc::default(),
            responder: None,
            risk,
        }
    }

    /// Sets the risk assessor (providers, budgets, templates from `[risk]`).
    pub fn with_risk(mut self, risk: Arc<mcpsec_risk::Assessor>) -> Self {
        self.risk = Some(risk);
        self
    }

    /// Attaches the detection consumer (enables the alert and rule APIs' live parts).
    pub fn with_detector(mut self, detector: Arc<mcpsec_detect::Detector>) -> Self {
        self.detector = Some(detector);
        self
    }

    /// Attaches the response orchestrator (enables the playbook, run and approval APIs).
    pub fn with_responder(mut self, responder: Arc<mcpsec_respond::Responder>) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Runs a state-store call off the async threads.
    pub(crate) async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn StateStore) -> mcpsec_store::Result<T> + Send + 'static,
    ) -> Result<T, crate::ApiError> {
        let state = self.state.clone();
        Ok(tokio::task::spawn_blocking(move || f(state.as_ref()))
            .await
            .map_err(crate::ApiError::internal)??)
    }
}
