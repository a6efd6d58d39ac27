//! Each correlation type and condition operator, windows, resets and chains.

use super::{CorrelationHit, Engine, Limits};
use crate::{FieldMapping, RuleSet, RuleSetBuilder};
use serde_json::{Map, Value, json};

/// Base rules `a`, `b`, `c` match events whose `r` field is their name.
const BASE: &str = "
title: A
id: rule-a
name: a
logsource: {product: test}
detection: {sel: {r: a}, condition: sel}
---
title: B
name: b
logsource: {product: test}
detection: {sel: {r: b}, condition: sel}
---
title: C
name: c
logsource: {product: test}
detection: {sel: {r: c}, condition: sel}
";

pub(crate) fn build(text: &str) -> RuleSet {
    let mut b = RuleSetBuilder::new(FieldMapping::empty());
    b.add_text(text, None);
    let r = b.build();
    assert!(
        r.errors.is_empty(),
        "{:?}",
        r.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
    r.ruleset
}

fn with_base(corr: &str) -> RuleSet {
    build(&format!("{BASE}---\n{corr}"))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Feeds `(seconds, event)` pairs through matching and the engine; event refs are the
/// positions. `finish` closes the open windows at the end.
pub(crate) fn feed(
    set: &RuleSet,
    engine: &mut Engine<u64>,
    events: &[(i64, Value)],
) -> Vec<CorrelationHit<u64>> {
    let mut out = Vec::new();
    for (i, (t, v)) in events.iter().enumerate() {
        let m = obj(v.clone());
        for r in set.matches(&m) {
            out.extend(engine.observe(&r.meta, &m, t * 1000, i as u64));
        }
    }
    out
}

fn run(set: &RuleSet, events: &[(i64, Value)]) -> Vec<CorrelationHit<u64>> {
    let mut e = Engine::new(set, Limits::default());
    let mut hits = feed(set, &mut e, events);
    hits.extend(e.finish());
    hits
}

fn ev(r: &str, host: &str) -> Value {
    json!({"r": r, "host": host})
}

fn count_rule(cond: &str) -> RuleSet {
    with_base(&format!(
        "title: Count\nid: count\nlevel: high\ncorrelation: {{type: event_count, rules: [a], \
         group-by: [host], timespan: 1m, condition: {{{cond}}}}}"
    ))
}

#[test]
fn event_count_fires_once_per_satisfied_window() {
    let set = count_rule("gte: 3");
    let events: Vec<(i64, Value)> = (0..7).map(|i| (i, ev("a", "h1"))).collect();
    let hits = run(&set, &events);
    // Fires at the 3rd and 6th event; the 7th starts a window that never fills.
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].events, vec![0, 1, 2]);
    assert_eq!(hits[0].value, 3.0);
    assert_eq!(hits[0].group, vec![("host".to_owned(), "h1".to_owned())]);
    assert_eq!((hits[0].window_start_ms, hits[0].window_end_ms), (0, 2000));
    assert_eq!(hits[1].events, vec![3, 4, 5]);
    assert_eq!(hits[0].meta.level.as_deref(), Some("high"));
}

#[test]
fn event_count_groups_separately() {
    let set = count_rule("gte: 2");
    let hits = run(
        &set,
        &[(0, ev("a", "h1")), (1, ev("a", "h2")), (2, ev("b", "h1"))],
    );
    assert!(hits.is_empty());
}

#[test]
fn sliding_window_drops_old_events() {
    let set = count_rule("gte: 3");
    // 0s and 15s leave the window before 70s fills it; 70s, 80s, 95s are within a minute.
    let t = [0, 15, 70, 80, 95];
    let events: Vec<(i64, Value)> = t.iter().map(|s| (*s, ev("a", "h"))).collect();
    let hits = run(&set, &events);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].events, vec![2, 3, 4]);
    assert_eq!(hits[0].window_start_ms, 70_000);
}

