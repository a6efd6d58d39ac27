//! Errors of rule loading and compilation, always with where they come from.

use std::fmt;
use std::path::PathBuf;

/// Where a problem was found: file, line (when known) and the rule it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file the rule came from, if it came from one.
    pub file: Option<PathBuf>,
    /// 1-based line, where the YAML parser or a search of the text could tell.
    pub line: Option<usize>,
    /// Rule id or title, when the document got that far.
    pub rule: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            match self.line {
                Some(l) => parts.push(format!("{}:{l}", file.display())),
                None => parts.push(file.display().to_string()),
            }
        } else if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(r) = &self.rule {
            parts.push(format!("rule {r:?}"));
        }
        if parts.is_empty() {
            f.write_str("<input>")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Everything that can go wrong between a YAML file and a compiled rule.
#[derive(Debug, thiserror::Error)]
pub enum SigmaError {
    /// The text is not valid YAML.
    #[error("{at}: invalid YAML: {message}")]
    Yaml {
        /// Where.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// The YAML is valid but is not a valid Sigma document.
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl SigmaError {
    /// Where the error was found.
    pub fn location(&self) -> Location {
        match self {
            SigmaError::Yaml { at, .. } | SigmaError::Invalid { at, .. } => at.clone(),
            SigmaError::Io { path, .. } => Location {
                file: Some(path.clone()),
                ..Location::default()
            },
        }
    }

    /// The message without the location prefix.
    pub fn message(&self) -> String {
        match self {
            SigmaError::Yaml { message, .. } => format!("invalid YAML: {message}"),
            SigmaError::Invalid { message, .. } => message.clone(),
            SigmaError::Io { source, .. } => source.to_string(),
        }
    }

    /// Fills in location parts that are still unknown.
    pub fn with_context(mut self, file: Option<&std::path::Path>, rule: Option<&str>) -> Self {
        if let SigmaError::Yaml { at, .. } | SigmaError::Invalid { at, .. } = &mut self {
            if at.file.is_none() {
                at.file = file.map(std::path::Path::to_path_buf);
            }
            if at.rule.is_none() {
                at.rule = rule.map(str::to_owned);
            }
        }
        self
    }

    /// Sets the line if it is still unknown.
    pub fn with_line(mut self, line: Option<usize>) -> Self {
        if let SigmaError::Yaml { at, .. } | SigmaError::Invalid { at, .. } = &mut self
            && at.line.is_none()
        {
            at.line = line;
        }
        self
    }
}

/// Shorthand for an [`SigmaError::Invalid`] without location yet.
pub(crate) fn invalid(message: impl Into<String>) -> SigmaError {
    SigmaError::Invalid {
        at: Location::default(),
        message: message.into(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = SigmaError> = std::result::Result<T, E>;
