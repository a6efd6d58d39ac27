//! Every SigmaHQ rule loads, and every regression sample fires its rule.
//!
//! The data lives outside the repository (`../shared/testdata` from the workspace root);
//! the tests print a notice and pass when it is absent.

use mcpsec_sigma::{FieldMapping, RuleSet, RuleSetBuilder};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn testdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("notice: {} is absent; skipping", p.display());
        None
    }
}

#[test]
fn all_sigmahq_rules_load() {
    let Some(td) = testdata() else { return };
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| td.join("sigma").join(d))
        .collect();
    let report = RuleSet::load(&dirs, FieldMapping::builtin());
    let failed = report.errors.len();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for e in &report.errors {
        eprintln!("FAILED: {e}");
        let msg = e.message();
        let key: String = msg.chars().take(40).collect();
        *reasons.entry(key).or_default() += 1;
    }
    eprintln!("loaded {} failed {failed}: {reasons:#?}", report.loaded);
    let share = report.loaded as f64 / (report.loaded + failed).max(1) as f64;
    assert!(report.loaded >= 3500, "only {} rules loaded", report.loaded);
    assert!(share >= 0.99, "{:.2} % loaded", share * 100.0);
}

fn read_events(path: &Path) -> Vec<serde_json::Map<String, Value>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .filter_map(|v| match v {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}

/// Runs every regression case with the given mapping; returns (passed, failures).
fn run_regression(td: &Path, mapping: FieldMapping) -> (usize, Vec<String>) {
    let rules = td.join("sigma");
    let mut b = RuleSetBuilder::new(mapping);
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        b.add_path(&rules.join(d));
    }
    let set = b.build().ruleset;
    let by_id: std::collections::HashMap<&str, usize> = set
        .rules()
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.meta.id.as_deref().map(|id| (id, i)))
        .collect();
    let base = td.join("sigma-regression");
    let mut infos = Vec::new();
    collect_infos(&base.join("regression_data"), &mut infos);
    let (mut passed, mut failures) = (0, Vec::new());
    for info in infos {
        let text = std::fs::read_to_string(&info).unwrap_or_default();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap_or_default();
        let rule_id = doc["rule_metadata"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let Some(test) = doc["regression_tests_info"]
            .as_sequence()
            .and_then(|s| s.iter().find(|t| t["type"].as_str() == Some("evtx")))
        else {
            continue;
        };
        let want = test["match_count"].as_u64().unwrap_or(1) as usize;
        let evtx = test["path"].as_str().unwrap_or_default();
        let json = base.join(evtx).with_extension("json");
        let events = read_events(&json);
        let Some(&idx) = by_id.get(rule_id.as_str()) else {
            failures.push(format!("{rule_id}: rule not loaded ({})", info.display()));
            continue;
        };
        let mut count = 0;
        for e in &events {
            let mut hit = false;
            set.for_each_match(e, |r| hit |= std::ptr::eq(r, &set.rules()[idx]));
            count += usize::from(hit);
        }
        if count >= want {
            passed += 1;
        } else {
            failures.push(format!(
                "{rule_id} {:?}: matched {count} of {} events, want {want} ({})",
                set.rules()[idx].meta.title,
                events.len(),
                json.display()
            ));
        }
    }
    (passed, failures)
}

fn collect_infos(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_infos(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_regression_sample_fires_its_rule() {
    let Some(td) = testdata() else { return };
    let (passed, failures) = run_regression(&td, FieldMapping::builtin());
    for f in &failures {
        eprintln!("FAILED: {f}");
    }
    eprintln!("regression: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} regression cases failed",
        failures.len()
    );
}

/// Matching throughput on the regression samples (run with `--release --ignored`).
#[test]
#[ignore = "benchmark"]
fn bench_regression_throughput() {
    let Some(td) = testdata() else { return };
    let rules = td.join("sigma");
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| rules.join(d))
        .collect();
    let t = std::time::Instant::now();
    let set = RuleSet::load(&dirs, FieldMapping::builtin()).ruleset;
    let load = t.elapsed();
    let mut infos = Vec::new();
    collect_infos(&td.join("sigma-regression/regression_data"), &mut infos);
    let mut events = Vec::new();
    for i in &infos {
        let dir = i.parent().map(Path::to_path_buf).unwrap_or_default();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "json") {
                events.extend(read_events(&e.path()));
            }
        }
    }
    let rounds = 20;
    let t = std::time::Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for e in &events {
            set.for_each_match(e, |_| hits += 1);
        }
    }
    let n = events.len() * rounds;
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "load {:.2}s; {n} events, {hits} hits in {secs:.2}s: {:.0} events/s (one thread)",
        load.as_secs_f64(),
        n as f64 / secs
    );
}

