//! The report data cache: the same report asked again is a hit (counted in
//! `mcpsec_report_cache_hits_total`) with the same figures; a status change or new
//! events make the next one a miss with the new figures; another tenant never gets an
//! entry of this one.

use crate::common::*;
use serde_json::Value;

fn metric(s: &Server, name: &str) -> u64 {
    let text = client()
        .get(s.url("/metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

fn report(s: &Server, key: &str, kind: &str) -> Value {
    let r = client()
        .get(s.url(&format!("/api/v1/reports/{kind}")))
        .bearer_auth(key)
        .send()
        .expect("report");
    assert_eq!(r.status(), 200);
    let mut v: Value = r.json().expect("json");
    assert!(v["generated_at"].is_string(), "{v}");
    v["generated_at"] = Value::Null;
    v
}

const HITS: &str = "mcpsec_report_cache_hits_total";
const MISSES: &str = "mcpsec_report_cache_misses_total";

/// Asks twice in a row until the second is a hit (a minute boundary between the two
/// makes a miss; it cannot fall twice in a few seconds).
fn asked_twice(s: &Server, key: &str, kind: &str) -> Value {
    for _ in 0..3 {
        let hits = metric(s, HITS);
        let first = report(s, key, kind);
        let second = report(s, key, kind);
        if metric(s, HITS) == hits + 1 {
            assert_eq!(first, second, "a hit has the same figures");
            return second;
        }
    }
    panic!("the second request was never a hit");
}

#[test]
fn report_data_is_cached_until_the_data_changes_and_per_tenant() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    let other = tenant_key(&data, "other", "analyst");
    let before = asked_twice(&server, TOKEN, "triage");
    assert!(before["alerts"]["total"].as_u64() > Some(0), "{before}");

    // A status change is new data: a miss, and the figures move.
    let alerts: Value = client()
        .get(server.url("/api/v1/alerts?limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .expect("alerts")
        .json()
        .expect("json");
    let id = alerts["alerts"][0]["id"].as_str().expect("an alert");
    let to = if alerts["alerts"][0]["status"] == "closed" {
        "acknowledged"
    } else {
        "closed"
    };
    let r = client()
        .patch(server.url(&format!("/api/v1/alerts/{id}")))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"status": to}))
        .send()
        .expect("patch");
    assert_eq!(r.status(), 200);
    let misses = metric(&server, MISSES);
    let after = report(&server, TOKEN, "triage");
    assert_eq!(metric(&server, MISSES), misses + 1, "new data is a miss");
    assert_ne!(before["triage"], after["triage"], "the figures moved");

    // Another tenant asking for the same report gets its own (empty) data.
    let misses = metric(&server, MISSES);
    let theirs = report(&server, &other, "triage");
    assert_eq!(metric(&server, MISSES), misses + 1);
    assert_eq!(theirs["tenant"], "other");
    assert_eq!(theirs["alerts"]["total"], 0, "{theirs}");

    // New events change the executive report's data version.
    let exec = asked_twice(&server, TOKEN, "executive");
    let total = exec["events"]["total"].as_u64().expect("total");
    assert_eq!(
        server.post_ndjson("{\"message\": \"cache-buster\"}\n").0,
        200
    );
    server.wait_for("*", total + 1);
    let misses = metric(&server, MISSES);
    let fresh = report(&server, TOKEN, "executive");
    assert_eq!(metric(&server, MISSES), misses + 1);
    assert_eq!(fresh["events"]["total"].as_u64(), Some(total + 1));
}
