//! `mcpsec hunt` and `mcpsec rules test` with correlation rules.

use crate::common::bin;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/correlation")
        .join(name)
}

/// `../shared/testdata`, beside the project.
fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
}

/// The three SigmaHQ rule folders.
fn sigmahq_rules(td: &std::path::Path) -> [PathBuf; 3] {
    ["rules", "rules-emerging-threats", "rules-threat-hunting"].map(|d| td.join("sigma").join(d))
}

fn hunt(extra: &[&str]) -> Output {
    hunt_on(&fixture("events.jsonl"), &[fixture("rules.yml")], extra)
}

/// `mcpsec hunt INPUT --rules RULES... EXTRA...`, which must succeed.
fn hunt_on(input: &std::path::Path, rules: &[PathBuf], extra: &[&str]) -> Output {
    let out = Command::new(bin())
        .arg("hunt")
        .arg(input)
        .arg("--rules")
        .args(rules)
        .args(extra)
        .output()
        .expect("run hunt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn titles(ds: &[Value]) -> Vec<&str> {
    ds.iter().filter_map(|d| d["rule_title"].as_str()).collect()
}

#[test]
fn hunt_reports_correlations_in_json() {
    let out = hunt(&["--format", "json"]);
    let ds: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let t = titles(&ds);
    // `Password spray` generates its referenced rule, the other correlation does not;
    // the intermediate `Many failed logins` feeds the outer one and is not reported.
    assert_eq!(
        t.iter().filter(|x| **x == "Failed login").count(),
        6,
        "{t:?}"
    );
    assert!(!t.contains(&"Successful login"), "{t:?}");
    assert!(!t.contains(&"Many failed logins"), "{t:?}");

    let brute = ds
        .iter()
        .find(|d| d["rule_title"] == "Brute force then success")
        .expect("the chained correlation fired");
    assert_eq!(brute["rule_id"], "7b0d4f5e-2c61-4e0f-9a51-3f7d1c2b9e10");
    assert_eq!(brute["level"], "high");
    assert_eq!(brute["tags"][1], "attack.t1110");
    assert_eq!(brute["correlation"], "temporal_ordered");
    assert_eq!(brute["group"], serde_json::json!({"User": "bob"}));
    assert!(
        brute["timestamp"]
            .as_str()
            .is_some_and(|s| s.starts_with("2026-03-01T10:01:00"))
    );
    assert!(
        brute["window_start"]
            .as_str()
            .is_some_and(|s| s.starts_with("2026-03-01T10:00:00"))
    );
    let events = brute["events"].as_array().expect("events");
    let idx: Vec<u64> = events.iter().filter_map(|e| e["index"].as_u64()).collect();
    assert_eq!(idx, [1, 2, 3, 4]);
    assert_eq!(events[3]["event"]["outcome"], "success");
    assert!(brute.get("event").is_none());

    let spray = ds
        .iter()
        .find(|d| d["rule_title"] == "Password spray")
        .expect("value_count fired");
    assert_eq!(spray["group"]["SourceIp"], "203.0.113.50");
    assert_eq!(spray["value"], 3.0);
    assert_eq!(spray["event_count"], 3);

    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("8 detections (2 from correlations)"), "{err}");
    assert!(err.contains("3 correlations"), "{err}");
}

