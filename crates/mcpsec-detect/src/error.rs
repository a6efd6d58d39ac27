//! Errors of the detection crate.

use mcpsec_core::ErrorCode;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mcpsec_store::StoreError),
    /// A rule text was refused; the message names the rule and the line.
    #[error("{0}")]
    Rule(String),
    /// A request was invalid.
    #[error("{0}")]
    Invalid(String),
}

impl DetectError {
    /// The transport-independent code.
    pub fn code(&self) -> ErrorCode {
        match self {
            DetectError::Store(e) => e.code(),
            DetectError::Rule(_) | DetectError::Invalid(_) => ErrorCode::BadRequest,
        }
    }
}

/// Result alias.
pub type Result<T, E = DetectError> = std::result::Result<T, E>;