/// The upstream THOR mapping (sigmac format) loads as a custom mapping and works too.
#[test]
fn regression_with_the_upstream_thor_mapping() {
    let Some(td) = testdata() else { return };
    let file = td.join("sigma-regression/thor-logsource-mapping.yml");
    let custom = FieldMapping::from_file(&file).expect("THOR mapping loads");
    let (passed, failures) = run_regression(&td, FieldMapping::overlay(custom));
    for f in &failures {
        eprintln!("FAILED (thor mapping): {f}");
    }
    eprintln!(
        "regression with thor mapping: {passed} passed, {} failed",
        failures.len()
    );
    assert!(
        passed * 100 >= (passed + failures.len()) * 95,
        "{passed} passed"
    );
}

/// The selective pre-match decides exactly what matching the whole event finds: it
/// never clears an event a rule matches, and the rules it reports are the same, in the
/// same order; and both are what evaluating every rule on its own finds. Every regression sample (and a copy of each with its strings changed, so
/// most match nothing) against all SigmaHQ rules.
#[test]
fn selective_prematch_decides_what_the_whole_event_matches() {
    let Some(td) = testdata() else { return };
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| td.join("sigma").join(d))
        .collect();
    // Loaded as `hunt` loads them (regexes built on first use); the other tests here
    // build them up front.
    let options = mcpsec_sigma::compile::CompileOptions {
        lazy_regexes: true,
        ..Default::default()
    };
    let set = RuleSet::load_with(&dirs, FieldMapping::builtin(), options).ruleset;
    let mut infos = Vec::new();
    collect_infos(
        &td.join("sigma-regression").join("regression_data"),
        &mut infos,
    );
    let (mut checked, mut cleared, mut decided) = (0, 0, 0);
    for info in infos {
        let Some(Ok(dir)) = info.parent().map(std::fs::read_dir) else {
            continue;
        };
        for f in dir.filter_map(|e| e.ok().map(|e| e.path())) {
            if f.extension().is_none_or(|e| e != "json") {
                continue;
            }
            for e in read_events(&f) {
                let renamed = serde_json::to_string(&e)
                    .unwrap_or_default()
                    .replace(".exe", ".txt");
                for text in [serde_json::to_string(&e).unwrap_or_default(), renamed] {
                    let Ok(ev) = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
                    else {
                        continue;
                    };
                    checked += 1;
                    let whole: Vec<_> = set.matches(&ev).iter().map(|r| r.name()).collect();
                    // Every rule evaluated on its own (no gates, no narrowed needles).
                    let mut each = Vec::new();
                    set.profile_each(&ev, |r, hit, _| {
                        if hit {
                            each.push(r.name());
                        }
                    });
                    assert_eq!(whole, each, "{}: gated and every rule", f.display());
                    if set.no_match_json(&text) {
                        cleared += 1;
                        assert!(
                            whole.is_empty(),
                            "{}: cleared but {whole:?} match",
                            f.display()
                        );
                    }
                    if let Some(hits) = set.matches_json(&text) {
                        decided += 1;
                        let hits: Vec<_> = hits.iter().map(|r| r.name()).collect();
                        assert_eq!(hits, whole, "{}: pre-match and whole event", f.display());
                    }
                }
            }
        }
    }
    eprintln!("checked {checked} events, {decided} decided, {cleared} cleared");
    assert!(
        checked > 100 && cleared > 0 && decided > cleared,
        "{checked} checked, {decided} decided, {cleared} cleared"
    );
}
