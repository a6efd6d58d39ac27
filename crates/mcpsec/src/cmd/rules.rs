//! `mcpsec rules validate|test`: Sigma rule files checked and tried on sample events.

use super::hunt::{EventSource, TimeFields, load_mapping};
use anyhow::{Context as _, Result};
use clap::{Subcommand, ValueEnum};
use mcpsec_sigma::{Engine, Limits, RuleSet, SigmaError};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mcpsec rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Load and compile Sigma rules (files, or directories searched recursively for
    /// .yml/.yaml); exit 1 when any failed.
    Validate {
        /// Rule files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
        format: ValidateFormat,
        /// Field/logsource mapping file (YAML) on top of the built-in one.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
    },
    /// Run a rule (file or directory) over a file of events and print the matching ones,
    /// then the hits of its correlation rules; exit 1 when nothing matched.
    Test {
        /// The rule file or directory.
        #[arg(value_name = "RULE")]
        rule: PathBuf,
        /// Events: JSON object(s), a JSON array or NDJSON (.gz/.zst too).
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Field/logsource mapping file (YAML) on top of the built-in one.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
    },
}

/// Output of `rules validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// One line per failure, then a summary.
    Text,
    /// `{"loaded": N, "failed": N, "errors": [{"file", "line", "message"}]}`.
    Json,
}

#[derive(Serialize)]
struct ValidateJson {
    loaded: usize,
    failed: usize,
    errors: Vec<ErrorJson>,
}

#[derive(Serialize)]
struct ErrorJson {
    file: Option<String>,
    line: Option<usize>,
    message: String,
}

fn error_json(e: &SigmaError) -> ErrorJson {
    let at = e.location();
    let message = match &at.rule {
        Some(r) => format!("rule {r:?}: {}", e.message()),
        None => e.message(),
    };
    ErrorJson {
        file: at.file.map(|f| f.display().to_string()),
        line: at.line,
        message,
    }
}

/// Runs the command.
pub fn run(action: RulesAction) -> Result<ExitCode> {
    match action {
        RulesAction::Validate {
            paths,
            format,
            mapping,
        } => validate(&paths, format, mapping),
        RulesAction::Test {
            rule,
            events,
            mapping,
        } => test(rule, &events, mapping),
    }
}

fn validate(
    paths: &[PathBuf],
    format: ValidateFormat,
    mapping: Option<PathBuf>,
) -> Result<ExitCode> {
    let mapping = load_mapping(mapping.as_deref())?;
    let report = RuleSet::load(paths, mapping);
    let failed = report.errors.len();
    match format {
        ValidateFormat::Json => {
            let out = ValidateJson {
                loaded: report.loaded,
                failed,
                errors: report.errors.iter().map(error_json).collect(),
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ValidateFormat::Text => {
            for e in &report.errors {
                println!("{e}");
            }
            println!("{} loaded, {failed} failed", report.loaded);
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn test(rule: PathBuf, events: &std::path::Path, mapping: Option<PathBuf>) -> Result<ExitCode> {
    let mapping = load_mapping(mapping.as_deref())?;
    let report = RuleSet::load(&[rule], mapping);
    for e in &report.errors {
        eprintln!("{e}");
    }
    if report.ruleset.rules().is_empty() {
        anyhow::bail!("no rule loaded");
    }
    let set = report.ruleset;
    let tf = TimeFields::new();
    // Matches of rules that correlations use: (time, event index, rule, event).
    let mut engine: Engine<u64> = Engine::new(&set, Limits::default());
    let mut seen = Vec::new();
    let mut last_time = 0i64;
    let mut matched = 0usize;
    let mut total = 0usize;
    let mut source =
        EventSource::open(events).with_context(|| format!("cannot read {}", events.display()))?;
    while let Some(batch) = source.next_batch()? {
        for rec in batch {
            let rec = match rec.parse() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{}: {e}", events.display());
                    continue;
                }
            };
            total += 1;
            let hits = set.matches(&rec.fields);
            if hits.is_empty() {
                continue;
            }
            // Events without a time count as simultaneous with the one before.
            let time = tf
                .time(&rec.fields)
                .map_or(last_time, |t| t.timestamp_millis());
            last_time = time;
            for r in hits.iter().filter(|r| engine.wants(&r.meta)) {
                seen.push((time, rec.index, *r, rec.fields.clone()));
            }
            matched += 1;
            let at = match rec.line {
                Some(l) => format!("event {} (line {l})", rec.index),
                None => format!("event {}", rec.index),
            };
            for r in hits {
                println!("{at}: {} [{}]", r.meta.title, r.name());
            }
        }
    }
    seen.sort_by_key(|(t, i, _, _)| (*t, *i));
    let mut correlated = Vec::new();
    for (t, i, r, fields) in &seen {
        correlated.extend(engine.observe(&r.meta, fields, *t, *i));
    }
    correlated.extend(engine.finish());
    for h in &correlated {
        let group: Vec<String> = h.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let events: Vec<String> = h.events.iter().map(u64::to_string).collect();
        println!(
            "correlation {} [{}] ({}{}{}): value {}, events {}{}",
            h.meta.title,
            h.name(),
            h.kind.as_str(),
            if group.is_empty() { "" } else { "; " },
            group.join(", "),
            h.value,
            events.join(", "),
            if h.event_count > h.events.len() as u64 {
                format!(" of {}", h.event_count)
            } else {
                String::new()
            }
        );
    }
    eprintln!("{matched} of {total} events matched");
    if !set.correlations().is_empty() {
        eprintln!("{} correlation hits", correlated.len());
    }
    Ok(if matched > 0 || !correlated.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
