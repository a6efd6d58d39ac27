use super::*;
use crate::rule::SigmaValue;

const RULE: &str = r#"
title: Test rule
id: 11111111-2222-3333-4444-555555555555
status: test
level: high
tags:
    - attack.execution
    - attack.t1059.001
    - attack.g0016
    - cve.2021-1234
references: [https://example.invalid]
falsepositives: Admin scripts
related:
    - id: 00000000-0000-0000-0000-000000000000
      type: derived
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\powershell.exe'
        CommandLine|contains|all: ['-enc', 'bypass']
    keywords:
        - 'mimikatz'
        - 42
    empty:
        Field: null
    condition: selection or keywords
fields: [CommandLine]
"#;

#[test]
fn metadata_detection_and_attack_tags() {
    let docs = parse_documents(RULE, None).expect("yaml");
    let SigmaDocument::Rule(r) = docs[0].as_ref().expect("rule") else {
        panic!("not a rule")
    };
    assert_eq!(r.meta.level.as_deref(), Some("high"));
    assert_eq!(r.meta.attack.techniques, vec!["T1059.001"]);
    assert_eq!(r.meta.attack.tactics, vec!["execution"]);
    assert_eq!(r.meta.attack.other, vec!["G0016"]);
    assert_eq!(r.meta.falsepositives, vec!["Admin scripts"]);
    assert_eq!(r.meta.related[0].kind, "derived");
    assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
    assert_eq!(r.detection.searches.len(), 3);
    let kw = &r.detection.searches[1].1.groups[0][0];
    assert!(kw.field.is_none());
    assert_eq!(kw.values[1], SigmaValue::Num(42.0, "42".into()));
    assert_eq!(
        r.detection.searches[2].1.groups[0][0].values,
        vec![SigmaValue::Null]
    );
}

#[test]
fn collections_global_repeat_reset() {
    let text = r#"
action: global
title: Base
logsource: {product: windows}
detection:
    condition: selection
---
detection:
    selection: {EventID: 1}
---
action: repeat
detection:
    selection: {EventID: 2}
---
action: reset
---
title: Alone
logsource: {product: linux}
detection:
    sel: {a: b}
    condition: sel
"#;
    let docs = parse_documents(text, None).expect("yaml");
    assert_eq!(docs.len(), 3);
    let titles: Vec<String> = docs
        .iter()
        .map(|d| match d.as_ref().expect("ok") {
            SigmaDocument::Rule(r) => r.meta.title.clone(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(titles, vec!["Base", "Base", "Alone"]);
}

#[test]
fn broken_yaml_reports_file_and_line() {
    let text = "title: x\ndetection:\n  sel: [a, b\n  condition: sel\n";
    let e = parse_documents(text, Some(std::path::Path::new("r.yml"))).expect_err("broken");
    let at = e.location();
    assert_eq!(at.file.as_deref(), Some(std::path::Path::new("r.yml")));
    assert!(at.line.is_some(), "{e}");
}

#[test]
fn unknown_modifier_reports_line_and_rule() {
    let text = "title: Bad\nid: abc\nlogsource: {product: windows}\ndetection:\n  sel:\n    CommandLine|contians: x\n  condition: sel\n";
    let docs = parse_documents(text, Some(std::path::Path::new("bad.yml"))).expect("yaml");
    let e = docs[0].as_ref().expect_err("unknown modifier");
    let at = e.location();
    assert_eq!(at.line, Some(6), "{e}");
    assert_eq!(at.rule.as_deref(), Some("abc"));
    assert!(e.to_string().contains("contians"));
}

#[test]
fn filters_and_correlations_parse() {
    let text = r#"
title: Filter admins
logsource: {product: windows, category: process_creation}
filter:
    rules: [11111111-2222-3333-4444-555555555555]
    selection:
        User|startswith: adm_
    condition: not selection
---
title: Many failures
id: corr-1
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 5m
    condition: {gte: 10}
---
title: Temporal
correlation:
    type: temporal_ordered
    rules: [a, b]
    group-by: [host]
    timespan: 1h
    aliases:
        host: {a: Computer, b: hostname}
    generate: true
"#;
    let docs = parse_documents(text, None).expect("yaml");
    assert!(matches!(docs[0], Ok(SigmaDocument::Filter(_))));
    let Ok(SigmaDocument::Correlation(c)) = &docs[1] else {
        panic!("correlation")
    };
    assert_eq!(c.timespan.as_secs(), 300);
    assert!(
        c.condition
            .as_ref()
            .is_some_and(|c| c.holds(10.0) && !c.holds(9.0))
    );
    let Ok(SigmaDocument::Correlation(t)) = &docs[2] else {
        panic!("temporal")
    };
    assert!(t.generate);
    assert_eq!(t.aliases["host"]["b"], "hostname");
}

#[test]
fn invalid_correlations_are_errors() {
    for bad in [
        "title: x\ncorrelation: {type: nope, rules: [a], timespan: 1m}",
        "title: x\ncorrelation: {type: event_count, rules: [a], timespan: 1m}",
        "title: x\ncorrelation: {type: value_count, rules: [a], timespan: 1m, condition: {gt: 1}}",
        "title: x\ncorrelation: {type: event_count, rules: [a], timespan: 1q, condition: {gt: 1}}",
        "title: x\ncorrelation: {type: temporal, rules: [a], timespan: 1m}",
    ] {
        let docs = parse_documents(bad, None).expect("yaml");
        assert!(docs[0].is_err(), "{bad}");
    }
}

#[test]
fn correlation_errors_say_what_is_wrong() {
    for (bad, says) in [
        (
            "type: value_sum, rules: [a], timespan: 1m, condition: {gt: 1}",
            "exactly one condition.field",
        ),
        (
            "type: value_avg, rules: [a], timespan: 1m, condition: {field: [x, y], gt: 1}",
            "exactly one",
        ),
        (
            "type: value_avg, rules: [a], timespan: 1m",
            "needs a condition",
        ),
        (
            "type: event_count, rules: [a], timespan: 1m, condition: {gt: 1.5}",
            "whole number",
        ),
        (
            "type: event_count, rules: [a], timespan: 1m, condition: {field: x, gt: 1}",
            "not allowed",
        ),
        (
            "type: event_count, rules: [a], timespan: 1m, condition: {gt: many}",
            "needs a number",
        ),
        (
            "type: event_count, rules: [a], timespan: 1m, condition: {above: 1}",
            "\"above\"",
        ),
        (
            "type: event_count, rules: [a], timespan: 1m, condition: {field: x}",
            "no comparison",
        ),
        (
            "type: event_count, rules: [a, a], timespan: 1m, condition: {gt: 1}",
            "twice",
        ),
        (
            "type: event_count, rules: [a], timespan: 0m, condition: {gt: 1}",
            "longer than zero",
        ),
        (
            "type: value_sum, rules: [a], timespan: 1m, condition: {field: x, percentile: 5, gt: 1}",
            "only for value_percentile",
        ),
        (
            "type: value_percentile, rules: [a], timespan: 1m, condition: {field: x, percentile: 101, gt: 1}",
            "0 to 100",
        ),
        (
            "type: temporal, rules: [a, b], timespan: 1m, generate: yes",
            "true or false",
        ),
        (
            "type: value_max, rules: [a], timespan: 1m",
            "unknown correlation type",
        ),
    ] {
        let text = format!("title: x\ncorrelation: {{{bad}}}");
        let docs = parse_documents(&text, None).expect("yaml");
        let e = docs[0].as_ref().expect_err(bad);
        assert!(e.to_string().contains(says), "{bad}: {e}");
    }
}

#[test]
fn metric_correlations_parse() {
    use crate::correlation::{CorrelationType, CountOp};
    let text = "title: x\ncorrelation: {type: value_percentile, rules: [a], group-by: [h], \
                timespan: 1h, condition: {field: bytes, percentile: 95, gt: 1000.5, lte: 5000}}";
    let docs = parse_documents(text, None).expect("yaml");
    let Ok(SigmaDocument::Correlation(c)) = &docs[0] else {
        panic!("{:?}", docs[0].as_ref().err())
    };
    assert_eq!(c.kind, CorrelationType::ValuePercentile);
    let cond = c.condition.as_ref().expect("condition");
    assert_eq!(cond.fields, ["bytes"]);
    assert_eq!(cond.percentile, Some(95.0));
    assert_eq!(
        cond.comparisons,
        [(CountOp::Gt, 1000.5), (CountOp::Lte, 5000.0)]
    );
    assert!(!cond.only_lower_bounds());
}

/// The specification's own correlation examples parse.
#[test]
fn specification_examples_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sigma-spec/tests/schema/correlation");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("notice: {} is absent; skipping", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).expect("read");
        let docs = parse_documents(&text, Some(&e.path())).expect("yaml");
        for d in docs {
            let d = d.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(d, SigmaDocument::Correlation(_)));
            n += 1;
        }
    }
    assert_eq!(n, 8);
}

#[test]
fn hostile_documents_do_not_panic() {
    for t in [
        "",
        "---\n---\n",
        "[1, 2]",
        "title: x",
        "title: x\nlogsource: {}\ndetection: 5",
        "title: x\nlogsource: {}\ndetection: {condition: sel}",
        "title: x\nlogsource: {}\ndetection: {sel: {a: {b: c}}, condition: sel}",
        "title: x\nlogsource: {}\ndetection: {sel: [[a]], condition: sel}",
        "action: repeat\ntitle: x",
        "title: [a]\n",
    ] {
        if let Ok(docs) = parse_documents(t, None) {
            for d in docs {
                let _ = d;
            }
        }
    }
}
