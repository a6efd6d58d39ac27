//! The configuration: one TOML file plus `MCPSEC_*` environment overrides.
//!
//! Every field's doc comment is its user documentation (docs/config.md mirrors it, and a
//! test parses the shipped example). Unknown keys are errors, so typos do not pass
//! silently.

use anyhow::{Context as _, Result, bail};
use mcpsec_ingest::sources::{FileSourceConfig, SyslogConfig};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The whole configuration of `mcpsec serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the event log, state database, index and objects live.
    pub data_dir: PathBuf,
    /// Address of the HTTP API.
    pub listen: SocketAddr,
    /// The listener: TLS and client certificates.
    pub server: ServerConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Trace export.
    pub telemetry: TelemetryConfig,
    /// Request limits of the HTTP API.
    pub http: HttpConfig,
    /// Request rates per API key and per tenant.
    pub rate_limit: RateLimitConfig,
    /// Identity providers trusted besides API keys.
    pub auth: AuthConfig,
    /// Roles and the optional Rego policy.
    pub authz: AuthzConfig,
    /// The queue in front of the event log.
    pub ingest: IngestConfig,
    /// The append-only event log.
    pub event_log: EventLogConfig,
    /// The search index.
    pub index: IndexConfig,
    /// What to delete, and when.
    pub retention: RetentionConfig,
    /// Sigma rules run over every stored event, turning matches into alerts.
    pub detection: DetectionConfig,
    /// Reports (`mcpsec report`).
    pub report: ReportConfig,
    /// Risk assessment: language-model providers, budgets, redaction, prompt overrides.
    pub risk: mcpsec_risk::RiskConfig,
    /// Supply chain: re-evaluation of stored SBOMs when the vulnerability database changes.
    pub supply: SupplyConfig,
    /// Syslog listener (off unless `udp` or `tcp` is set).
    pub syslog: Option<SyslogConfig>,
    /// Files to follow.
    pub files: Vec<FileSourceConfig>,
    /// Response playbooks: files, secrets, service endpoints.
    pub respond: mcpsec_respond::RespondConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("mcpsec-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            server: ServerConfig::default(),
            logging: LoggingConfig::default(),
            telemetry: TelemetryConfig::default(),
            http: HttpConfig::default(),
            rate_limit: RateLimitConfig::default(),
            auth: AuthConfig::default(),
            authz: AuthzConfig::default(),
            ingest: IngestConfig::default(),
            event_log: EventLogConfig::default(),
            index: IndexConfig::default(),
            retention: RetentionConfig::default(),
            detection: DetectionConfig::default(),
            report: ReportConfig::default(),
            risk: mcpsec_risk::RiskConfig::default(),
            supply: SupplyConfig::default(),
            syslog: None,
            files: Vec::new(),
            respond: mcpsec_respond::RespondConfig::default(),
        }
    }
}

/// Log output of the process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Filter in `tracing` syntax (`info`, `mcpsec_store=debug,info`); `RUST_LOG` wins.
    pub level: String,
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info,tantivy=warn".into(),
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// OpenTelemetry trace export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/HTTP endpoint, e.g. `http://127.0.0.1:4318`; traces are exported when set.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: "mcpsec".into(),
        }
    }
}

/// HTTP request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body on the wire; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest body after gzip/zstd decompression; larger gets 413.
    pub max_decoded_bytes: usize,
    /// Browser origins allowed to call the API (CORS); empty: none.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let d = mcpsec_server::HttpLimits::default();
        HttpConfig {
            max_body_bytes: d.max_body_bytes,
            max_decoded_bytes: d.max_decoded_bytes,
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// `[server]`: how the API listener talks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Serve HTTPS (and optionally verify client certificates) instead of plain HTTP.
    pub tls: Option<mcpsec_server::TlsConfig>,
}

/// Authentication besides API keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accept JWT bearer tokens from this OIDC issuer (validated against its JWKS).
    pub oidc: Option<mcpsec_server::OidcConfig>,
}

/// Authorization: custom roles and an optional Rego policy (ABAC).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthzConfig {
    /// Extra roles, or replacements of built-in ones: name → actions (`events.read`,
    /// `events.write`, `audit.read`, `alerts.*`, `*`).
    pub roles: std::collections::HashMap<String, Vec<String>>,
    /// A Rego file (`package mcpsec`, rule `allow`) that must also allow every action.
    pub policy_file: Option<PathBuf>,
}