#[test]
fn every_operator_and_ranges() {
    // Three events within the window, then the end of input.
    let cases = [
        ("gt: 2", true),
        ("gt: 3", false),
        ("gte: 3", true),
        ("gte: 4", false),
        ("lt: 4", true),
        ("lt: 3", false),
        ("lte: 3", true),
        ("lte: 2", false),
        ("eq: 3", true),
        ("eq: 2", false),
        ("neq: 2", true),
        ("neq: 3", false),
        ("gt: 2, lte: 3", true),
        ("gt: 3, lte: 10", false),
        ("gte: 1, lt: 3", false),
    ];
    for (cond, expect) in cases {
        let set = count_rule(cond);
        let events: Vec<(i64, Value)> = (0..3).map(|i| (i, ev("a", "h"))).collect();
        let hits = run(&set, &events);
        assert_eq!(!hits.is_empty(), expect, "{cond}: {hits:?}");
        if let Some(h) = hits.first() {
            assert_eq!(h.value, 3.0, "{cond}");
        }
    }
}

#[test]
fn upper_bounds_wait_for_the_window_to_close() {
    let set = count_rule("lt: 3");
    let mut e = Engine::new(&set, Limits::default());
    // One event would satisfy `lt: 3` at once; the window decides only when it is over.
    assert!(feed(&set, &mut e, &[(0, ev("a", "h")), (10, ev("a", "h"))]).is_empty());
    // An event after the window closes it (and opens the next one).
    let hits = feed(&set, &mut e, &[(100, ev("a", "h"))]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].events, vec![0, 1]);
    assert!(
        e.advance(150_000).is_empty(),
        "the new window is still open"
    );
    let late = e.advance(161_000);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].event_count, 1);
}

