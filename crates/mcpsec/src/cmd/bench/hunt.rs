//! `mcpsec bench hunt --rules DIR FILE...`: Sigma matching throughput on all cores, with
//! the JSON parsing of the same events measured in the same run as the baseline (the
//! ratio says how far matching is from costing no more than reading the events).

use crate::cli::BenchHuntArgs;
use crate::cmd::hunt::{EventSource, RawRecord, input_files, load_mapping};
use anyhow::{Result, bail};
use mcpsec_sigma::RuleSet;
use rayon::prelude::*;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Serialize)]
struct Report {
    events: usize,
    rules: usize,
    ungated_rules: usize,
    cores: usize,
    rounds: usize,
    load_secs: f64,
    parse_events_per_sec: f64,
    match_events_per_sec: f64,
    parse_and_match_events_per_sec: f64,
    ratio_match_to_parse: f64,
    /// What `hunt` does per line: the selective pre-match, and a whole parse and match
    /// only for lines it cannot clear.
    selective_events_per_sec: f64,
    ratio_selective_to_parse: f64,
    /// Lines the selective pre-match cleared.
    cleared: usize,
    detections: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the benchmark.
pub fn run(a: BenchHuntArgs) -> Result<ExitCode> {
    if a.rounds == 0 {
        bail!("--rounds must be above 0");
    }
    let started = Instant::now();
    let mapping = load_mapping(a.mapping.as_deref())?;
    let report = RuleSet::load_with(&a.rules, mapping, crate::cmd::hunt::hunt_options());
    let load_secs = started.elapsed().as_secs_f64();
    let set = report.ruleset;
    if set.rules().is_empty() {
        bail!("no rules to run");
    }
    let mut raw: Vec<RawRecord> = Vec::new();
    for f in input_files(&a.paths)? {
        let mut src = EventSource::open(&f)?;
        while let Some(batch) = src.next_batch()? {
            raw.extend(batch);
        }
    }
    if raw.is_empty() {
        bail!("no events in the input");
    }
    let events = raw.len();
    let mut parse_secs = Vec::with_capacity(a.rounds);
    for _ in 0..a.rounds {
        let t = Instant::now();
        let ok = raw.par_iter().filter(|r| r.parse_ref().is_ok()).count();
        parse_secs.push(t.elapsed().as_secs_f64());
        std::hint::black_box(ok);
    }
    let mut selective_secs = Vec::with_capacity(a.rounds);
    let mut cleared = 0;
    let mut selective_detections = 0u64;
    for _ in 0..a.rounds {
        let t = Instant::now();
        let (c, d) = raw
            .par_iter()
            .map(|r| {
                // As `hunt` does: a decided pre-match still parses the event whole
                // (detections carry it), but does not match it again.
                let decided = r.text().and_then(|t| set.matches_json(t));
                if decided.as_ref().is_some_and(Vec::is_empty) {
                    return (1, 0);
                }
                let mut n = 0u64;
                if let Ok(rec) = r.parse_ref() {
                    match decided {
                        Some(hits) => n = hits.len() as u64,
                        None => set.for_each_match(&rec.fields, |_| n += 1),
                    }
                }
                (0, n)
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        selective_secs.push(t.elapsed().as_secs_f64());
        (cleared, selective_detections) = (c, d);
    }
    let parsed: Vec<_> = raw.par_iter().filter_map(|r| r.parse_ref().ok()).collect();
    drop(raw);
    let mut match_secs = Vec::with_capacity(a.rounds);
    let mut detections = 0;
    for _ in 0..a.rounds {
        let t = Instant::now();
        detections = parsed
            .par_iter()
            .map(|r| {
                let mut n = 0u64;
                set.for_each_match(&r.fields, |_| n += 1);
                n
            })
            .sum();
        match_secs.push(t.elapsed().as_secs_f64());
    }
    if selective_detections != detections {
        bail!(
            "the selective path found {selective_detections} detections, the whole parse \
             {detections}"
        );
    }
    let (parse, matching) = (median(parse_secs), median(match_secs));
    let selective = median(selective_secs);
    let rate = |secs: f64| events as f64 / secs.max(1e-9);
    let r = Report {
        events,
        rules: set.rules().len(),
        ungated_rules: set.ungated_rules(),
        cores: rayon::current_num_threads(),
        rounds: a.rounds,
        load_secs,
        parse_events_per_sec: rate(parse),
        match_events_per_sec: rate(matching),
        parse_and_match_events_per_sec: rate(parse + matching),
        ratio_match_to_parse: rate(matching) / rate(parse),
        selective_events_per_sec: rate(selective),
        ratio_selective_to_parse: rate(selective) / rate(parse),
        cleared,
        detections,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "mcpsec bench hunt: {} events, {} rules ({} without a literal gate, loaded in {:.2} s), \
         {} cores, median of {} rounds",
        r.events, r.rules, r.ungated_rules, r.load_secs, r.cores, r.rounds
    );
    println!(
        "  matching (parsed events)           {:>12.0} events/s",
        r.match_events_per_sec
    );
    println!(
        "  baseline: JSON parsing alone       {:>12.0} events/s",
        r.parse_events_per_sec
    );
    println!(
        "  ratio matching / parsing           {:>12.2}",
        r.ratio_match_to_parse
    );
    println!(
        "  parsing + matching                 {:>12.0} events/s",
        r.parse_and_match_events_per_sec
    );
    println!(
        "  hunt path: selective pre-match,    {:>12.0} events/s",
        r.selective_events_per_sec
    );
    println!(
        "    whole parse + match if unsure    ({} of {} lines cleared, ratio to parsing {:.2})",
        r.cleared, r.events, r.ratio_selective_to_parse
    );
    println!("  detections per round               {:>12}", r.detections);
    Ok(ExitCode::SUCCESS)
}
