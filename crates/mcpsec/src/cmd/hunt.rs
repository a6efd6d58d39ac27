//! `mcpsec hunt PATH... --rules DIR`: Sigma rules over JSON/JSONL event files.
//!
//! Files are read one after another (streamed, decompressed by extension) in batches;
//! each batch is parsed and matched on all cores (rayon), and detections are written in
//! input order. `.evtx` files are read with the `evtx` crate (one file in memory at once).
//! Correlation rules run after all files, over the matches collected for them
//! ([`correlate`]), and their detections follow the others.

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcpsec_sigma::compile::CompileOptions;
use mcpsec_sigma::fields::PathSpec;
use mcpsec_sigma::{CompiledRule, FieldMapping, RuleMeta, RuleSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

mod array;
mod correlate;
mod input;
mod sarif;
use correlate::{CorrelationInfo, Correlator, Observed};
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
    /// SARIF 2.1.0 (one run; correlation details in each result's properties).
    Sarif,
}

/// Loads `--mapping` over the built-in mapping, or the built-in one alone.
pub fn load_mapping(path: Option<&Path>) -> Result<FieldMapping> {
    Ok(match path {
        Some(p) => FieldMapping::overlay(FieldMapping::from_file(p)?),
        None => FieldMapping::builtin(),
    })
}

/// The matched event, shared (not copied) by every detection of that event; written as
/// the JSON object, `null` when absent.
#[derive(Debug, Clone, Default)]
pub(crate) enum SharedEvent {
    /// No event (correlation detections).
    #[default]
    None,
    /// The event.
    Object(Arc<Map<String, Value>>),
    /// The event serialized once for all its detections (the JSON formats), written
    /// verbatim: the same bytes as the object.
    Json(Arc<serde_json::value::RawValue>),
}

impl SharedEvent {
    fn is_none(&self) -> bool {
        matches!(self, SharedEvent::None)
    }

    /// The event as a JSON value (`null` when absent).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            SharedEvent::None => Value::Null,
            SharedEvent::Object(m) => Value::Object(Map::clone(m)),
            SharedEvent::Json(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        }
    }
}

impl Serialize for SharedEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            SharedEvent::None => s.serialize_unit(),
            SharedEvent::Object(m) => m.serialize(s),
            SharedEvent::Json(raw) => raw.serialize(s),
        }
    }
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
    #[serde(skip_serializing_if = "SharedEvent::is_none")]
    event: SharedEvent,
    /// Set for correlation detections (then `event` is null and not written).
    #[serde(flatten)]
    correlation: Option<CorrelationInfo>,
    /// The detection already serialized as JSON (done by the matcher threads for the
    /// JSON formats, so the writer only copies bytes).
    #[serde(skip)]
    json: Option<Vec<u8>>,
}

/// Where events keep their time and record id.
pub(crate) struct TimeFields {
    time: Vec<PathSpec>,
    record: Vec<PathSpec>,
}

