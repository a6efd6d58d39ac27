//! A backup taken while serving restores to identical search results.

use crate::common::*;
use std::process::Command;

#[test]
fn backup_while_serving_then_restore_gives_identical_search_results() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    let m = mark();
    let body: String = (0..3000)
        .map(|i| format!("{{\"mark\":\"{m}\",\"n\":{i},\"message\":\"backup test {i}\"}}\n"))
        .collect();
    assert_eq!(server.post_ndjson(body).0, 200);
    assert_eq!(server.wait_for(&format!("mark:{m}"), 3000), 3000);
    let queries = [
        format!("mark:{m}"),
        "*".to_string(),
        "administrator".to_string(),
        "_format:syslog5424".to_string(),
    ];
    let before: Vec<serde_json::Value> = queries
        .iter()
        .map(|q| server.search(q, 10_000, 0))
        .collect();

    let out = dir.path().join("snap");
    let st = Command::new(bin())
        .args(["backup", "--data-dir"])
        .arg(&data)
        .arg(&out)
        .output()
        .expect("backup");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // The live server keeps working after the backup.
    assert_eq!(server.post_ndjson("{\"after\":\"backup\"}\n").0, 200);

    let restored = dir.path().join("restored");
    let st = Command::new(bin())
        .arg("restore")
        .arg(&out)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .expect("restore");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let again = Command::new(bin())
        .arg("restore")
        .arg(&out)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .expect("restore");
    assert!(!again.status.success(), "restoring over data needs --force");

    let second = Server::start(&restored);
    for (q, want) in queries.iter().zip(&before) {
        let got = second.search(q, 10_000, 0);
        assert_eq!(got["total"], want["total"], "{q}");
        assert_eq!(got["events"], want["events"], "{q}");
    }
}
