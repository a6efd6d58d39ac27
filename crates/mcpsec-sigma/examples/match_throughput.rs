//! Matching throughput of a rule set over a JSONL file, on one thread, without I/O:
//! `cargo run --release -p mcpsec-sigma --example match_throughput -- RULES FILE [HITS]`
//! (RULES: files or folders separated by commas).
//! With `HITS`, every (line, rule id) hit is written there, one per line, for comparing
//! two builds.

use mcpsec_sigma::{FieldMapping, RuleSet};
use serde_json::{Map, Value};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(rules), Some(file)) = (args.first(), args.get(1)) else {
        return Err("usage: match_throughput RULES FILE [HITS]".into());
    };
    let t = Instant::now();
    // RULES may name several files or folders, separated by commas.
    let paths: Vec<PathBuf> = rules.split(',').map(PathBuf::from).collect();
    // As `hunt` loads them: regexes built on first use.
    let options = mcpsec_sigma::compile::CompileOptions {
        lazy_regexes: true,
        ..Default::default()
    };
    let report = RuleSet::load_with(&paths, FieldMapping::builtin(), options);
    let load = t.elapsed().as_secs_f64();
    let set = report.ruleset;
    eprintln!(
        "{} rules, {} evaluated on every event (no gate)",
        set.rules().len(),
        set.ungated_rules()
    );
    if std::env::var_os("LIST_UNGATED").is_some() {
        for r in set.rules().iter().filter(|r| !r.gated()) {
            let src = r
                .meta
                .source
                .file
                .as_deref()
                .map(|p| p.display().to_string());
            eprintln!("ungated: {} {}", r.name(), src.unwrap_or_default());
        }
    }
    let text = std::fs::read_to_string(file)?;
    let t = Instant::now();
    let events: Vec<Map<String, Value>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect();
    let parse = t.elapsed().as_secs_f64();
    // MATCH_ROUNDS=N repeats the matching pass, for steadier figures.
    let rounds: usize = std::env::var("MATCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .max(1);
    let t = Instant::now();
    let mut hits = Vec::new();
    // ONLY_HUNT_PATH=1 skips the matching of parsed events (for profiles of the other).
    let whole = if std::env::var_os("ONLY_HUNT_PATH").is_some() {
        0
    } else {
        rounds
    };
    for _ in 0..whole {
        hits.clear();
        for (i, e) in events.iter().enumerate() {
            set.for_each_match(e, |r| hits.push((i, r.name())));
        }
    }
    let secs = t.elapsed().as_secs_f64() / rounds as f64;
    eprintln!(
        "{} rules loaded in {load:.2}s; {} events parsed in {parse:.2}s ({:.0}/s); \
         {} hits, matched in {secs:.2}s: {:.0} events/s",
        set.rules().len(),
        events.len(),
        events.len() as f64 / parse,
        hits.len(),
        events.len() as f64 / secs
    );
    // The path `hunt` takes on JSONL: the selective pre-match, and a whole parse and
    // match only for the lines it cannot clear.
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // WARM_UP=1 runs the path once first, outside the timing and outside `hunt_path`
    // (regex caches and narrowed automata are built on first use).
    if std::env::var_os("WARM_UP").is_some() {
        walk(&set, &lines);
    }
    let t = Instant::now();
    let mut cleared_hits = (0, 0);
    for _ in 0..rounds {
        cleared_hits = hunt_path(&set, &lines);
    }
    let (cleared, path_hits) = cleared_hits;
    let secs = t.elapsed().as_secs_f64() / rounds as f64;
    eprintln!(
        "hunt path: {cleared} of {} lines cleared by the pre-match, {path_hits} hits: {:.0} events/s",
        lines.len(),
        lines.len() as f64 / secs
    );
    if let Some(out) = args.get(2) {
        let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
        for (i, r) in &hits {
            writeln!(w, "{i}\t{r}")?;
        }
    }
    Ok(())
}

/// The path `hunt` takes on JSONL lines: (lines cleared by the pre-match, hits). Not
/// inlined, so that a profiler can be pointed at it
/// (`valgrind --tool=callgrind --toggle-collect='*hunt_path*'`).
#[inline(never)]
fn hunt_path(set: &RuleSet, lines: &[&str]) -> (usize, usize) {
    walk(set, lines)
}

#[inline(never)]
fn walk(set: &RuleSet, lines: &[&str]) -> (usize, usize) {
    let (mut cleared, mut path_hits) = (0usize, 0usize);
    for l in lines {
        match set.matches_json(l) {
            Some(hits) if hits.is_empty() => cleared += 1,
            Some(hits) => path_hits += hits.len(),
            None => {
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(l) {
                    set.for_each_match(&m, |_| path_hits += 1);
                }
            }
        }
    }
    (cleared, path_hits)
}