impl TimeFields {
    /// The usual places (EVTX, ECS, plain JSON).
    pub(crate) fn new() -> Self {
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

    /// The event's time, if it has a readable one.
    pub(crate) fn time(&self, m: &Map<String, Value>) -> Option<DateTime<Utc>> {
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
    sarif: sarif::SarifRules,
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
                "rule_id,rule_title,level,tags,file,index,timestamp,record_id,group,event_count"
            )?,
            HuntFormat::Table => writeln!(
                self.out,
                "{:<27} {:<13} {:<40} {:<10} RULE",
                "TIMESTAMP", "LEVEL", "FILE:EVENT", "RECORD"
            )?,
            HuntFormat::Sarif => write!(self.out, "{}", sarif::HEADER)?,
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
                match &d.json {
                    Some(b) => self.out.write_all(b)?,
                    None => serde_json::to_writer(&mut self.out, d)?,
                }
            }
            HuntFormat::Jsonl => {
                match &d.json {
                    Some(b) => self.out.write_all(b)?,
                    None => serde_json::to_writer(&mut self.out, d)?,
                }
                writeln!(self.out)?;
            }
            HuntFormat::Sarif => {
                if self.count > 0 {
                    write!(self.out, ",")?;
                }
                serde_json::to_writer(&mut self.out, &self.sarif.result(d))?;
            }
            HuntFormat::Csv => writeln!(
                self.out,
                "{},{},{},{},{},{},{},{},{},{}",
                csv_field(d.rule_id.as_deref().unwrap_or_default()),
                csv_field(&d.rule_title),
                csv_field(d.level.as_deref().unwrap_or_default()),
                csv_field(&d.tags.join(";")),
                csv_field(&d.file),
                d.index,
                csv_field(d.timestamp.as_deref().unwrap_or_default()),
                csv_field(record.as_deref().unwrap_or_default()),
                csv_field(
                    &d.correlation
                        .as_ref()
                        .map(|c| c.group_text())
                        .unwrap_or_default()
                ),
                d.correlation
                    .as_ref()
                    .map(|c| c.event_count.to_string())
                    .unwrap_or_default(),
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
                    match &d.correlation {
                        Some(c) => format!(
                            "{} ({}; {} events)",
                            d.rule_title,
                            c.group_text(),
                            c.event_count
                        ),
                        None => d.rule_title.clone(),
                    }
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
        if self.format == HuntFormat::Sarif {
            writeln!(self.out, "{}", self.sarif.footer())?;
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
    correlations: u64,
    untimed: u64,
    fired: BTreeSet<String>,
}

/// How `hunt` compiles rules: regexes are built when a rule first needs one (most rules
/// never run on a given input; `mcpsec rules validate` builds them all and reports any
/// over the size budget).
pub(crate) fn hunt_options() -> CompileOptions {
    CompileOptions {
        lazy_regexes: true,
        ..CompileOptions::default()
    }
}

/// Runs the command.
pub fn run(a: HuntArgs) -> Result<ExitCode> {
    super::quiet_logging();
    let started = Instant::now();
    let mapping = load_mapping(a.mapping.as_deref())?;
    let report = RuleSet::load_with(&a.rules, mapping, hunt_options());
    for e in &report.errors {
        eprintln!("rule not loaded: {e}");
    }
    let mut set = report.ruleset;
    let mut correlator = Correlator::new(&set);
    let min_level = match &a.level {
        Some(l) => {
            let min = level_rank(l);
            if min == 0 {
                bail!("unknown level {l:?} (informational, low, medium, high, critical)");
            }
            Some(min)
        }
        None => None,
    };
    let wanted: Option<Vec<String>> = a.status.as_ref().map(|s| {
        s.split(',')
            .map(|x| x.trim().to_ascii_lowercase())
            .collect()
    });
    let passes = |m: &RuleMeta| {
        min_level.is_none_or(|min| m.level.as_deref().map_or(0, level_rank) >= min)
            && wanted.as_ref().is_none_or(|w| {
                m.status
                    .as_deref()
                    .is_some_and(|st| w.iter().any(|x| x.eq_ignore_ascii_case(st)))
            })
    };
    // Rules that correlations reference stay, whatever the filters say.
    set.retain(|r| passes(&r.meta) || correlator.needs(&r.meta));
    correlator.prepare(&set, passes);
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
        sarif: sarif::SarifRules::default(),
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
    let mut seen: Vec<Observed<'_>> = Vec::new();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let scan = Scan {
        set: &set,
        tf: &tf,
        window: (from, to),
        correlator: &correlator,
        names: &names,
        json: matches!(a.format, HuntFormat::Json | HuntFormat::Jsonl),
    };
    // Three stages run at once: a reader thread decodes files into batches, a matcher
    // thread parses and matches each batch on all cores, and this thread writes the
    // detections in input order. The channels hold two batches each, so memory stays
    // flat whatever the input size.
    std::thread::scope(|s| -> Result<()> {
        let (raw_tx, raw_rx) = sync_channel(2);
        let (out_tx, out_rx) = sync_channel(2);
        s.spawn(|| read_files(&files, raw_tx));
        s.spawn(|| match_batches(&scan, raw_rx, out_tx));
        write_results(&out_rx, &files, &names, &pb, &mut w, &mut totals, &mut seen)
    })?;
    pb.finish_and_clear();
    if correlator.active() {
        for (hit, info, file) in correlator.run(seen, &names, passes) {
            totals.detections += 1;
            totals.correlations += 1;
            totals.fired.insert(hit.name().to_owned());
            w.write(&Detection {
                rule_id: hit.meta.id.clone(),
                rule_title: hit.meta.title.clone(),
                level: hit.meta.level.clone(),
                tags: hit.meta.tags.clone(),
                file: names.get(file).cloned().unwrap_or_default(),
                index: info
                    .events
                    .last()
                    .and_then(|e| e.get("index"))
                    .and_then(Value::as_u64)
                    .unwrap_or_default(),
                line: info
                    .events
                    .last()
                    .and_then(|e| e.get("line"))
                    .and_then(Value::as_u64),
                timestamp: Some(correlate::rfc3339(hit.window_end_ms)),
                record_id: None,
                event: SharedEvent::default(),
                correlation: Some(info),
                json: None,
            })?;
        }
        if totals.untimed > 0 {
            eprintln!(
                "hunt: {} matches of rules that correlations use had no readable time and \
                 were not correlated",
                totals.untimed
            );
        }
    }
    w.finish()?;
    let secs = scan_started.elapsed().as_secs_f64().max(1e-6);
    eprintln!(
        "hunt: {} rules, {} correlations ({} not loaded, loaded in {:.2}s), {} files, {} events \
         ({} unreadable), \
         {} detections ({} from correlations), {} rules fired, {:.2}s, {:.0} events/s",
        set.rules().len(),
        set.correlations().len(),
        report.errors.len(),
        loaded.as_secs_f64(),
        totals.files,
        totals.events,
        totals.bad,
        totals.detections,
        totals.correlations,
        totals.fired.len(),
        secs,
        totals.events as f64 / secs
    );
    Ok(ExitCode::SUCCESS)
}

type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What matching needs to know.
struct Scan<'a, 's> {
    set: &'s RuleSet,
    tf: &'a TimeFields,
    window: Window,
    correlator: &'a Correlator,
    /// Input file names, by position in the input list.
    names: &'a [String],
    /// Serialize detections as JSON while matching (for the JSON formats).
    json: bool,
}

/// One event's detections, the matches correlations need, and the count of those
/// without a readable time.
type Matched<'s> = (Vec<Detection>, Vec<Observed<'s>>, u64);