#[test]
fn value_count_counts_distinct_values_and_tuples() {
    let set = with_base(
        "title: V\ncorrelation: {type: value_count, rules: [a], group-by: [host], timespan: 1h, \
         condition: {field: user, gte: 3}}",
    );
    let u = |user: &str| json!({"r": "a", "host": "h", "user": user});
    let hits = run(
        &set,
        &[
            (0, u("x")),
            (1, u("x")),
            (2, u("y")),
            (3, json!({"r": "a", "host": "h"})),
            (4, u("z")),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, 3.0);
    assert_eq!(hits[0].events, vec![0, 1, 2, 4]);

    let set = with_base(
        "title: V2\ncorrelation: {type: value_count, rules: [a], group-by: [host], timespan: 1h, \
         condition: {field: [user, domain], gte: 2}}",
    );
    let u = |user: &str, d: &str| json!({"r": "a", "host": "h", "user": user, "domain": d});
    assert!(run(&set, &[(0, u("x", "d")), (1, u("x", "d"))]).is_empty());
    assert_eq!(run(&set, &[(0, u("x", "d")), (1, u("x", "e"))]).len(), 1);
}

fn temporal(kind: &str) -> RuleSet {
    with_base(&format!(
        "title: T\ncorrelation: {{type: {kind}, rules: [a, b, c], group-by: [host], timespan: 5m}}"
    ))
}

#[test]
fn temporal_any_order_within_the_window() {
    let set = temporal("temporal");
    let hits = run(
        &set,
        &[
            (0, ev("c", "h")),
            (10, ev("a", "h")),
            (20, ev("a", "x")),
            (30, ev("b", "h")),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, 3.0);
    assert_eq!(hits[0].events, vec![0, 1, 3]);
    // Too far apart.
    assert!(
        run(
            &set,
            &[(0, ev("c", "h")), (10, ev("a", "h")), (400, ev("b", "h"))]
        )
        .is_empty()
    );
}

#[test]
fn temporal_condition_counts_rules() {
    let set = with_base(
        "title: T2\ncorrelation: {type: temporal, rules: [a, b, c], group-by: [host], \
         timespan: 5m, condition: {gte: 2}}",
    );
    let hits = run(
        &set,
        &[(0, ev("a", "h")), (1, ev("a", "h")), (2, ev("c", "h"))],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, 2.0);
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let set = temporal("temporal_ordered");
    assert!(
        run(
            &set,
            &[(0, ev("b", "h")), (1, ev("a", "h")), (2, ev("c", "h"))]
        )
        .is_empty()
    );
    let hits = run(
        &set,
        &[
            (0, ev("b", "h")),
            (1, ev("a", "h")),
            (2, ev("c", "h")),
            (3, ev("b", "h")),
            (4, ev("c", "h")),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].window_end_ms, 4000);
    // The first event before the window's end counts too: a at 1, b at 3, c at 4.
    assert_eq!(hits[0].event_count, 5);
}

fn metric(kind: &str, cond: &str) -> RuleSet {
    with_base(&format!(
        "title: M\ncorrelation: {{type: {kind}, rules: [a], group-by: [host], timespan: 1h, \
         condition: {{field: bytes, {cond}}}}}"
    ))
}

fn bytes(n: Value) -> Value {
    json!({"r": "a", "host": "h", "bytes": n})
}

#[test]
fn value_sum_skips_values_that_are_not_numbers() {
    let set = metric("value_sum", "gt: 1000");
    let mut e = Engine::new(&set, Limits::default());
    let hits = feed(
        &set,
        &mut e,
        &[
            (0, bytes(json!(400))),
            (1, bytes(json!("400"))),
            (2, bytes(json!("lots"))),
            (3, bytes(json!({"x": 1}))),
            (4, bytes(json!(200.5))),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, 1000.5);
    assert_eq!(hits[0].events, vec![0, 1, 4]);
    assert_eq!(e.stats().missing_value, 2);
}

#[test]
fn value_avg_with_a_float_threshold() {
    let set = metric("value_avg", "gt: 500.5");
    let low = run(&set, &[(0, bytes(json!(600))), (1, bytes(json!(100)))]);
    assert!(low.is_empty(), "avg 350 after the window: {low:?}");
    let high = run(&set, &[(0, bytes(json!(600))), (1, bytes(json!(402)))]);
    assert_eq!(high.len(), 1);
    assert_eq!(high[0].value, 501.0);
}

#[test]
fn value_percentile_and_median() {
    let events: Vec<(i64, Value)> = (1..=100).map(|i| (i, bytes(json!(i)))).collect();
    let p95 = run(
        &metric("value_percentile", "percentile: 95, gte: 95"),
        &events,
    );
    assert_eq!(p95.len(), 1);
    assert!((p95[0].value - 95.05).abs() < 1e-9, "{}", p95[0].value);
    assert!(
        run(
            &metric("value_percentile", "percentile: 95, gt: 96"),
            &events
        )
        .is_empty()
    );
    let med = run(&metric("value_median", "eq: 50.5"), &events);
    assert_eq!(med.len(), 1);
}

#[test]
fn value_percentile_without_percentile_finds_rare_values() {
    // The specification's example: a process name seen in at most 1 % of the events.
    let set = with_base(
        "title: Rare\ncorrelation: {type: value_percentile, rules: [a], group-by: [host], \
         timespan: 24h, condition: {field: Image, lte: 1}}",
    );
    let p = |img: &str| json!({"r": "a", "host": "h", "Image": img});
    let mut events: Vec<(i64, Value)> = (0..199).map(|i| (i, p("svchost.exe"))).collect();
    assert!(run(&set, &events).is_empty());
    events.push((300, p("evil.exe")));
    let hits = run(&set, &events);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, 0.5);
}

#[test]
fn missing_group_fields_are_not_correlated() {
    let set = count_rule("gte: 1");
    let mut e = Engine::new(&set, Limits::default());
    let hits = feed(
        &set,
        &mut e,
        &[(0, json!({"r": "a"})), (1, json!({"r": "a", "host": null}))],
    );
    assert!(hits.is_empty());
    assert_eq!(e.stats().missing_group, 2);
    assert_eq!(e.group_count(), 0);
}

#[test]
fn no_group_by_is_one_group() {
    let set = with_base(
        "title: All\ncorrelation: {type: event_count, rules: [a, b], timespan: 1m, \
         condition: {gte: 2}}",
    );
    let hits = run(
        &set,
        &[(0, json!({"r": "a"})), (1, json!({"r": "b", "host": "x"}))],
    );
    assert_eq!(hits.len(), 1);
    assert!(hits[0].group.is_empty());
}

#[test]
fn aliases_map_fields_per_rule() {
    // The specification's example, with nested and flat dotted fields.
    let set = build(
        "
title: Internal error
name: internal_error
logsource: {product: test}
detection: {sel: {http.response.status_code: 500}, condition: sel}
---
title: New connection
name: new_network_connection
logsource: {product: test}
detection: {sel: {event.category: network, event.type: connection}, condition: sel}
---
title: Error then connection
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip: {internal_error: destination.ip, new_network_connection: source.ip}
        remote_ip: {internal_error: source.ip, new_network_connection: destination.ip}
",
    );
    let err = json!({"http": {"response": {"status_code": 500}},
                     "destination": {"ip": "10.0.0.5"}, "source": {"ip": "203.0.113.9"}});
    let conn = |src: &str, dst: &str| {
        json!({"event.category": "network", "event.type": "connection",
               "source.ip": src, "destination.ip": dst})
    };
    let hits = run(
        &set,
        &[(0, err.clone()), (5, conn("10.0.0.6", "203.0.113.9"))],
    );
    assert!(hits.is_empty(), "other internal address");
    let hits = run(
        &set,
        &[(0, err.clone()), (5, conn("10.0.0.5", "203.0.113.9"))],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].group,
        vec![
            ("internal_ip".to_owned(), "10.0.0.5".to_owned()),
            ("remote_ip".to_owned(), "203.0.113.9".to_owned())
        ]
    );
    assert!(run(&set, &[(0, err), (11, conn("10.0.0.5", "203.0.113.9"))]).is_empty());
}

#[test]
fn generate_decides_whether_referenced_rules_report() {
    let set = with_base(
        "title: G\ncorrelation: {type: temporal, rules: [a, b], group-by: [host], timespan: 1m}\n\
         ---\ntitle: G2\ncorrelation: {type: event_count, rules: [b], group-by: [host], \
         timespan: 1m, condition: {gte: 2}, generate: true}",
    );
    let e: Engine<u64> = Engine::new(&set, Limits::default());
    let meta = |i: usize| set.rules()[i].meta.clone();
    assert!(
        !e.generates(&meta(0)),
        "a: only referenced with generate false"
    );
    assert!(e.generates(&meta(1)), "b: one correlation generates it");
    assert!(e.generates(&meta(2)), "c: not referenced");
    assert!(e.wants(&meta(0)) && !e.wants(&meta(2)));
    assert!(e.referenced_rules().contains("rule-a"));
}

#[test]
fn chained_correlations_follow_the_specification_example() {
    let set = build(
        "
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules: [multiple_failed_login, successful_login]
    group-by: [User]
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [User]
    timespan: 10m
    condition: {gte: 10}
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource: {product: windows, service: security}
detection: {selection: {EventID: [529, 4625]}, condition: selection}
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource: {product: windows, service: security}
detection: {selection: {EventID: [528, 4624]}, condition: selection}
",
    );
    let login = |id: u32, user: &str| json!({"EventID": id, "User": user});
    let mut events: Vec<(i64, Value)> = (0..10).map(|i| (i, login(4625, "bob"))).collect();
    events.push((20, login(4625, "eve")));
    events.push((30, login(4624, "eve")));
    events.push((40, login(4624, "bob")));
    let mut e = Engine::new(&set, Limits::default());
    let hits = feed(&set, &mut e, &events);
    let names: Vec<&str> = hits.iter().map(|h| h.meta.title.as_str()).collect();
    assert_eq!(
        names,
        [
            "Multiple failed logons",
            "Correlation - Multiple Failed Logins Followed by Successful Login"
        ]
    );
    let outer = &hits[1];
    assert_eq!(outer.group, vec![("User".to_owned(), "bob".to_owned())]);
    assert_eq!(outer.events, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12]);
    assert_eq!(outer.window_start_ms, 0, "from the inner hit's first event");
    assert_eq!(outer.window_end_ms, 40_000);
    assert!(
        !e.reports(&hits[0].meta),
        "the inner correlation is not reported alone"
    );
    assert!(e.reports(&outer.meta));
    assert!(!e.generates(&set.rules()[0].meta));
}

