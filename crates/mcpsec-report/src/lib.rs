//! The report engine of mcpsec: turns a period of a tenant's events (and, once stored,
//! alerts) into a document for people who will not open the search page.
//!
//! Key design decision: the engine never touches storage. A caller walks the events
//! through a [`SummaryBuilder`] (bounded memory, whatever the number of events), adds the
//! alert figures it has as an [`AlertSummary`], and hands the resulting [`ReportData`] to
//! [`render`]. Every format is drawn from that one plain structure:
//!
//! | format | how |
//! |---|---|
//! | HTML | minijinja template, SVG charts inline, no external requests |
//! | Markdown | minijinja template |
//! | PDF | laid out here with `pdf-writer` and the PDF base-14 fonts; charts drawn as vectors |
//! | XLSX | `rust_xlsxwriter`, one sheet per section, a native column chart |
//! | CSV | one `section,name,value` row per figure |
//! | JSON | the [`ReportData`] itself |
//! | SARIF | 2.1.0, the findings of a `supply` report |
//!
//! Templates are versioned files under `templates/`, embedded in the binary, and can be
//! overridden per tenant from a directory ([`Templates`]).

mod chart;
mod compliance;
mod csv;
mod error;
mod model;
mod pdf;
mod response;
mod risk;
mod sarif;
mod sections;
mod summary;
mod supply;
#[cfg(test)]
mod supply_tests;
mod templates;
#[cfg(test)]
mod tests;
mod xlsx;

pub use chart::{Anchor, Chart, Shape};
pub use compliance::{
    Compliance, ControlResult, ControlStatus, EVIDENCE_KINDS, Evidence, EvidenceStatus, FRAMEWORKS,
    FrameworkResult, OutOfScope, assess, evidence_name, parse_framework,
};
pub use error::ReportError;
pub use model::{
    AlertSummary, Bucket, Count, EventSummary, Histogram, Period, REPORT_SCHEMA_VERSION, ReportData,
};
pub use response::{ApprovalRow, FailedRun, PlaybookActivity, Response};
pub use risk::{AssetTrend, Risk, RiskBucketRow, RiskNow, RiskyAlert};
pub use sections::{
    Coverage, CoverageBuilder, Table, TacticColumn, TechniqueCell, Timing, Triage, WaitingAlert,
    human_duration, key_figures, tables, tactic_name,
};
pub use summary::{AlertTally, SummaryBuilder, TOP_N, host_of};
pub use supply::{
    LicenceIssue, LicenceUse, LicenceVerdicts, ProjectPosture, SEVERITIES, SbomChanges, Supply,
    SupplyFinding,
};
pub use templates::Templates;

use std::str::FromStr;

/// The report kinds built in.
pub const KINDS: &[&str] = &[
    "executive",
    "triage",
    "coverage",
    "supply",
    "risk",
    "response",
    "compliance",
];

/// The title of a report kind.
pub fn title(kind: &str) -> &str {
    match kind {
        "executive" => "Executive summary",
        "triage" => "Alert triage",
        "coverage" => "Detection coverage",
        "supply" => "Supply-chain posture",
        "risk" => "Risk trends",
        "response" => "Response activity",
        "compliance" => "Compliance mapping",
        other => other,
    }
}

/// Whether a kind shows the period's event figures (walking every event); the others
/// are built from the alert store and the deployed rules alone.
pub fn needs_events(kind: &str) -> bool {
    kind == "executive"
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A self-contained HTML page.
    Html,
    /// A PDF document (A4).
    Pdf,
    /// Comma-separated values.
    Csv,
    /// The report data as JSON.
    Json,
    /// Markdown text.
    Markdown,
    /// An Excel workbook.
    Xlsx,
    /// SARIF 2.1.0, the findings of a `supply` report (other kinds are refused).
    Sarif,
}

impl Format {
    /// Every format, in the order the help lists them.
    pub const ALL: [Format; 7] = [
        Format::Html,
        Format::Pdf,
        Format::Csv,
        Format::Json,
        Format::Markdown,
        Format::Xlsx,
        Format::Sarif,
    ];

    /// The name used on the command line and in file extensions.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Xlsx => "xlsx",
            Format::Sarif => "sarif",
        }
    }

    /// The media type of the output.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Sarif => "application/sarif+json",
        }
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "html" | "htm" => Ok(Format::Html),
            "pdf" => Ok(Format::Pdf),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "md" | "markdown" => Ok(Format::Markdown),
            "xlsx" => Ok(Format::Xlsx),
            "sarif" => Ok(Format::Sarif),
            _ => Err(ReportError::Invalid(format!(
                "unknown report format {s:?}: use html, pdf, csv, json, md, xlsx or sarif (supply only)"
            ))),
        }
    }
}

/// Renders a report in one format. `templates` supplies the HTML and Markdown templates
/// (the embedded ones unless overridden for the report's tenant).
pub fn render(
    data: &ReportData,
    format: Format,
    templates: &Templates,
) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Html => templates.render(data, "html").map(String::into_bytes),
        Format::Markdown => templates.render(data, "md").map(String::into_bytes),
        Format::Pdf => Ok(pdf::render(data)),
        Format::Csv => Ok(csv::render(data).into_bytes()),
        Format::Json => serde_json::to_vec_pretty(data)
            .map_err(|e| ReportError::Render(format!("cannot encode the report: {e}"))),
        Format::Xlsx => xlsx::render(data),
        Format::Sarif => sarif::render(data),
    }
}