/// From the reader to the matcher, and (matched) from the matcher to the writer.
enum Msg<T> {
    /// The next file (by position) starts.
    Start(usize),
    /// Events of the current file, in order.
    Batch(usize, T),
    /// The current file failed here (earlier batches stand).
    Failed(anyhow::Error),
    /// The current file is done.
    End,
}

/// Reader stage: every file's events, in batches, in order.
fn read_files(files: &[PathBuf], tx: SyncSender<Msg<Vec<RawRecord>>>) {
    for (n, file) in files.iter().enumerate() {
        if tx.send(Msg::Start(n)).is_err() {
            return;
        }
        let r = EventSource::open(file).and_then(|mut src| {
            while let Some(batch) = src.next_batch()? {
                if tx.send(Msg::Batch(n, batch)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        if let Err(e) = r
            && tx.send(Msg::Failed(e)).is_err()
        {
            return;
        }
        if tx.send(Msg::End).is_err() {
            return;
        }
    }
}

type MatchedBatch<'s> = Vec<std::result::Result<Matched<'s>, String>>;

/// Matcher stage: parses and matches each batch on all cores.
fn match_batches<'s>(
    scan: &Scan<'_, 's>,
    rx: Receiver<Msg<Vec<RawRecord>>>,
    tx: SyncSender<Msg<MatchedBatch<'s>>>,
) {
    for msg in rx {
        let out = match msg {
            Msg::Batch(n, batch) => Msg::Batch(
                n,
                batch
                    .into_par_iter()
                    .map(|raw| {
                        // A selective parse of the fields rules read decides most lines
                        // without building the whole event: most match no rule and are
                        // done; the others are parsed whole for their detections but not
                        // matched again. Lines it cannot decide are parsed and matched
                        // whole (time windows need every event's time, so they always are).
                        let decided = match (scan.window, raw.text()) {
                            ((None, None), Some(t)) => scan.set.matches_json(t),
                            _ => None,
                        };
                        if decided.as_ref().is_some_and(Vec::is_empty) {
                            return Ok((Vec::new(), Vec::new(), 0));
                        }
                        Ok(detect(raw.parse()?, scan, n, decided))
                    })
                    .collect(),
            ),
            Msg::Start(n) => Msg::Start(n),
            Msg::Failed(e) => Msg::Failed(e),
            Msg::End => Msg::End,
        };
        if tx.send(out).is_err() {
            return;
        }
    }
}

/// Writer stage: counts and writes detections in input order.
fn write_results<'s>(
    rx: &Receiver<Msg<MatchedBatch<'s>>>,
    files: &[PathBuf],
    names: &[String],
    pb: &ProgressBar,
    w: &mut Writer,
    totals: &mut Totals,
    seen: &mut Vec<Observed<'s>>,
) -> Result<()> {
    let mut current = 0;
    for msg in rx {
        match msg {
            Msg::Start(n) => {
                current = n;
                totals.files += 1;
                pb.set_message(names.get(n).cloned().unwrap_or_default());
            }
            Msg::Batch(n, results) => {
                let name = names.get(n).map_or("", String::as_str);
                for r in results {
                    match r {
                        Ok((ds, obs, untimed)) => {
                            totals.events += 1;
                            seen.extend(obs);
                            totals.untimed += untimed;
                            for d in ds {
                                totals.detections += 1;
                                if !totals
                                    .fired
                                    .contains(d.rule_id.as_ref().unwrap_or(&d.rule_title))
                                {
                                    totals.fired.insert(
                                        d.rule_id.clone().unwrap_or_else(|| d.rule_title.clone()),
                                    );
                                }
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
            Msg::Failed(e) => {
                if let Some(f) = files.get(current) {
                    eprintln!("{}: {e:#}", f.display());
                }
            }
            Msg::End => pb.inc(1),
        }
    }
    Ok(())
}

/// The detections of one event; `hits` are its matching rules when the pre-match
/// decided them (`None`: match the event here).
fn detect<'s>(
    rec: Record,
    ctx: &Scan<'_, 's>,
    file: usize,
    hits: Option<Vec<&'s CompiledRule>>,
) -> Matched<'s> {
    let (set, tf, window) = (ctx.set, ctx.tf, ctx.window);
    let none = || (Vec::new(), Vec::new(), 0);
    // The time is read only when a window needs it or a rule fired (most events do not).
    let mut time = None;
    if window.0.is_some() || window.1.is_some() {
        let Some(t) = tf.time(&rec.fields) else {
            return none();
        };
        if window.0.is_some_and(|f| t < f) || window.1.is_some_and(|e| t >= e) {
            return none();
        }
        time = Some(t);
    }
    let hits = hits.unwrap_or_else(|| {
        let mut hits: Vec<&'s CompiledRule> = Vec::new();
        set.for_each_match(&rec.fields, |r| hits.push(r));
        hits
    });
    if hits.is_empty() {
        return none();
    }
    let time = time.or_else(|| tf.time(&rec.fields));
    let timestamp = time.map(|t| mcpsec_core::to_rfc3339(&t));
    let record_id = tf.record(&rec.fields);
    let mut observed = Vec::new();
    let mut untimed = 0;
    for r in hits.iter().filter(|r| ctx.correlator.wants(r)) {
        match (time, &timestamp) {
            (Some(t), Some(ts)) => observed.push(Observed {
                time_ms: t.timestamp_millis(),
                rule: r,
                file,
                index: rec.index,
                line: rec.line,
                timestamp: ts.clone(),
                event: Value::Object(rec.fields.clone()),
            }),
            _ => untimed += 1,
        }
    }
    // For the JSON formats the event is serialized once, not once per detection.
    let raw = ctx
        .json
        .then(|| serde_json::value::to_raw_value(&rec.fields).ok())
        .flatten();
    let event = match raw {
        Some(raw) => SharedEvent::Json(Arc::from(raw)),
        None => SharedEvent::Object(Arc::new(rec.fields)),
    };
    let name = ctx.names.get(file).map_or("", String::as_str);
    let detections = hits
        .into_iter()
        .filter(|r| ctx.correlator.shows(r))
        .map(|r| Detection {
            rule_id: r.meta.id.clone(),
            rule_title: r.meta.title.clone(),
            level: r.meta.level.clone(),
            tags: r.meta.tags.clone(),
            file: name.to_owned(),
            index: rec.index,
            line: rec.line,
            timestamp: timestamp.clone(),
            record_id: record_id.clone(),
            event: event.clone(),
            correlation: None,
            json: None,
        })
        .map(|mut d| {
            // Serializing here runs on the matcher threads; a detection that cannot be
            // serialized is left to the writer, which reports the error.
            if ctx.json {
                d.json = serde_json::to_vec(&d).ok();
                if d.json.is_some() {
                    // The writer copies the bytes only: the event is freed here, on the
                    // thread that built it (much cheaper than from the writer's thread).
                    d.event = SharedEvent::default();
                }
            }
            d
        })
        .collect();
    (detections, observed, untimed)
}
