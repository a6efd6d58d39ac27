//! One-shot commands: ingest, replay, config check.

use crate::common::*;
use std::io::Write;
use std::process::Command;

#[test]
fn ingest_files_then_replay_without_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let m = mark();
    // NDJSON compressed with gzip, pretty-printed JSON objects, and syslog text.
    let gz_path = dir.path().join("a.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).expect("gz"),
        flate2::Compression::fast(),
    );
    for i in 0..1000 {
        writeln!(gz, "{{\"mark\":\"{m}\",\"n\":{i}}}").expect("write");
    }
    writeln!(gz, "{{broken").expect("write");
    gz.finish().expect("gz");
    let pretty = dir.path().join("b.json");
    std::fs::write(&pretty, format!("{{\n  \"mark\": \"{m}\",\n  \"n\": 1000\n}}\n{{\n  \"mark\": \"{m}\",\n  \"n\": 1001\n}}\n")).expect("write");
    let text = dir.path().join("c.log");
    std::fs::write(
        &text,
        format!("<34>1 2026-11-20T10:00:00Z h app - - - {m} syslog line\nplain {m} line\n"),
    )
    .expect("write");

    let out = Command::new(bin())
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .args([&gz_path, &pretty, &text])
        .output()
        .expect("ingest");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one line was rejected: {err}");
    assert!(
        err.contains("ingested 1004 events (1 rejected) from 3 files"),
        "{err}"
    );
    assert!(err.contains("line 1001"), "the bad line is named: {err}");

    let out = Command::new(bin())
        .args(["replay", "--from", "500", "--data-dir"])
        .arg(&data)
        .output()
        .expect("replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 505 events"));

    let server = Server::start(&data);
    let ns = server.collect_field(&format!("mark:{m}"), "n");
    assert_eq!(ns.len(), 1002);
    assert_eq!(unique(&ns), 1002, "replay must not duplicate");
    assert_eq!(server.search(&m, 1, 0)["total"], 1004);

    // A second writer on the same data dir is refused with a clear message.
    let out = Command::new(bin())
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .arg(&text)
        .output()
        .expect("ingest");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}

#[test]
fn ingest_through_a_running_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(&dir.path().join("data"));
    let m = mark();
    let f = dir.path().join("x.ndjson");
    std::fs::write(
        &f,
        (0..300)
            .map(|i| format!("{{\"mark\":\"{m}\",\"n\":{i}}}\n"))
            .collect::<String>(),
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["ingest", "--server", &server.base, "--token", TOKEN])
        .arg(&f)
        .output()
        .expect("ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.wait_for(&format!("mark:{m}"), 300), 300);
}

#[test]
fn config_check_names_the_problem() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9000\"\n[index]\ncommit_interval_ms = 200\n",
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[ingest]\nqueue_event = 5\n").expect("write");
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("queue_event") && err.contains("bad.toml"),
        "{err}"
    );
}

#[test]
fn demo_data_is_searchable_and_loaded_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut server = Server::start_with(&data, &["--demo"], &[]);
    let total = server.wait_for("*", 40);
    assert!(total >= 40, "demo has {total} events");
    assert!(server.search("Event.System.EventID:4625", 1, 0)["total"].as_u64() >= Some(10));
    assert!(server.search("_format:cef", 1, 0)["total"].as_u64() >= Some(2));
    assert_eq!(server.terminate(), Some(0));
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert_eq!(server.search("*", 1, 0)["total"].as_u64(), Some(total));
}
