//! Grouping, aliases, generate, chains, reference checks and caps.

use super::*;
use crate::correlate::{CorrelationHit, Engine, Limits};
use crate::{FieldMapping, RuleSetBuilder};
use serde_json::{Value, json};

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
    let a = crate::correlate::values::value_text(&json!(long('a'))).unwrap_or_default();
    let b = crate::correlate::values::value_text(&json!(long('b'))).unwrap_or_default();
    assert!(
        a.len() <= crate::correlate::MAX_VALUE_LEN && b.len() <= crate::correlate::MAX_VALUE_LEN
    );
    assert_ne!(a, b);
    assert_eq!(
        crate::correlate::values::value_text(&json!("é".repeat(300))).map(|s| s.len() <= 256),
        Some(true)
    );
}

#[test]
fn the_engine_and_its_state_can_move_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Engine<u64>>();
    shared::<Engine<String>>();
    shared::<crate::correlate::CorrelationState<String>>();
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

#[test]
fn advance_frees_groups_whose_window_is_over() {
    let set = count_rule("gte: 5");
    let mut e = Engine::new(&set, Limits::default());
    feed(&set, &mut e, &[(0, ev("a", "h1")), (30, ev("a", "h2"))]);
    assert_eq!(e.group_count(), 2);
    assert!(e.advance(70_000).is_empty());
    assert_eq!(e.group_count(), 1, "h1's only event left the window");
    e.advance(100_000);
    assert_eq!(e.group_count(), 0);
}

#[test]
fn an_outer_correlation_may_group_by_a_field_the_inner_one_does_not() {
    // The specification's note: the inner correlation groups by ComputerName, the outer
    // one by User only.
    let set = build(
        "
title: Outer
correlation: {type: temporal_ordered, rules: [many_failed, success], group-by: [User],
              timespan: 10m}
---
title: Many failed
name: many_failed
correlation: {type: event_count, rules: [failed], group-by: [ComputerName], timespan: 10m,
              condition: {gte: 3}}
---
title: Failed
name: failed
logsource: {product: test}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: Success
name: success
logsource: {product: test}
detection: {sel: {EventID: 4624}, condition: sel}
",
    );
    let login = |id: u32, user: &str| json!({"EventID": id, "User": user, "ComputerName": "dc1"});
    let hits = run(
        &set,
        &[
            (0, login(4625, "bob")),
            (1, login(4625, "bob")),
            (2, login(4625, "bob")),
            (3, login(4624, "bob")),
        ],
    );
    let outer: Vec<&CorrelationHit<u64>> =
        hits.iter().filter(|h| h.meta.title == "Outer").collect();
    assert_eq!(outer.len(), 1, "{hits:?}");
    assert_eq!(outer[0].group, vec![("User".to_owned(), "bob".to_owned())]);
}
