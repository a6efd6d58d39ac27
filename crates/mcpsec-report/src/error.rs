//! Errors of the report engine.

/// What can go wrong while building or rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A request the engine cannot satisfy (unknown kind or format, bad template name).
    #[error("{0}")]
    Invalid(String),
    /// A template could not be read, parsed or rendered.
    #[error("template {name}: {message}")]
    Template {
        /// The template's file name.
        name: String,
        /// What went wrong, with the line when known.
        message: String,
    },
    /// An output format failed to encode.
    #[error("cannot render the report: {0}")]
    Render(String),
}
