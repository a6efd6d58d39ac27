//! `mcpsec hunt PATH... --rules DIR`: Sigma rules over JSON/JSONL event files.
//!
//! Files are read one after another (streamed, decompressed by extension) in batches;
//! each batch is parsed and matched on all cores (rayon), and detections are written in
//! input order. `.evtx` files are read with the `evtx` crate (one file in memory at once).

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcpsec_sigma::fields::PathSpec;
use mcpsec_sigma::{CompiledRule, FieldMapping, RuleSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod input;
pub use input::{EventSource, RawRecord, Record};

/// `mcpsec hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Event files or directories (searched recursively for .evtx and .json/.jsonl/.ndjson,
    /// the JSON ones also compressed as .gz/.zst).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories.
    #[arg(long, required = true, num_args = 1.., value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Field/logsource mapping file (YAML) on top of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Only rules of this level or higher (informational, low, medium, high, critical).
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
    /// Only rules with one of these statuses (comma-separated, e.g. stable,test).
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only events at or after this time (RFC 3339); events without a time are skipped.
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Only events before this time (RFC 3339); events without a time are skipped.
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HuntFormat::Table)]
    pub format: HuntFormat,
    /// Write detections to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output formats of `hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HuntFormat {
    /// Aligned columns for reading.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
}

/// Loads `--mapping` over the built-in mapping, or the built-in one alone.
pub fn load_mapping(path: Option<&Path>) -> Result<FieldMapping> {
    Ok(match path {
        Some(p) => FieldMapping::overlay(FieldMapping::from_file(p)?),
        None => FieldMapping::builtin(),
    })
}

/// One rule firing on one event.
#[derive(Debug, Serialize)]
struct Detection {
    rule_id: Option<String>,
    rule_title: String,
    level: Option<String>,
    tags: Vec<String>,
    file: String,
    index: u64,
    line: Option<u64>,
    timestamp: Option<String>,
    record_id: Option<Value>,
    event: Value,
}

struct TimeFields {
    time: Vec<PathSpec>,
    record: Vec<PathSpec>,
}

impl TimeFields {
    fn new() -> Self {
        let p = |v: &[&str]| v.iter().map(|s| PathSpec::new(s)).collect();
        TimeFields {
            time: p(&[
                "Event.System.TimeCreated.#attributes.SystemTime",
                "Event.System.TimeCreated_attributes.SystemTime",
                "Event.System.TimeCreated.SystemTime",
                "@timestamp",
                "timestamp",
                "time",
                "EventTime",
                "TimeCreated",
            ]),
            record: p(&[
                "Event.System.EventRecordID",
                "winlog.record_id",
                "EventRecordID",
            ]),
        }
    }

    fn time(&self, m: &Map<String, Value>) -> Option<DateTime<Utc>> {
        self.time
            .iter()
            .find_map(|p| p.get(m))
            .and_then(mcpsec_core::parse_timestamp)
    }

    fn record(&self, m: &Map<String, Value>) -> Option<Value> {
        self.record.iter().find_map(|p| p.get(m)).cloned()
    }
}

fn level_rank(l: &str) -> u8 {
    match l.to_ascii_lowercase().as_str() {
        "informational" => 1,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 0,
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    mcpsec_core::parse_timestamp(&Value::String(s.to_owned()))
        .with_context(|| format!("cannot read the time {s:?} (use RFC 3339)"))
}

/// Input files: given files as they are, directories searched for event files.
pub(crate) fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn is_event_file(p: &Path) -> bool {
        let n = p.to_string_lossy().to_ascii_lowercase();
        let n = n.trim_end_matches(".gz").trim_end_matches(".zst");
        n.ends_with(".json")
            || n.ends_with(".jsonl")
            || n.ends_with(".ndjson")
            || n.ends_with(".evtx")
    }
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                walk(&p, out)?;
            } else if is_event_file(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("{} does not exist", p.display());
        }
    }
    Ok(out)
}

