//! Correlation engine limits, hostile input and persistence, through the public API.

use mcpsec_sigma::{CorrelationHit, CorrelationState, Engine, FieldMapping, Limits, RuleSet};
use mcpsec_sigma::{RuleMeta, RuleSetBuilder};
use serde_json::{Map, Value, json};

fn build(text: &str) -> RuleSet {
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

const RULES: &str = "
title: A
name: a
logsource: {product: test}
detection: {sel: {r: a}, condition: sel}
---
title: B
name: b
logsource: {product: test}
detection: {sel: {r: b}, condition: sel}
---
title: Count
id: count
correlation: {type: event_count, rules: [a], group-by: [host], timespan: 1m, condition: {gte: 3}}
---
title: Few
id: few
correlation: {type: event_count, rules: [b], group-by: [host], timespan: 1m, condition: {lt: 2}}
---
title: Users
id: users
correlation: {type: value_count, rules: [a, b], group-by: [host], timespan: 2m,
              condition: {field: user, gte: 2}}
---
title: Then
id: then
correlation: {type: temporal_ordered, rules: [a, b], group-by: [host], timespan: 30s}
---
title: Average
id: avg
correlation: {type: value_avg, rules: [a], group-by: [host], timespan: 1m,
              condition: {field: n, gt: 5}}
---
title: Chained
id: chained
correlation: {type: event_count, rules: [count], group-by: [host], timespan: 10m,
              condition: {gte: 2}}
";

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A deterministic mix of events over a few hosts and users.
fn events(n: u64) -> Vec<(i64, Map<String, Value>)> {
    let mut x: u64 = 42;
    let mut t = 0i64;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            t += ((x >> 33) % 20) as i64;
            let r = if (x >> 40).is_multiple_of(3) {
                "b"
            } else {
                "a"
            };
            let host = format!("h{}", (x >> 45) % 4);
            let user = format!("u{}", (x >> 50) % 5);
            let ev = json!({"r": r, "host": host, "user": user, "n": (x >> 20) % 11});
            (t * 1000, obj(ev))
        })
        .collect()
}

type Hit = (String, Vec<(String, String)>, u64, Vec<u64>, i64, i64, u64);

fn key(h: &CorrelationHit<u64>) -> Hit {
    (
        h.name().to_owned(),
        h.group.clone(),
        (h.value * 1000.0) as u64,
        h.events.clone(),
        h.window_start_ms,
        h.window_end_ms,
        h.event_count,
    )
}

fn feed(
    set: &RuleSet,
    e: &mut Engine<u64>,
    evs: &[(i64, Map<String, Value>)],
    first: u64,
) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, (t, m)) in evs.iter().enumerate() {
        for r in set.matches(m) {
            out.extend(e.observe(&r.meta, m, *t, first + i as u64).iter().map(key));
        }
    }
    out
}

#[test]
fn snapshot_and_restore_lose_nothing() {
    let set = build(RULES);
    let evs = events(3000);
    let mut one = Engine::new(&set, Limits::default());
    let mut expected = feed(&set, &mut one, &evs, 0);
    expected.extend(one.finish().iter().map(key));
    assert!(
        expected.len() > 50,
        "the mix exercises the rules: {}",
        expected.len()
    );
    for name in ["count", "few", "users", "then", "avg", "chained"] {
        assert!(expected.iter().any(|h| h.0 == name), "{name} fired");
    }

    let (a, b) = evs.split_at(1234);
    let mut first = Engine::new(&set, Limits::default());
    let mut got = feed(&set, &mut first, a, 0);
    let text = serde_json::to_string(&first.snapshot()).expect("serialize");
    drop(first);
    let state: CorrelationState<u64> = serde_json::from_str(&text).expect("deserialize");
    let mut second = Engine::new(&set, Limits::default());
    assert_eq!(second.restore(state), 0);
    got.extend(feed(&set, &mut second, b, a.len() as u64));
    got.extend(second.finish().iter().map(key));
    assert_eq!(got.len(), expected.len());
    if let Some(i) = (0..got.len()).find(|i| got[*i] != expected[*i]) {
        panic!("hit {i} differs: {:?} != {:?}", got[i], expected[i]);
    }
    assert_eq!(second.stats(), one.stats());
}

