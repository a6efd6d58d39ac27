//! Each correlation type and condition operator; sliding and closing windows.

use super::*;
use crate::correlate::{Engine, Limits};
use serde_json::{Value, json};

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
