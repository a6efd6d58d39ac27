//! The audit log records authentications and changes, and `audit verify` catches edits,
//! removals, reordering and truncation.

use crate::common::*;
use std::process::Command;

fn verify(data: &std::path::Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .output()
        .expect("verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn sql(data: &std::path::Path, stmt: &str) {
    let conn = rusqlite::Connection::open(data.join("state.db")).expect("open db");
    conn.execute_batch(stmt).expect("sql");
}

#[test]
fn audit_chain_records_changes_and_detects_tampering() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let st = Command::new(bin())
        .args(["admin", "tenant", "create", "acme", "--data-dir"])
        .arg(&data)
        .output()
        .expect("tenant");
    assert!(st.status.success());
    let st = Command::new(bin())
        .args([
            "admin",
            "key",
            "create",
            "--tenant",
            "acme",
            "--role",
            "viewer",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("key");
    let viewer = String::from_utf8_lossy(&st.stdout).trim().to_owned();
    for _ in 0..3 {
        let r = client()
            .get(server.url("/api/v1/events"))
            .bearer_auth("not-a-key-not-a-key")
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 401);
    }
    // A viewer may not read the audit log: 403, and the denial is itself audited.
    let r = client()
        .get(server.url("/api/v1/audit"))
        .bearer_auth(&viewer)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 403);
    let r = client()
        .get(server.url("/api/v1/audit"))
        .bearer_auth(TOKEN)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(server.terminate(), Some(0));

    let conn = rusqlite::Connection::open(data.join("state.db")).expect("db");
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM audit_log ORDER BY seq")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
        })
        .expect("actions");
    drop(conn);
    for want in [
        "serve.start",
        "tenant.create",
        "key.create",
        "auth.failure",
        "auth.success",
        "audit.read",
        "serve.stop",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} not audited: {actions:?}"
        );
    }
    let all = std::fs::read_to_string(data.join("state.db")).unwrap_or_default();
    assert!(!all.contains(&viewer), "a key secret reached the database");

    let (code, out) = verify(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");

    let pristine = dir.path().join("pristine.db");
    std::fs::copy(data.join("state.db"), &pristine).expect("copy");
    let reset = || std::fs::copy(&pristine, data.join("state.db")).expect("reset");

    sql(
        &data,
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    );
    let (code, out) = verify(&data);
    assert_eq!(code, 1);
    assert!(out.contains("entry 2") && out.contains("edited"), "{out}");

    reset();
    sql(&data, "DELETE FROM audit_log WHERE seq = 3;");
    let (code, out) = verify(&data);
    assert_eq!(code, 1);
    assert!(out.contains("removed"), "{out}");

    reset();
    sql(
        &data,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -1;",
    );
    let (code, out) = verify(&data);
    assert_eq!(code, 1, "reordering: {out}");

    reset();
    sql(
        &data,
        "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log);",
    );
    let (code, out) = verify(&data);
    assert_eq!(code, 1);
    assert!(
        out.contains("newer entries were removed"),
        "truncation: {out}"
    );
}