#[test]
fn restore_drops_windows_of_rules_that_changed_or_left() {
    let set = build(RULES);
    let mut e = Engine::new(&set, Limits::default());
    feed(&set, &mut e, &events(100), 0);
    let state = e.snapshot();
    let before = state.group_count();
    assert!(before > 0);
    // "count" is gone, "users" now has another timespan; the others stay.
    let changed = RULES
        .replace("title: Count\nid: count", "title: Count\nid: count2")
        .replace("rules: [count]", "rules: [count2]")
        .replace("timespan: 2m", "timespan: 3m");
    let set2 = build(&changed);
    let mut e2: Engine<u64> = Engine::new(&set2, Limits::default());
    let kept_before: usize = {
        let mut probe: Engine<u64> = Engine::new(&set, Limits::default());
        probe.restore(state.clone());
        probe.group_count()
    };
    let dropped = e2.restore(state);
    assert!(dropped > 0);
    assert_eq!(e2.group_count() + dropped, kept_before);
}

fn meta(name: &str) -> RuleMeta {
    RuleMeta {
        name: Some(name.to_owned()),
        title: name.to_owned(),
        ..RuleMeta::default()
    }
}

#[test]
fn a_million_distinct_groups_stay_within_the_cap() {
    let set = build(
        "title: A\nname: a\nlogsource: {product: test}\ndetection: {sel: {r: a}, condition: sel}\n\
         ---\ntitle: Users\ncorrelation: {type: value_count, rules: [a], group-by: [host], \
         timespan: 1h, condition: {field: user, gte: 2}}",
    );
    let limits = Limits {
        max_groups: 1000,
        ..Limits::default()
    };
    let mut e: Engine<u64> = Engine::new(&set, limits);
    let a = meta("a");
    let mut ev = Map::new();
    ev.insert("user".into(), Value::from("u"));
    for i in 0..1_000_000u64 {
        ev.insert("host".into(), Value::String(format!("host-{i}")));
        let hits = e.observe(&a, &ev, 1_000, i);
        assert!(hits.is_empty());
    }
    assert!(e.group_count() <= 1000, "{}", e.group_count());
    let s = e.stats();
    assert_eq!(
        s.evicted_groups + e.group_count() as u64,
        1_000_000,
        "{s:?}"
    );
}

#[test]
fn events_per_group_and_refs_per_hit_are_capped() {
    let set = build(
        "title: A\nname: a\nlogsource: {product: test}\ndetection: {sel: {r: a}, condition: sel}\n\
         ---\ntitle: Many\ncorrelation: {type: event_count, rules: [a], group-by: [host], \
         timespan: 1h, condition: {gte: 500}}\n---\ntitle: Too many\ncorrelation: {type: \
         event_count, rules: [a], group-by: [host], timespan: 1h, condition: {gte: 2000}}",
    );
    let limits = Limits {
        max_events_per_group: 1000,
        max_refs_per_hit: 10,
        ..Limits::default()
    };
    let mut e: Engine<u64> = Engine::new(&set, limits);
    let ev = obj(json!({"r": "a", "host": "h"}));
    let mut hits = Vec::new();
    for i in 0..5000u64 {
        hits.extend(e.observe(&meta("a"), &ev, i as i64, i));
    }
    assert_eq!(
        hits.len(),
        10,
        "every 500 events; `gte: 2000` can never be reached"
    );
    assert!(hits.iter().all(|h| h.name() == "Many"));
    assert_eq!(hits[0].events.len(), 10);
    assert_eq!(hits[0].event_count, 500);
    assert_eq!(hits[0].events[..9], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        hits[0].events[9], 499,
        "the event that completed the window"
    );
    assert_eq!(e.stats().evicted_events, 4000);
}

