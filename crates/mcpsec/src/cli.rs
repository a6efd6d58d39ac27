//! Command-line interface definitions (clap). Each flag's doc comment is its `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// mcpsec — security platform: durable event ingest and search, on an embedded store.
#[derive(Debug, Parser)]
#[command(name = "mcpsec", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Configuration file (TOML); `MCPSEC_*` environment variables override it.
    #[arg(long, short = 'c', env = "MCPSEC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides the config file's `data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform: HTTP API, ingest, indexing, retention, syslog and file sources.
    Serve(ServeArgs),
    /// Load files of events (JSON, NDJSON, text/syslog lines; .gz/.zst) once.
    Ingest(IngestArgs),
    /// Re-feed the pipeline from a log sequence number (rebuilds the index from there).
    Replay(ReplayArgs),
    /// Take a consistent snapshot of a data directory (also while `serve` runs).
    Backup(BackupArgs),
    /// Restore a snapshot made by `backup` into a data directory.
    Restore(RestoreArgs),
    /// Tenants and API keys (works on the data dir of a running or stopped `serve`).
    Admin {
        /// What to manage.
        #[command(subcommand)]
        what: AdminWhat,
    },
    /// The tamper-evident audit log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Serve the Model Context Protocol over stdio for an AI assistant (read-only over
    /// the data dir of a running or stopped `serve`).
    Mcp(McpArgs),
    /// Configuration tools.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Measure throughput (reported with a same-run baseline).
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// Sigma rules: validate rule files, test a rule against sample events.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        action: crate::cmd::rules::RulesAction,
    },
    /// Response playbooks: validate, import from CACAO v2, simulate against an alert,
    /// list actions, approve or reject waiting steps.
    Playbook {
        /// What to do.
        #[command(subcommand)]
        action: crate::cmd::playbook::PlaybookAction,
    },
    /// Reports over a tenant's events (executive summary) as HTML, PDF, CSV, JSON,
    /// Markdown or XLSX; works on the data dir of a running or stopped `serve`.
    Report {
        /// What to do.
        #[command(subcommand)]
        action: crate::cmd::report::ReportAction,
    },
    /// Run Sigma rules over JSON/JSONL event files (.gz/.zst too) and list the detections.
    Hunt(crate::cmd::hunt::HuntArgs),
    /// Local vulnerability database: import OSV/RustSec advisories, show its status.
    Vulndb {
        /// What to do with the database.
        #[command(subcommand)]
        action: crate::cmd::vulndb::VulndbAction,
    },
    /// SBOMs and lockfiles: scan them for known vulnerabilities (offline).
    Sbom {
        /// What to do.
        #[command(subcommand)]
        action: crate::cmd::sbom::SbomAction,
    },
    /// Risk: assess alerts (deterministic model, optional LLM), the asset inventory,
    /// prompt templates; works on the data dir of a running or stopped `serve`.
    Risk {
        /// What to do.
        #[command(subcommand)]
        action: crate::cmd::risk::RiskAction,
    },
}

/// `mcpsec serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Load the shipped sample events on first start so there is data to look at (and
    /// deploy the demo detection rules).
    #[arg(long)]
    pub demo: bool,
    /// Sigma rule files or directories to deploy for every tenant, besides those of
    /// `[detection] rule_paths`; `SIGHUP` reloads them.
    #[arg(long, num_args = 1.., value_name = "DIR|FILE")]
    pub rules: Vec<std::path::PathBuf>,
}

/// How to read input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// By content: `[` starts a JSON array, `{` a stream of JSON objects, else text lines.
    Auto,
    /// JSON objects (array, NDJSON, or objects one after another).
    Json,
    /// One text record per line (syslog RFC 5424/3164, CEF, free text).
    Text,
}

