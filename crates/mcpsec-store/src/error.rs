//! The error type of the storage layer.

use mcpsec_core::ErrorCode;

/// What went wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, with the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The event log holds a record that cannot be read (not a torn tail: that is repaired).
    #[error("event log corrupt: {0}")]
    Corrupt(String),
    /// The SQLite state store failed.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The search index failed.
    #[error("search index: {0}")]
    Index(String),
    /// A search query could not be parsed; the message says where.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A caller passed something the store refuses (bad key, bad range).
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored (a stale version, a duplicate).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Stored JSON could not be decoded.
    #[error("decode: {0}")]
    Decode(#[from] serde_json::Error),
}

impl StoreError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    /// The transport-independent error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::InvalidQuery(_) | StoreError::Invalid(_) => ErrorCode::BadRequest,
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            _ => ErrorCode::Internal,
        }
    }
}

impl From<tantivy::TantivyError> for StoreError {
    fn from(e: tantivy::TantivyError) -> Self {
        StoreError::Index(e.to_string())
    }
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