/// Rate limits (token buckets); over them, requests get 429 with `Retry-After`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Sustained requests per second for one API key.
    pub per_key_per_sec: u32,
    /// Sustained requests per second for all keys of a tenant together.
    pub per_tenant_per_sec: u32,
    /// Requests a key may send above its rate in a burst (a tenant: four times this).
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let d = mcpsec_server::RateLimits::default();
        RateLimitConfig {
            per_key_per_sec: d.per_key_per_sec,
            per_tenant_per_sec: d.per_tenant_per_sec,
            burst: d.burst,
        }
    }
}

/// The ingest queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Events that may wait for the log writer; beyond this, requests get 429 with
    /// `Retry-After`.
    pub queue_events: usize,
    /// Bytes the writer gathers into one append and one fsync.
    pub max_batch_bytes: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        let d = mcpsec_ingest::PipelineOptions::default();
        IngestConfig {
            queue_events: d.queue_events,
            max_batch_bytes: d.max_batch_bytes,
        }
    }
}

/// The event log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventLogConfig {
    /// Size at which a new segment file starts (retention removes whole segments).
    pub segment_bytes: u64,
}

impl Default for EventLogConfig {
    fn default() -> Self {
        EventLogConfig {
            segment_bytes: mcpsec_store::FileLogOptions::default().segment_bytes,
        }
    }
}

/// The search index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    /// Indexing threads.
    pub threads: usize,
    /// Memory for the index writer (bytes, split between threads; at least 16 MiB each).
    pub writer_memory_bytes: usize,
    /// Longest wait before indexed events become searchable, in milliseconds.
    pub commit_interval_ms: u64,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            threads: 1,
            writer_memory_bytes: 128 << 20,
            commit_interval_ms: 500,
        }
    }
}

/// The detection consumer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    /// Run detection at all.
    pub enabled: bool,
    /// Sigma rule files or directories (searched recursively) deployed for every tenant.
    pub rule_paths: Vec<PathBuf>,
    /// Field/logsource mapping file (YAML) on top of the built-in one.
    pub mapping: Option<PathBuf>,
    /// Events evaluated per step; each step's alerts and offset commit together.
    pub batch: usize,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            enabled: true,
            rule_paths: Vec::new(),
            mapping: None,
            batch: 4096,
        }
    }
}

/// Supply chain in `serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupplyConfig {
    /// Seconds between checks of the vulnerability database's generation; when a
    /// `mcpsec vulndb import` changed it, every project's latest SBOM is re-evaluated and
    /// newly affected projects raise alerts. 0 turns the periodic check off (the check at
    /// start and `POST /api/v1/vulndb/reevaluate` remain).
    pub vulndb_check_secs: u64,
    /// Directory of full local clones (`<dir>/<host>/<path>`, `<dir>/<path>` or
    /// `<dir>/<name>`) that order commits for OSV `GIT` ranges, so a revision between an
    /// introducing and a fixing commit is found. Unset: exact commits and listed
    /// revisions only.
    pub git_repos: Option<std::path::PathBuf>,
}

impl Default for SupplyConfig {
    fn default() -> Self {
        SupplyConfig {
            vulndb_check_secs: 60,
            git_repos: None,
        }
    }
}

/// Reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Directory of template overrides: `<dir>/<tenant>/<name>` wins over `<dir>/<name>`,
    /// which wins over the embedded template (names such as `executive.html`,
    /// `executive.md`). Unset: the embedded templates only.
    pub templates_dir: Option<PathBuf>,
    /// Licence policy (TOML, as for `mcpsec sbom licenses --policy`) the supply report
    /// judges component licences by. Unset: permissive licences allowed, the rest to
    /// review.
    pub license_policy: Option<PathBuf>,
    /// Base URL of this server as people reach it (`https://mcpsec.example.com`), for
    /// the job links in report e-mails. Unset: the links are paths.
    pub public_url: Option<String>,
    /// The SMTP relay scheduled reports are mailed through (`deliver.email`).
    pub smtp: Option<mcpsec_server::SmtpSettings>,
    /// The object storage scheduled reports are written to (`deliver.s3`).
    pub s3: Option<mcpsec_server::S3Settings>,
    /// Report data kept in memory at most (entries; 0 turns the cache off).
    pub cache_entries: Option<usize>,
    /// Report data kept in memory at most (bytes of its JSON form).
    pub cache_bytes: Option<usize>,
}