#[test]
fn references_are_checked_when_the_set_is_built() {
    let mut b = RuleSetBuilder::new(FieldMapping::empty());
    b.add_text(
        &format!(
            "{BASE}---\ntitle: Bad\nid: bad\ncorrelation: {{type: temporal, rules: [a, nope], \
             timespan: 1m}}\n---\ntitle: On bad\ncorrelation: {{type: event_count, rules: [bad], \
             timespan: 1m, condition: {{gte: 1}}}}\n---\ntitle: Loop\nname: loop\ncorrelation: \
             {{type: event_count, rules: [loop], timespan: 1m, condition: {{gte: 1}}}}\n---\n\
             title: Twice\ncorrelation: {{type: temporal, rules: [rule-a, a], timespan: 1m}}\n---\n\
             title: Alias\ncorrelation: {{type: temporal, rules: [a, b], group-by: [x], \
             timespan: 1m, aliases: {{x: {{a: f, zz: g}}}}}}\n---\ntitle: Good\ncorrelation: \
             {{type: temporal, rules: [rule-a, c], timespan: 1m}}"
        ),
        None,
    );
    let r = b.build();
    let errors: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("twice, as \"rule-a\" and \"a\""))
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"nope\"") && e.contains("\"bad\""))
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("correlation \"bad\", which did not load"))
    );
    assert!(errors.iter().any(|e| e.contains("loops")));
    assert!(errors.iter().any(|e| e.contains("\"zz\"")));
    assert_eq!(r.ruleset.correlations().len(), 1);
    assert_eq!(r.loaded, 4);
}

