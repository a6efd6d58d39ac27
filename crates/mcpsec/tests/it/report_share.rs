//! Share links past their expiry answer `410 Gone`; a link whose stored expiry was
//! pushed later (or whose signature was made with another key) is unknown (`404`).
//!
//! An expired link cannot be made through the API (1 hour at least), so the test signs
//! one itself with the server's key, read from the state database as an attacker with
//! a copy of it could — which is also what proves the signature covers the expiry.

use crate::common::*;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn token(key: &[u8], id: &str, job: &str, expires: i64) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
    mac.update(format!("{id}\n{job}\ndefault\n{expires}").as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{id}.{sig}")
}

fn at(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn an_expired_share_link_answers_410_and_a_stretched_one_404() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &[], &[]);
    let c = client();
    let job: Value = c
        .post(server.url("/api/v1/reports"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "triage", "format": "md"}))
        .send()
        .expect("post")
        .json()
        .expect("json");
    let job = job["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j: Value = c
            .get(server.url(&format!("/api/v1/reports/jobs/{job}")))
            .bearer_auth(TOKEN)
            .send()
            .expect("get")
            .json()
            .expect("json");
        if j["status"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "{j}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A live link made through the API (this also makes the signing key).
    let share: Value = c
        .post(server.url(&format!("/api/v1/reports/jobs/{job}/share")))
        .bearer_auth(TOKEN)
        .json(&json!({"expires_in_hours": 1}))
        .send()
        .expect("share")
        .json()
        .expect("json");
    let live = share["url"].as_str().expect("url");
    assert_eq!(c.get(server.url(live)).send().expect("open").status(), 200);

    let db = rusqlite::Connection::open(data.join("state.db")).expect("db");
    db.busy_timeout(Duration::from_secs(10)).expect("timeout");
    let key: String = db
        .query_row(
            "SELECT value FROM checkpoints WHERE name = 'report_share_key'",
            [],
            |r| r.get(0),
        )
        .expect("key");
    let key = hex::decode(key.trim()).expect("hex");
    let now = chrono::Utc::now().timestamp();
    let id = "01JEXP1RED0000000000000000";
    let expired = now - 3600;
    db.execute(
        "INSERT INTO report_shares (id, tenant, job_id, created_by, created_at, expires_at) \
         VALUES (?1, 'default', ?2, 'env-admin', ?3, ?4)",
        rusqlite::params![id, job, at(now - 7200), at(expired)],
    )
    .expect("insert");
    let url = format!("/share/reports/{}", token(&key, id, &job, expired));
    let r = c.get(server.url(&url)).send().expect("open");
    assert_eq!(r.status(), 410, "expired");
    let body: Value = r.json().expect("json");
    assert!(
        body.to_string().contains("has expired"),
        "the answer says why: {body}"
    );

    // Pushing the stored expiry later does not revive the link: the signature covers it.
    db.execute(
        "UPDATE report_shares SET expires_at = ?1 WHERE id = ?2",
        rusqlite::params![at(now + 86_400), id],
    )
    .expect("update");
    assert_eq!(c.get(server.url(&url)).send().expect("open").status(), 404);
    // Nor does signing the later expiry with another key.
    let forged = format!(
        "/share/reports/{}",
        token(b"another key entirely", id, &job, now + 86_400)
    );
    assert_eq!(
        c.get(server.url(&forged)).send().expect("open").status(),
        404
    );
    // Signed with the right key for the stored expiry, it works again: the 404s above
    // came from the signature, not from a broken row.
    let right = format!("/share/reports/{}", token(&key, id, &job, now + 86_400));
    assert_eq!(
        c.get(server.url(&right)).send().expect("open").status(),
        200
    );
}