impl ReportConfig {
    /// The bounds of the report data cache.
    pub fn cache(&self) -> mcpsec_server::ReportCacheLimits {
        let d = mcpsec_server::ReportCacheLimits::default();
        mcpsec_server::ReportCacheLimits {
            entries: self.cache_entries.unwrap_or(d.entries),
            bytes: self.cache_bytes.unwrap_or(d.bytes),
        }
    }

    /// How scheduled reports are delivered, checked.
    pub fn delivery(&self) -> Result<mcpsec_server::ReportDelivery> {
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            bail!("report.public_url {u:?} must start with http:// or https://");
        }
        if let Some(s) = &self.smtp {
            s.validate().map_err(|e| anyhow::anyhow!(e))?;
        }
        if let Some(s) = &self.s3 {
            s.validate().map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(mcpsec_server::ReportDelivery {
            smtp: self.smtp.clone(),
            s3: self.s3.clone(),
            public_url: self.public_url.clone(),
        })
    }

    /// The licence policy of supply reports, read and checked.
    pub fn license_policy(&self) -> Result<Option<Arc<mcpsec_server::LicencePolicy>>> {
        self.license_policy
            .as_deref()
            .map(|p| {
                mcpsec_server::LicencePolicy::load(p)
                    .map(Arc::new)
                    .map_err(|e| anyhow::anyhow!("report.license_policy: {e}"))
            })
            .transpose()
    }
}

/// Retention.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Delete events older than this (`90d`, `12h`); unset keeps everything.
    pub max_age: Option<String>,
    /// Keep the event log under this many bytes (oldest consumed segments go first).
    pub log_max_bytes: Option<u64>,
    /// Keep the search index under this many bytes (oldest events go first).
    pub index_max_bytes: Option<u64>,
    /// Seconds between retention passes.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_age: None,
            log_max_bytes: None,
            index_max_bytes: None,
            interval_secs: 60,
        }
    }
}

/// Parses `30s`, `15m`, `12h`, `90d`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let unit = s.chars().last().unwrap_or(' ');
    let n: u64 = s[..s.len().saturating_sub(unit.len_utf8())]
        .parse()
        .with_context(|| format!("invalid duration {s:?}: use e.g. 30s, 15m, 12h, 90d, 2w"))?;
    let secs = match unit {
        's' => n,
        'm' => n.saturating_mul(60),
        'h' => n.saturating_mul(3600),
        'd' => n.saturating_mul(86_400),
        'w' => n.saturating_mul(604_800),
        _ => bail!("invalid duration {s:?}: use e.g. 30s, 15m, 12h, 90d, 2w"),
    };
    Ok(Duration::from_secs(secs))
}

/// Environment variables read by mcpsec that are not configuration overrides.
const NOT_CONFIG: &[&str] = &[
    "MCPSEC_ADMIN_TOKEN",
    "MCPSEC_TOKEN",
    "MCPSEC_SERVER",
    "MCPSEC_BIN",
    "MCPSEC_CONFIG",
];

/// Applies `MCPSEC_DATA_DIR`, `MCPSEC_LISTEN` and `MCPSEC_<SECTION>__<KEY>` overrides.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix("MCPSEC_") else {
            continue;
        };
        if NOT_CONFIG.contains(&name.as_str()) || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.len() == 1 && !matches!(path[0].as_str(), "data_dir" | "listen") {
            continue; // not ours (e.g. a variable of a wrapper script)
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let mut cur = &mut *table;
        for seg in &path[..path.len() - 1] {
            let entry = cur
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cur = entry
                .as_table_mut()
                .with_context(|| format!("{name}: {seg} is not a section"))?;
        }
        if let Some(last) = path.last() {
            cur.insert(last.clone(), value);
        }
    }
    Ok(())
}