#[test]
fn events_over_all_groups_are_capped() {
    let set = count_rule("gte: 100");
    let limits = Limits {
        max_events: 50,
        ..Limits::default()
    };
    let mut e = Engine::new(&set, limits);
    let events: Vec<(i64, Value)> = (0..1000)
        .map(|i| (i / 20, ev("a", &format!("h{}", i % 20))))
        .collect();
    assert!(feed(&set, &mut e, &events).is_empty());
    let held: usize = e.corrs[0].groups.values().map(|g| g.entries.len()).sum();
    assert!(held <= 50, "{held}");
    assert_eq!(held, e.corrs[0].held);
    let s = e.stats();
    assert_eq!(s.evicted_events + held as u64, 1000, "{s:?}");
}

#[test]
fn long_values_stay_distinct() {
    let long = |c: char| format!("{}{c}", "x".repeat(5000));
    let a = super::value_text(&json!(long('a'))).unwrap_or_default();
    let b = super::value_text(&json!(long('b'))).unwrap_or_default();
    assert!(a.len() <= super::MAX_VALUE_LEN && b.len() <= super::MAX_VALUE_LEN);
    assert_ne!(a, b);
    assert_eq!(
        super::value_text(&json!("é".repeat(300))).map(|s| s.len() <= 256),
        Some(true)
    );
}

#[test]
fn the_engine_and_its_state_can_move_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Engine<u64>>();
    shared::<Engine<String>>();
    shared::<super::CorrelationState<String>>();
    shared::<CorrelationHit<String>>();
}

#[test]
fn rules_can_be_observed_by_id_or_name() {
    let set = count_rule("gte: 2");
    let mut e: Engine<u64> = Engine::new(&set, Limits::default());
    let m = obj(ev("a", "h"));
    assert!(e.observe_by_name("rule-a", &m, 0, 0).is_empty());
    assert_eq!(e.observe_by_name("a", &m, 1, 1).len(), 1);
    assert!(e.observe_by_name("unknown", &m, 2, 2).is_empty());
    assert_eq!(e.stats().observed, 2);
}