/// `mcpsec ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to load (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where the data lives (direct mode: `serve` must not be running on it).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Send to a running server instead, e.g. http://127.0.0.1:8080.
    #[arg(
        long,
        env = "MCPSEC_SERVER",
        value_name = "URL",
        conflicts_with = "data_dir"
    )]
    pub server: Option<String>,
    /// API key for --server.
    #[arg(long, env = "MCPSEC_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant of the events (direct mode; with --server the key decides).
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// How to read the files.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,
    /// Events per batch.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
}

/// `mcpsec replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// First sequence number to re-feed.
    #[arg(long, value_name = "SEQ")]
    pub from: u64,
    /// Where the data lives (`serve` must be stopped).
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `mcpsec backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// New directory to write the snapshot to.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
}

/// `mcpsec restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A directory written by `mcpsec backup`.
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,
    /// Where the data lives (`serve` must be stopped).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Replace existing data in the data directory.
    #[arg(long)]
    pub force: bool,
}

/// `mcpsec config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a configuration file (with MCPSEC_* overrides) and print the effective values.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `mcpsec bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// HTTP NDJSON ingest into the embedded store, against raw log appends as baseline.
    Ingest(BenchIngestArgs),
    /// Time from an ingest request to its alert on the alert stream, against the ingest
    /// acknowledgement as baseline.
    Alerts(BenchAlertsArgs),
    /// Read-endpoint latency (REST and GraphQL) at a fixed request rate over a store of N
    /// events, against `GET /healthz` at the same rate as baseline.
    Api(BenchApiArgs),
    /// Sigma matching throughput (`hunt`'s engine), against JSON parsing as baseline.
    Hunt(BenchHuntArgs),
}

/// `mcpsec bench hunt`.
#[derive(Debug, Args)]
pub struct BenchHuntArgs {
    /// Event files or directories (as for `hunt`); read into memory once.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories.
    #[arg(long, required = true, num_args = 1.., value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Field/logsource mapping file (YAML) on top of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Timed rounds of parsing and of matching (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mcpsec bench api`.
#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Events loaded before measuring.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Requests per second, spread over the endpoints.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// How long to measure.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mcpsec bench alerts`.
#[derive(Debug, Args)]
pub struct BenchAlertsArgs {
    /// Matching events to send, one per request.
    #[arg(long, default_value_t = 2000)]
    pub events: usize,
    /// Requests per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Extra Sigma rule files or directories to deploy (e.g. the SigmaHQ rules), so the
    /// detector does realistic work per event.
    #[arg(long, value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mcpsec bench ingest`.
#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Events to send.
    #[arg(long, default_value_t = 500_000)]
    pub events: usize,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Data directory to use (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mcpsec admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminWhat {
    /// Tenants.
    Tenant {
        /// What to do.
        #[command(subcommand)]
        action: TenantAction,
    },
    /// API keys.
    Key {
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
    },
}

/// `mcpsec admin tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant (succeeds when it exists already).
    Create {
        /// 1-64 characters of letters, digits, '_', '-', '.'.
        name: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tenants.
    List {
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `mcpsec admin key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Create an API key and print it alone on stdout (it is shown only this once).
    Create {
        /// Tenant the key acts for (must exist).
        #[arg(long)]
        tenant: String,
        /// Role: admin, analyst, responder, viewer, auditor (or a custom role name).
        #[arg(long)]
        role: String,
        /// A label for people.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Expire after this long (`30d`, `12h`); never when absent.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Limit the key to these actions on top of its role (comma-separated, e.g.
        /// `events.write` for a log shipper, `alerts.*`); all the role allows when absent.
        #[arg(long, value_delimiter = ',', value_name = "ACTION")]
        scope: Vec<String>,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a tenant's keys (ids, roles, dates; never secrets).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key id (from `key list`).
        id: String,
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `mcpsec mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Tenant whose data the assistant sees.
    #[arg(long, default_value = "default")]
    pub tenant: String,
}

/// `mcpsec audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain and the signed checkpoints; exit 1 when anything was edited,
    /// removed or reordered.
    Verify {
        /// Where the data lives.
        #[command(flatten)]
        store: StoreArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}
