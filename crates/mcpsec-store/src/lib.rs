//! Storage of mcpsec: four small traits and their embedded backends.
//!
//! Key design decision: the append-only [`EventLog`] is the source of truth; the search
//! index and every other consumer are derived from it and remember the last sequence
//! number they finished, so they can be rebuilt or resumed by replay. The traits —
//! [`EventLog`], [`StateStore`], [`SearchIndex`], [`ObjectStore`] — are what the
//! pipeline sees, so PostgreSQL, NATS JetStream, ClickHouse or S3 backends slot in later
//! without reshaping it.
//!
//! | trait | embedded backend | role |
//! |---|---|---|
//! | [`EventLog`] | [`FileLog`] (segment files) | durable ingest, replay |
//! | [`StateStore`] | [`SqliteState`] | tenants, keys, checkpoints |
//! | [`SearchIndex`] | [`TantivyIndex`] | event search |
//! | [`ObjectStore`] | [`LocalObjectStore`] | documents kept as they came |

mod audit;
mod backup;
mod datadir;
mod error;
mod index;
mod indexer;
mod log;
mod object;
mod par;
mod retention;
mod state;

pub use audit::{
    AuditCheckpoint, AuditEntry, AuditEvent, AuditSigner, Auditor, CHECKPOINT_EVERY, GENESIS_HASH,
    VerifyReport, entry_hash, verify as verify_audit,
};
pub use backup::{BackupManifest, restore, snapshot};
pub use datadir::{DataDir, DataDirLock};
pub use error::{Result, StoreError};
pub use index::{
    IndexItem, MAX_LIMIT, SearchIndex, SearchRequest, SearchResult, SortOrder, TantivyIndex,
    TantivyOptions,
};
pub use indexer::{Indexer, IndexerOptions, decode_record};
pub use log::{
    EventLog, FileLog, FileLogOptions, LogBounds, LogCursor, LogRecord, MAX_RECORD_LEN, Removed,
    RetainPolicy,
};
pub use object::{LocalObjectStore, ObjectStore, validate_key};
pub use retention::{ConsumerOffset, Retention, RetentionPolicy, RetentionReport};
pub use state::{
    Alert, AlertChange, AlertFilter, AlertKind, AlertPage, AlertStatus, AlertStore, AlertSummary,
    AlertTriage, ApiKey, ApprovalDecision, ApprovalRecord, DetectionOffset, Durations, LEVEL_NAMES,
    LatestSbom, LlmCallRecord, LlmUsage, MAX_ALERT_PAGE, MAX_PROJECT_NAME, MAX_PROJECTS_PER_TENANT,
    MAX_SBOM_VERSIONS, NewSbom, OpenAlert, PlaybookStore, PlaybookVersion, Project, ProjectStore,
    ProjectVex, ReportJob, ReportJobStatus, ReportSchedule, ReportShare, ReportStore, RiskBucket,
    RiskPoint, RiskStore, RuleStore, RuleVersion, RuleWrite, RunFilter, RunRecord, SbomVersion,
    ScheduleStore, SqliteState, StateStore, StepRunRecord, StoredAssessment, StoredAsset,
    StoredPlaybook, StoredRule, level_rank, parse_level,
};