impl Config {
    /// Reads `path` (when given) and applies the environment's overrides.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Like [`Config::load`] with explicit environment variables (for tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?,
                p.display().to_string(),
            ),
            None => (String::new(), "defaults".into()),
        };
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        apply_env(&mut table, env)?;
        let cfg: Config = Config::deserialize(toml::Value::Table(table))
            .map_err(|e| anyhow::anyhow!("{origin} (with MCPSEC_* overrides): {e}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that types alone do not.
    pub fn validate(&self) -> Result<()> {
        if self.http.max_body_bytes == 0 || self.http.max_decoded_bytes < self.http.max_body_bytes {
            bail!("http.max_decoded_bytes must be at least http.max_body_bytes, and both above 0");
        }
        if self.rate_limit.per_key_per_sec == 0 || self.rate_limit.per_tenant_per_sec == 0 {
            bail!("rate_limit.per_key_per_sec and rate_limit.per_tenant_per_sec must be above 0");
        }
        for o in &self.http.cors_allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                bail!(
                    "http.cors_allowed_origins: {o:?} must look like https://host[:port] (no path, no trailing slash)"
                );
            }
        }
        if self.ingest.queue_events == 0 {
            bail!("ingest.queue_events must be above 0");
        }
        if self.event_log.segment_bytes < 4096 {
            bail!("event_log.segment_bytes must be at least 4096");
        }
        if self.index.threads == 0 || self.index.threads > 64 {
            bail!("index.threads must be between 1 and 64");
        }
        if self.index.commit_interval_ms == 0 {
            bail!("index.commit_interval_ms must be above 0");
        }
        self.report.license_policy()?;
        self.report.delivery()?;
        if let Some(p) = &self.authz.policy_file {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("authz.policy_file: cannot read {}", p.display()))?;
            mcpsec_server::Authorizer::new(
                self.authz.roles.clone(),
                Some((&p.display().to_string(), &text)),
            )
            .map_err(|e| anyhow::anyhow!("authz.policy_file: {e}"))?;
        }
        if let Some(tls) = &self.server.tls {
            mcpsec_server::tls::server_config(tls)?;
            for c in &tls.clients {
                mcpsec_core::TenantId::new(&c.tenant)
                    .map_err(|e| anyhow::anyhow!("server.tls.clients: {:?}: {e}", c.subject))?;
                if c.subject.trim().is_empty() || c.name.trim().is_empty() {
                    bail!("server.tls.clients: subject and name must not be empty");
                }
            }
        }
        if let Some(a) = &self.retention.max_age {
            parse_duration(a).context("retention.max_age")?;
        }
        if self.detection.batch == 0 || self.detection.batch > 100_000 {
            bail!("detection.batch must be between 1 and 100000");
        }
        for p in &self.detection.rule_paths {
            if !p.exists() {
                bail!("detection.rule_paths: {} does not exist", p.display());
            }
        }
        for p in &self.respond.playbook_paths {
            if !p.exists() {
                bail!("respond.playbook_paths: {} does not exist", p.display());
            }
        }
        mcpsec_respond::secrets::SecretStore::new(
            &self.respond.secrets,
            self.respond.vault.clone(),
        )
        .map_err(|e| anyhow::anyhow!("respond.secrets: {e}"))?;
        self.risk.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        if self.retention.interval_secs == 0 {
            bail!("retention.interval_secs must be above 0");
        }
        if let Some(s) = &self.syslog
            && s.udp.is_none()
            && s.tcp.is_none()
        {
            bail!("[syslog] needs udp or tcp (or remove the section)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mcpsec.example.toml");
        let cfg = Config::load_with_env(Some(&path), env(&[])).expect("example config");
        assert!(cfg.syslog.is_some());
        assert_eq!(cfg.files.len(), 1);
    }

    #[test]
    fn report_delivery_sections_parse_and_take_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[report]\ncache_entries = 0\n[report.smtp]\nhost = \"mail.example.com\"\n\
             from = \"r@example.com\"\n[report.s3]\nendpoint = \"https://s3.example.com\"\n\
             access_key_env = \"A\"\nsecret_key_env = \"B\"\n",
        )
        .expect("write");
        let cfg = Config::load_with_env(
            Some(&p),
            env(&[
                ("MCPSEC_REPORT__SMTP__PORT", "2525"),
                ("MCPSEC_REPORT__SMTP__TLS", "tls"),
            ]),
        )
        .expect("load");
        let d = cfg.report.delivery().expect("delivery");
        let smtp = d.smtp.expect("smtp");
        assert_eq!((smtp.port(), smtp.tls), (2525, mcpsec_server::SmtpTls::Tls));
        let s3 = d.s3.expect("s3");
        assert_eq!((s3.region.as_str(), s3.path_style), ("us-east-1", false));
        assert_eq!(cfg.report.cache().entries, 0);
        assert_eq!(cfg.report.cache().bytes, 64 << 20);
        let bad = Config::load_with_env(
            Some(&p),
            env(&[("MCPSEC_REPORT__S3__ENDPOINT", "ftp://s3.example.com")]),
        )
        .expect_err("bad endpoint");
        assert!(bad.to_string().contains("report.s3.endpoint"), "{bad}");
    }

    #[test]
    fn env_overrides_win_and_foreign_variables_are_ignored() {
        let cfg = Config::load_with_env(
            None,
            env(&[
                ("MCPSEC_LISTEN", "127.0.0.1:9999"),
                ("MCPSEC_INDEX__COMMIT_INTERVAL_MS", "250"),
                ("MCPSEC_LOGGING__FORMAT", "json"),
                ("MCPSEC_ADMIN_TOKEN", "secret-secret-secret"),
                ("MCPSEC_BIN", "/somewhere/mcpsec"),
                ("MCPSEC_SOMETHING", "x"),
            ]),
        )
        .expect("load");
        assert_eq!(cfg.listen.port(), 9999);
        assert_eq!(cfg.index.commit_interval_ms, 250);
        assert_eq!(cfg.logging.format, LogFormat::Json);
    }

    #[test]
    fn typos_and_bad_values_are_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[index]\nthreds = 2\n").expect("write");
        let err = Config::load_with_env(Some(&p), env(&[]))
            .expect_err("typo")
            .to_string();
        assert!(err.contains("threds"), "{err}");
        std::fs::write(&p, "listen = \"nope\"\n").expect("write");
        assert!(Config::load_with_env(Some(&p), env(&[])).is_err());
        std::fs::write(&p, "[retention]\nmax_age = \"ten days\"\n").expect("write");
        let err = format!(
            "{:#}",
            Config::load_with_env(Some(&p), env(&[])).expect_err("bad age")
        );
        assert!(err.contains("max_age"), "{err}");
        std::fs::write(&p, "[index\n").expect("write");
        let err = Config::load_with_env(Some(&p), env(&[]))
            .expect_err("syntax")
            .to_string();
        assert!(err.contains("c.toml"), "{err}");
        let err = Config::load_with_env(None, env(&[("MCPSEC_INDEX__THREADS", "many")]))
            .expect_err("env type")
            .to_string();
        assert!(err.contains("threads"), "{err}");
    }

    #[test]
    fn risk_settings_are_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("c.toml");
        let good = "[risk]\ndefault_provider = \"local\"\ndaily_token_budget = 1000\n\
                    [risk.providers.local]\nkind = \"ollama\"\nbase_url = \"http://127.0.0.1:11434\"\nmodel = \"llama3\"\n\
                    [[risk.redact]]\nname = \"ticket\"\npattern = \"TCK-[0-9]+\"\n";
        std::fs::write(&p, good).expect("write");
        let cfg = Config::load_with_env(Some(&p), env(&[])).expect("risk config");
        assert_eq!(cfg.risk.providers["local"].model, "llama3");
        let cfg = Config::load_with_env(Some(&p), env(&[("MCPSEC_RISK__DAILY_TOKEN_BUDGET", "5")]))
            .expect("env");
        assert_eq!(cfg.risk.daily_token_budget, Some(5));
        for (bad, want) in [
            ("[risk]\ndefault_provider = \"nope\"\n", "nope"),
            (
                "[risk.providers.x]\nkind = \"gpt\"\nbase_url = \"http://a\"\nmodel = \"m\"\n",
                "gpt",
            ),
            (
                "[risk.providers.x]\nkind = \"openai\"\nbase_url = \"file:///etc\"\nmodel = \"m\"\n",
                "base_url",
            ),
            (
                "[[risk.redact]]\nname = \"b\"\npattern = \"(\"\n",
                "bad pattern",
            ),
            ("[risk]\nwindow_days = 0\n", "window_days"),
            ("[risk]\nbudget = 3\n", "budget"),
        ] {
            std::fs::write(&p, bad).expect("write");
            let e = format!(
                "{:#}",
                Config::load_with_env(Some(&p), env(&[])).expect_err(bad)
            );
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").expect("d").as_secs(), 90 * 86_400);
        assert_eq!(parse_duration("15m").expect("m").as_secs(), 900);
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("é").is_err());
    }
}
