//! A 2xx means durable: kill -9 mid-stream loses no acknowledged event and duplicates none.

use crate::common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[test]
fn kill_9_mid_stream_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let m = mark();
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url("/api/v1/events");
    let feeder = {
        let (acked, stop, m) = (acked.clone(), stop.clone(), m.clone());
        std::thread::spawn(move || {
            let c = client();
            for batch in 0..100u64 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let body: String = (0..1000u64)
                    .map(|i| {
                        format!(
                            "{{\"message\":\"kill test {m}\",\"mark\":\"{m}\",\"n\":{}}}\n",
                            batch * 1000 + i
                        )
                    })
                    .collect();
                match c.post(&url).bearer_auth(TOKEN).body(body).send() {
                    Ok(r) if r.status().is_success() => acked
                        .lock()
                        .expect("lock")
                        .extend((0..1000).map(|i| batch * 1000 + i)),
                    _ => return,
                }
            }
        })
    };
    // Kill once a good part of the 100k events is acknowledged, while requests are in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acked.lock().expect("lock").len() < 30_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    feeder.join().expect("feeder");
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 30_000,
        "only {} acked before the deadline",
        acked.len()
    );

    let server = Server::start(&data);
    let q = format!("mark:{m}");
    let total = server.wait_for(&q, acked.len() as u64);
    let seen = server.collect_field(&q, "n");
    assert_eq!(seen.len() as u64, total);
    assert_eq!(unique(&seen), seen.len(), "duplicated events after restart");
    let seen: std::collections::HashSet<u64> = seen.into_iter().collect();
    let lost = acked.iter().filter(|n| !seen.contains(n)).count();
    assert_eq!(
        lost,
        0,
        "{lost} acknowledged events lost (acked {})",
        acked.len()
    );
}

#[test]
fn sigterm_drains_and_restart_needs_no_reindexing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let m = mark();
    let body: String = (0..5000)
        .map(|i| format!("{{\"mark\":\"{m}\",\"n\":{i}}}\n"))
        .collect();
    let (status, answer) = server.post_ndjson(body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        server.terminate(),
        Some(0),
        "clean exit: {}",
        server.log_text()
    );
    assert!(server.log_text().contains("stopped cleanly"));
    let server = Server::start(&data);
    // Everything was indexed before exit: visible at once, no replay needed.
    assert_eq!(server.search(&format!("mark:{m}"), 1, 0)["total"], 5000);
}