struct Writer {
    out: Box<dyn Write>,
    format: HuntFormat,
    count: u64,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Writer {
    fn start(&mut self) -> Result<()> {
        match self.format {
            HuntFormat::Json => write!(self.out, "[")?,
            HuntFormat::Csv => writeln!(
                self.out,
                "rule_id,rule_title,level,tags,file,index,timestamp,record_id"
            )?,
            HuntFormat::Table => writeln!(
                self.out,
                "{:<27} {:<13} {:<40} {:<10} RULE",
                "TIMESTAMP", "LEVEL", "FILE:EVENT", "RECORD"
            )?,
            HuntFormat::Jsonl => {}
        }
        Ok(())
    }

    fn write(&mut self, d: &Detection) -> Result<()> {
        let record = d.record_id.as_ref().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        match self.format {
            HuntFormat::Json => {
                if self.count > 0 {
                    write!(self.out, ",")?;
                }
                writeln!(self.out)?;
                serde_json::to_writer(&mut self.out, d)?;
            }
            HuntFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, d)?;
                writeln!(self.out)?;
            }
            HuntFormat::Csv => writeln!(
                self.out,
                "{},{},{},{},{},{},{},{}",
                csv_field(d.rule_id.as_deref().unwrap_or_default()),
                csv_field(&d.rule_title),
                csv_field(d.level.as_deref().unwrap_or_default()),
                csv_field(&d.tags.join(";")),
                csv_field(&d.file),
                d.index,
                csv_field(d.timestamp.as_deref().unwrap_or_default()),
                csv_field(record.as_deref().unwrap_or_default()),
            )?,
            HuntFormat::Table => {
                let file = Path::new(&d.file)
                    .file_name()
                    .map_or_else(|| d.file.clone(), |f| f.to_string_lossy().into_owned());
                writeln!(
                    self.out,
                    "{:<27} {:<13} {:<40} {:<10} {}",
                    d.timestamp.as_deref().unwrap_or("-"),
                    d.level.as_deref().unwrap_or("-"),
                    format!("{file}:{}", d.index),
                    record.as_deref().unwrap_or("-"),
                    d.rule_title
                )?;
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.format == HuntFormat::Json {
            writeln!(self.out, "{}]", if self.count > 0 { "\n" } else { "" })?;
        }
        self.out.flush()?;
        Ok(())
    }
}

#[derive(Default)]
struct Totals {
    files: u64,
    events: u64,
    bad: u64,
    detections: u64,
    fired: BTreeSet<String>,
}

/// Runs the command.
pub fn run(a: HuntArgs) -> Result<ExitCode> {
    super::quiet_logging();
    let started = Instant::now();
    let mapping = load_mapping(a.mapping.as_deref())?;
    let report = RuleSet::load(&a.rules, mapping);
    for e in &report.errors {
        eprintln!("rule not loaded: {e}");
    }
    let mut set = report.ruleset;
    if let Some(l) = &a.level {
        let min = level_rank(l);
        if min == 0 {
            bail!("unknown level {l:?} (informational, low, medium, high, critical)");
        }
        set.retain(|r| r.meta.level.as_deref().map_or(0, level_rank) >= min);
    }
    if let Some(s) = &a.status {
        let wanted: Vec<String> = s
            .split(',')
            .map(|x| x.trim().to_ascii_lowercase())
            .collect();
        set.retain(|r| {
            r.meta
                .status
                .as_deref()
                .is_some_and(|st| wanted.iter().any(|w| w.eq_ignore_ascii_case(st)))
        });
    }
    if set.rules().is_empty() {
        bail!("no rules to run");
    }
    let from = a.from.as_deref().map(parse_time).transpose()?;
    let to = a.to.as_deref().map(parse_time).transpose()?;
    let files = input_files(&a.paths)?;
    let loaded = started.elapsed();
    let out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut w = Writer {
        out,
        format: a.format,
        count: 0,
    };
    w.start()?;
    let pb = if std::io::stderr().is_terminal() {
        let pb =
            ProgressBar::with_draw_target(Some(files.len() as u64), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} files {wide_bar} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let tf = TimeFields::new();
    let mut totals = Totals::default();
    let scan_started = Instant::now();
    for file in &files {
        totals.files += 1;
        pb.set_message(file.display().to_string());
        if let Err(e) = hunt_file(file, &set, &tf, (from, to), &mut w, &mut totals) {
            eprintln!("{}: {e:#}", file.display());
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    w.finish()?;
    let secs = scan_started.elapsed().as_secs_f64().max(1e-6);
    eprintln!(
        "hunt: {} rules ({} not loaded, loaded in {:.2}s), {} files, {} events ({} unreadable), \
         {} detections, {} rules fired, {:.2}s, {:.0} events/s",
        set.rules().len(),
        report.errors.len(),
        loaded.as_secs_f64(),
        totals.files,
        totals.events,
        totals.bad,
        totals.detections,
        totals.fired.len(),
        secs,
        totals.events as f64 / secs
    );
    Ok(ExitCode::SUCCESS)
}

type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn hunt_file(
    file: &Path,
    set: &RuleSet,
    tf: &TimeFields,
    window: Window,
    w: &mut Writer,
    totals: &mut Totals,
) -> Result<()> {
    let mut src = EventSource::open(file)?;
    let name = file.display().to_string();
    while let Some(batch) = src.next_batch()? {
        let results: Vec<std::result::Result<Vec<Detection>, String>> = batch
            .into_par_iter()
            .map(|raw| {
                let rec = raw.parse()?;
                Ok(detect(&rec, set, tf, window, &name))
            })
            .collect();
        for r in results {
            match r {
                Ok(ds) => {
                    totals.events += 1;
                    for d in ds {
                        totals.detections += 1;
                        totals
                            .fired
                            .insert(d.rule_id.clone().unwrap_or_else(|| d.rule_title.clone()));
                        w.write(&d)?;
                    }
                }
                Err(e) => {
                    totals.bad += 1;
                    if totals.bad <= 20 {
                        eprintln!("{name}: {e}");
                    }
                }
            }
        }
    }
    Ok(())
}

fn detect(
    rec: &Record,
    set: &RuleSet,
    tf: &TimeFields,
    window: Window,
    file: &str,
) -> Vec<Detection> {
    // The time is read only when a window needs it or a rule fired (most events).
    let mut time = None;
    if window.0.is_some() || window.1.is_some() {
        let Some(t) = tf.time(&rec.fields) else {
            return Vec::new();
        };
        if window.0.is_some_and(|f| t < f) || window.1.is_some_and(|e| t >= e) {
            return Vec::new();
        }
        time = Some(t);
    }
    let mut hits: Vec<&CompiledRule> = Vec::new();
    set.for_each_match(&rec.fields, |r| hits.push(r));
    if hits.is_empty() {
        return Vec::new();
    }
    let time = time.or_else(|| tf.time(&rec.fields));
    let event = Value::Object(rec.fields.clone());
    let timestamp = time.map(|t| mcpsec_core::to_rfc3339(&t));
    let record_id = tf.record(&rec.fields);
    hits.into_iter()
        .map(|r| Detection {
            rule_id: r.meta.id.clone(),
            rule_title: r.meta.title.clone(),
            level: r.meta.level.clone(),
            tags: r.meta.tags.clone(),
            file: file.to_owned(),
            index: rec.index,
            line: rec.line,
            timestamp: timestamp.clone(),
            record_id: record_id.clone(),
            event: event.clone(),
        })
        .collect()
}
