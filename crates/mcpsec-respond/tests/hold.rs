//! The engine never holds its runtime's thread: a drive waiting on a silent service or
//! on a database locked by another process is cut off by a timeout at once, and other
//! tasks on the same runtime keep running, on a current-thread runtime too.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcpsec_respond::config::Services;
use mcpsec_respond::live::LiveEffects;
use mcpsec_respond::{Engine, Registry};
use mcpsec_store::{PlaybookStore, SqliteState, StateStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A peer that accepts connections, reads, and never answers.
fn silent_peer() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            let Ok(s) = s else { return };
            held.push(s);
        }
    });
    url
}

/// Counts 10 ms ticks of another task on the same runtime.
fn ticker() -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let h = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    (ticks, h)
}

/// Drives a run under a 300 ms timeout; checks the timeout fired well before the thing
/// waited on could end (60 s peer, 10 s busy timeout) and the other task kept ticking.
async fn cut_off(e: &Engine, id: &str) {
    let (ticks, other) = ticker();
    let t0 = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(300), e.drive(id)).await;
    let took = t0.elapsed();
    let ticked = ticks.load(Ordering::SeqCst);
    other.abort();
    assert!(r.is_err(), "the timeout cut the drive off: {r:?}");
    assert!(
        took < Duration::from_secs(5),
        "the timeout fired only after {took:?}: the drive held the thread"
    );
    assert!(
        ticked >= 3,
        "another task ticked {ticked} times while the drive waited"
    );
    assert!(
        !e.is_active(id),
        "a cut-off drive leaves the run free to drive"
    );
}

async fn silent_service() {
    let url = silent_peer();
    let (_d, s) = secrets(&[]);
    let (store, e) = engine(Services::default(), s);
    let yaml = format!(
        "id: h\nname: h\nsteps:\n  - id: wait\n    action: http.request\n    timeout: 60s\n    with: {{url: '{url}/never'}}\n"
    );
    let id = start(&e, &yaml, alert());
    cut_off(&e, &id).await;
    let steps = store.step_runs(&id).unwrap();
    assert_eq!(steps[0].status, "running", "cut off mid-call: {steps:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_silent_service_does_not_hold_a_current_thread_runtime() {
    silent_service().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_service_does_not_hold_a_multi_thread_runtime() {
    silent_service().await;
}

/// Another process (here: another connection) holds the database's write lock while
/// the engine wants to record a step; SQLite waits up to its busy timeout (10 s).
async fn locked_database() {
    let m = mock(|_| (200, "{}".into())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Arc::new(SqliteState::open(&path).unwrap());
    let dyn_store: Arc<dyn StateStore> = store.clone();
    let (_d, s) = secrets(&[]);
    let fx = LiveEffects::new(Services::default(), s, Some(dyn_store.clone())).unwrap();
    let e = Engine::new(dyn_store, Registry::builtin(), Arc::new(fx));
    let yaml = format!(
        "id: l\nname: l\nsteps:\n  - id: one\n    action: http.request\n    with: {{url: '{}/one'}}\n",
        m.url
    );
    let id = start(&e, &yaml, alert());
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    cut_off(&e, &id).await;
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    // Nothing was lost: once the lock is gone the run finishes, calling the service once.
    let mut status = String::new();
    for _ in 0..200 {
        status = e.drive(&id).await.unwrap();
        if status != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "succeeded");
    assert_eq!(m.take().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_locked_database_does_not_hold_a_current_thread_runtime() {
    locked_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_does_not_hold_a_multi_thread_runtime() {
    locked_database().await;
}
