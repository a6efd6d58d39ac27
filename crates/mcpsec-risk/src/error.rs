//! The error type of risk assessment.

use mcpsec_core::ErrorCode;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// Input (an inventory, a request, a template) was refused; the message says where.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, with the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mcpsec_store::StoreError),
    /// A provider could not be reached or answered with an error.
    #[error("{provider}: {message}")]
    Provider {
        /// Provider name.
        provider: String,
        /// What happened (never the key).
        message: String,
    },
    /// The tenant's daily token budget is spent.
    #[error("token budget of tenant {tenant} is spent for today ({used} of {limit} tokens)")]
    Budget {
        /// The tenant.
        tenant: String,
        /// Tokens used today.
        used: u64,
        /// The daily limit.
        limit: u64,
    },
    /// A template failed to load or render.
    #[error("template {name}: {message}")]
    Template {
        /// Template name or path.
        name: String,
        /// What went wrong, with the line when known.
        message: String,
    },
}

impl RiskError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RiskError::Io {
            context: context.into(),
            source,
        }
    }

    /// The transport-independent error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            RiskError::Invalid(_) => ErrorCode::BadRequest,
            RiskError::Store(e) => e.code(),
            RiskError::Budget { .. } => ErrorCode::Overloaded,
            RiskError::Provider { .. } => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// Result alias.
pub type Result<T, E = RiskError> = std::result::Result<T, E>;