#[test]
fn hunt_evaluates_referenced_rules_that_the_level_filter_drops() {
    let out = hunt(&["--format", "jsonl", "--level", "high"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(titles(&lines), ["Brute force then success"]);
    assert_eq!(lines[0]["events"].as_array().map(Vec::len), Some(4));
}

#[test]
fn hunt_shows_correlations_in_table_and_csv() {
    let table = String::from_utf8_lossy(&hunt(&[]).stdout).into_owned();
    assert!(
        table.contains("Brute force then success (User=bob; 4 events)"),
        "{table}"
    );
    let csv = String::from_utf8_lossy(&hunt(&["--format", "csv"]).stdout).into_owned();
    assert!(csv.starts_with(
        "rule_id,rule_title,level,tags,file,index,timestamp,record_id,group,event_count"
    ));
    assert!(csv.contains(",SourceIp=203.0.113.50,3"), "{csv}");
}

#[test]
fn hunt_writes_correlations_to_sarif() {
    let out = hunt(&["--format", "sarif", "--level", "medium"]);
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let results = run["results"].as_array().expect("results");
    let ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "7b0d4f5e-2c61-4e0f-9a51-3f7d1c2b9e10",
            "5d2e6a3f-0b84-4c1e-a1f7-9e3c8b2d4a32"
        ]
    );
    assert_eq!(results[0]["level"], "error");
    assert_eq!(results[0]["properties"]["group"]["User"], "bob");
    assert_eq!(
        results[0]["properties"]["events"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn hunt_names_an_unknown_rule_a_correlation_references() {
    let dir = tempfile::tempdir().expect("tmp");
    let rules = dir.path().join("bad.yml");
    let text = std::fs::read_to_string(fixture("rules.yml")).expect("read")
        + "---\ntitle: Dangling\ncorrelation: {type: event_count, rules: [no_such_rule], \
           group-by: [User], timespan: 1m, condition: {gte: 1}}\n";
    std::fs::write(&rules, text).expect("write");
    let out = Command::new(bin())
        .arg("hunt")
        .arg(fixture("events.jsonl"))
        .arg("--rules")
        .arg(&rules)
        .output()
        .expect("run hunt");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rule not loaded")
            && err.contains("\"no_such_rule\"")
            && err.contains("Dangling"),
        "{err}"
    );
}

#[test]
fn hunt_rules_test_shows_correlation_hits() {
    let out = Command::new(bin())
        .args(["rules", "test"])
        .arg(fixture("rules.yml"))
        .arg("--events")
        .arg(fixture("events.jsonl"))
        .output()
        .expect("run rules test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "correlation Brute force then success [7b0d4f5e-2c61-4e0f-9a51-3f7d1c2b9e10] \
             (temporal_ordered; User=bob): value 2, events 1, 2, 3, 4"
        ),
        "{text}"
    );
    assert!(text.contains("correlation Password spray"), "{text}");
}

/// Every detection Chainsaw 2.16.4 reports on the EVTX samples (with the SigmaHQ rules)
/// is found, except those of the one Linux rule Chainsaw tries on Windows events
/// (docs/sigma-compat.md explains why); and more are found than Chainsaw reports.
#[test]
fn hunt_finds_what_chainsaw_finds_on_the_evtx_samples() {
    let td = testdata();
    let expected = td.join("evtx-expected/chainsaw-2.16.4-detections.json");
    let Ok(text) = std::fs::read_to_string(&expected) else {
        eprintln!("skipped: {} missing", expected.display());
        return;
    };
    let rows: Vec<Value> = serde_json::from_str(&text).expect("expected detections");
    let dir = tempfile::tempdir().expect("temp dir");
    let out_file = dir.path().join("hits.jsonl");
    let rules = sigmahq_rules(&td);
    let out_file = out_file.to_string_lossy();
    hunt_on(
        &td.join("evtx"),
        &rules,
        &["--format", "jsonl", "--output", &out_file],
    );
    let key = |rule: &Value, file: &str, record: &Value| {
        let record = match record {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let name = std::path::Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (rule.as_str().unwrap_or_default().to_owned(), name, record)
    };
    let found: std::collections::HashSet<_> = std::fs::read_to_string(&*out_file)
        .expect("hits")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|d| {
            key(
                &d["rule_id"],
                d["file"].as_str().unwrap_or_default(),
                &d["record_id"],
            )
        })
        .collect();
    let missed: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            !found.contains(&key(
                &r["rule_id"],
                r["file"].as_str().unwrap_or_default(),
                &r["record_id"],
            ))
        })
        .collect();
    let linux = "Potentially Suspicious Long Filename Pattern - Linux";
    let unexplained: Vec<&&Value> = missed.iter().filter(|r| r["rule_title"] != linux).collect();
    assert!(
        unexplained.is_empty(),
        "Chainsaw detections not found: {unexplained:?}"
    );
    assert!(missed.len() <= 12, "{} missed", missed.len());
    assert!(
        found.len() > rows.len(),
        "{} found, Chainsaw {}",
        found.len(),
        rows.len()
    );
}

