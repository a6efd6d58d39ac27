//! Matching throughput of a rule set over a JSONL file, on one thread, without I/O:
//! `cargo run --release -p mcpsec-sigma --example match_throughput -- RULES FILE [HITS]`.
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
    let report = RuleSet::load(&[PathBuf::from(rules)], FieldMapping::builtin());
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
    for _ in 0..rounds {
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
    if let Some(out) = args.get(2) {
        let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
        for (i, r) in &hits {
            writeln!(w, "{i}\t{r}")?;
        }
    }
    Ok(())
}