#[test]
fn hostile_values_do_not_break_the_engine() {
    let set = build(RULES);
    let mut e: Engine<u64> = Engine::new(&set, Limits::default());
    let huge = "x".repeat(1 << 20);
    let cases = [
        json!({"host": huge, "user": huge, "n": "NaN"}),
        json!({"host": {"deep": [1, 2, {"x": null}]}, "user": [], "n": 1e308}),
        json!({"host": true, "n": -1e308}),
        json!({"host": 5, "user": "\u{0}", "n": "inf"}),
    ];
    let mut t = i64::MIN;
    for (i, c) in cases.iter().enumerate() {
        for name in ["a", "b"] {
            e.observe(&meta(name), &obj(c.clone()), t, i as u64);
            t = t.saturating_add(i64::MAX);
        }
    }
    e.advance(i64::MAX);
    e.finish();
    let state = serde_json::to_string(&e.snapshot()).expect("serialize");
    assert!(state.len() < 64 * 1024, "values are cut: {}", state.len());
}

/// Engine throughput: matches observed per second over the mixed rule file, 1,000 hosts
/// (run with `--release --ignored`).
#[test]
#[ignore = "benchmark"]
fn bench_correlation_throughput() {
    let set = build(RULES);
    let mut x: u64 = 7;
    let evs: Vec<(i64, &str, Map<String, Value>)> = (0..1_000_000u64)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = if (x >> 40).is_multiple_of(3) {
                "b"
            } else {
                "a"
            };
            let ev = json!({"host": format!("h{}", (x >> 45) % 1000),
                            "user": format!("u{}", (x >> 50) % 50), "n": (x >> 20) % 11});
            ((i * 10) as i64, r, obj(ev))
        })
        .collect();
    let (a, b) = (meta("a"), meta("b"));
    let mut e: Engine<u64> = Engine::new(&set, Limits::default());
    let t = std::time::Instant::now();
    let mut hits = 0usize;
    for (i, (time, r, ev)) in evs.iter().enumerate() {
        let m = if *r == "a" { &a } else { &b };
        hits += e.observe(m, ev, *time, i as u64).len();
    }
    let secs = t.elapsed().as_secs_f64();
    let snap = std::time::Instant::now();
    let state = serde_json::to_vec(&e.snapshot()).expect("serialize");
    let snap_secs = snap.elapsed().as_secs_f64();
    hits += e.finish().len();
    eprintln!(
        "{} matches, {hits} hits in {secs:.2}s: {:.0} matches/s (one thread); snapshot \
         {} bytes in {:.3}s; {:?}",
        evs.len(),
        evs.len() as f64 / secs,
        state.len(),
        snap_secs,
        e.stats()
    );
}

#[test]
fn restore_applies_the_new_engine_limits() {
    let set = build(RULES);
    let mut e = Engine::new(&set, Limits::default());
    let evs: Vec<(i64, Map<String, Value>)> = (0..40)
        .map(|i| {
            (
                i * 1000,
                obj(json!({"r": "a", "host": format!("h{i}"), "user": "u"})),
            )
        })
        .collect();
    feed(&set, &mut e, &evs, 0);
    let state = e.snapshot();
    let small = Limits {
        max_groups: 2,
        ..Limits::default()
    };
    let mut e2: Engine<u64> = Engine::new(&set, small);
    e2.restore(state);
    // Three correlations hold groups for rule a (avg has no `n` to read): at most two
    // each, the most recently updated ones.
    assert!(e2.group_count() <= 3 * 2, "{}", e2.group_count());
    let hits = feed(
        &set,
        &mut e2,
        &[(40_000, obj(json!({"r": "a", "host": "h39", "user": "v"})))],
        40,
    );
    assert!(
        hits.iter().any(|h| h.0 == "users"),
        "h39 was kept: its second user completes value_count"
    );
}