/// A JSON array and a stream of pretty-printed objects give the same detections, with
/// the same events, as the same events one per line; an element that is not an object
/// is reported and the others are matched.
#[test]
fn hunt_reads_arrays_and_streams_like_lines() {
    let lines = std::fs::read_to_string(fixture("events.jsonl")).expect("fixture");
    let events: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let array = dir.path().join("events.json");
    let mut with_junk = events.clone();
    with_junk.insert(2, Value::from(42));
    std::fs::write(&array, serde_json::to_vec(&with_junk).expect("array")).expect("write");
    let stream = dir.path().join("stream.json");
    let pretty: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string_pretty(e).expect("pretty"))
        .collect();
    std::fs::write(&stream, pretty.join("\n")).expect("write");
    let run = |input: &std::path::Path| {
        let out = hunt_on(input, &[fixture("rules.yml")], &["--format", "jsonl"]);
        let ds: Vec<(Value, Value)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|d| (d["rule_title"].clone(), d["event"].clone()))
            .collect();
        (ds, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (want, _) = run(&fixture("events.jsonl"));
    assert!(!want.is_empty());
    let (from_stream, _) = run(&stream);
    assert_eq!(from_stream, want);
    let (from_array, err) = run(&array);
    assert_eq!(from_array, want);
    assert!(err.contains("event 3 is not a JSON object"), "{err}");
    assert!(err.contains("(1 unreadable)"), "{err}");
    // A broken element is one unreadable event; the elements after it are matched.
    let mut texts: Vec<String> = events.iter().map(Value::to_string).collect();
    texts.insert(1, "{\"x\": tru}".to_owned());
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, format!("[{}]", texts.join(",\n"))).expect("write");
    let (from_broken, err) = run(&broken);
    assert_eq!(from_broken, want);
    assert!(err.contains("(1 unreadable)"), "{err}");
    // An array cut short: the events before the cut are matched, then the cut reported.
    let whole = serde_json::to_string(&events).expect("array");
    let cut = whole.rfind(",{").expect("two events");
    let truncated = dir.path().join("cut.json");
    std::fs::write(&truncated, &whole[..cut]).expect("write");
    let (from_cut, err) = run(&truncated);
    assert!(err.contains("the JSON array is not closed"), "{err}");
    let first: Vec<&Value> = events.iter().take(events.len() - 1).collect();
    let (want_cut, _) = {
        let lines = dir.path().join("first.jsonl");
        let text: Vec<String> = first.iter().map(|e| e.to_string()).collect();
        std::fs::write(&lines, text.join("\n")).expect("write");
        run(&lines)
    };
    assert_eq!(from_cut, want_cut);
}

/// A truncated EVTX file gives the events before the cut, a file that is not EVTX at all
/// is named with the reason, and the other files are hunted as if neither were there.
#[test]
fn hunt_goes_on_past_broken_evtx_files() {
    let td = testdata();
    let sample = td.join("evtx/Persistence/persistence_sysmon_11_13_1_shime_appfix.evtx");
    let Ok(bytes) = std::fs::read(&sample) else {
        eprintln!("skipped: {} missing", sample.display());
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a_whole.evtx"), &bytes).expect("write");
    // Cut inside the second chunk (chunks are 64 KiB after a 4 KiB header).
    std::fs::write(
        dir.path().join("b_cut.evtx"),
        bytes.get(..4096 + 65536 + 30_000).expect("long enough"),
    )
    .expect("write");
    std::fs::write(dir.path().join("c_junk.evtx"), b"not an event log at all").expect("write");
    let rules = sigmahq_rules(&td);
    let alone = hunt_on(&sample, &rules, &["--format", "jsonl"]);
    let all = hunt_on(dir.path(), &rules, &["--format", "jsonl"]);
    let err = String::from_utf8_lossy(&all.stderr);
    assert!(
        err.contains("c_junk.evtx: not a readable EVTX file"),
        "{err}"
    );
    assert!(err.contains("b_cut.evtx: ends inside a chunk"), "{err}");
    let per_file = |out: &Output, name: &str| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|d| d["file"].as_str().is_some_and(|f| f.ends_with(name)))
            .map(|d| (d["rule_id"].clone(), d["record_id"].clone()))
            .collect::<Vec<_>>()
    };
    let whole = per_file(&alone, "persistence_sysmon_11_13_1_shime_appfix.evtx");
    assert!(!whole.is_empty());
    assert_eq!(per_file(&all, "a_whole.evtx"), whole);
    // The cut file gives some of the same detections, in the same order, and no others.
    let cut = per_file(&all, "b_cut.evtx");
    assert!(
        !cut.is_empty() && cut.len() < whole.len(),
        "{} of {}",
        cut.len(),
        whole.len()
    );
    assert_eq!(cut.as_slice(), whole.get(..cut.len()).unwrap_or_default());
}
