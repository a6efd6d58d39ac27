//! `POST /api/v1/reports` jobs: queued, rendered in the background, kept in the history,
//! downloaded, shared through signed links that expire or are revoked, kept to their
//! tenant, and finished after a restart.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn call(
    s: &Server,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, s.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().expect("request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// Polls a job until it is done (or fails the test).
fn wait_done(s: &Server, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (st, job) = call(
            s,
            key,
            reqwest::Method::GET,
            &format!("/api/v1/reports/jobs/{id}"),
            None,
        );
        assert_eq!(st, 200, "{job}");
        match job["status"].as_str() {
            Some("done") => return job,
            Some("failed") => panic!("job failed: {job}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "job not done in time: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn jobs_render_in_the_background_and_share_links_expire_or_are_revoked() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"], &[]);
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    let other = tenant_key(&data, "other", "analyst");
    let viewer = tenant_key(&data, "default", "viewer");

    // Bad requests are refused before anything is stored.
    let post = |key: &str, body: Value| {
        call(
            &server,
            key,
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body),
        )
    };
    assert_eq!(post(TOKEN, json!({"kind": "weekly"})).0, 400);
    assert_eq!(
        post(TOKEN, json!({"kind": "executive", "format": "docx"})).0,
        400
    );
    assert_eq!(
        post(
            TOKEN,
            json!({"kind": "executive", "from": "now", "to": "now-1d"})
        )
        .0,
        400
    );
    assert_eq!(
        post(TOKEN, json!({"kind": "executive", "colour": "red"})).0,
        422
    );
    assert_eq!(
        post(&viewer, json!({"kind": "executive"})).0,
        403,
        "viewers read reports only"
    );

    let (st, job) = post(TOKEN, json!({"kind": "executive", "format": "pdf"}));
    assert_eq!(st, 202, "{job}");
    let id = job["id"].as_str().expect("id").to_owned();
    let done = wait_done(&server, TOKEN, &id);
    assert_eq!(done["progress"], 100);
    let size = done["size"].as_u64().expect("size");
    let file = client()
        .get(server.url(done["download"].as_str().expect("download")))
        .bearer_auth(&viewer)
        .send()
        .expect("file");
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .contains(".pdf")
    );
    let pdf = file.bytes().expect("bytes");
    assert!(pdf.starts_with(b"%PDF-") && pdf.len() as u64 == size);

    let (st, hist) = call(
        &server,
        &viewer,
        reqwest::Method::GET,
        "/api/v1/reports",
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(hist["reports"][0]["id"], id.as_str());

    // Another tenant sees nothing of it.
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/reports/jobs/{id}"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/reports/jobs/{id}/file"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::POST,
            &format!("/api/v1/reports/jobs/{id}/share"),
            Some(json!({}))
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::DELETE,
            &format!("/api/v1/reports/jobs/{id}"),
            None
        )
        .0,
        404
    );
    let (_, theirs) = call(
        &server,
        &other,
        reqwest::Method::GET,
        "/api/v1/reports",
        None,
    );
    assert_eq!(theirs["reports"], json!([]));

    // A share link works without a key, byte for byte, until revoked.
    let share_path = format!("/api/v1/reports/jobs/{id}/share");
    assert_eq!(
        call(
            &server,
            TOKEN,
            reqwest::Method::POST,
            &share_path,
            Some(json!({"expires_in_hours": 0}))
        )
        .0,
        400
    );
    let (st, share) = call(
        &server,
        TOKEN,
        reqwest::Method::POST,
        &share_path,
        Some(json!({"expires_in_hours": 2})),
    );
    assert_eq!(st, 201, "{share}");
    let url = share["url"].as_str().expect("url").to_owned();
    let anon = |path: &str| client().get(server.url(path)).send().expect("anon");
    let got = anon(&url);
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().expect("bytes"), pdf);
    // Altered tokens are unknown, whatever was changed.
    let (sid, sig) = url
        .rsplit_once('/')
        .map(|(_, t)| t)
        .and_then(|t| t.split_once('.'))
        .expect("token");
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    for bad in [
        format!("/share/reports/{sid}.{flipped}{}", &sig[1..]),
        format!("/share/reports/{sid}"),
        format!("/share/reports/{}.{sig}", "0".repeat(26)),
        "/share/reports/..%2F..%2Fetc%2Fpasswd".to_owned(),
        format!("/share/reports/{sid}.{}", "A".repeat(5000)),
    ] {
        assert_eq!(anon(&bad).status(), 404, "{bad}");
    }
    let (_, list) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        &format!("/api/v1/reports/jobs/{id}/shares"),
        None,
    );
    assert_eq!(list["shares"][0]["id"], sid);
    assert!(list["shares"][0]["url"].is_null(), "the link is shown once");
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::DELETE,
            &format!("/api/v1/reports/shares/{sid}"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &server,
            TOKEN,
            reqwest::Method::DELETE,
            &format!("/api/v1/reports/shares/{sid}"),
            None
        )
        .0,
        204
    );
    assert_eq!(anon(&url).status(), 410, "revoked");

    // Deleting the report kills its links and its file.
    let (_, second) = call(
        &server,
        TOKEN,
        reqwest::Method::POST,
        &share_path,
        Some(json!({})),
    );
    let second = second["url"].as_str().expect("url").to_owned();
    assert_eq!(anon(&second).status(), 200);
    assert_eq!(
        call(
            &server,
            TOKEN,
            reqwest::Method::DELETE,
            &format!("/api/v1/reports/jobs/{id}"),
            None
        )
        .0,
        204
    );
    assert_eq!(anon(&second).status(), 404);
    assert_eq!(
        call(
            &server,
            TOKEN,
            reqwest::Method::GET,
            &format!("/api/v1/reports/jobs/{id}/file"),
            None
        )
        .0,
        404
    );

    // Every change is in the audit log.
    let (_, audit) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/audit?limit=1000",
        None,
    );
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "reports.created",
        "reports.shared",
        "reports.share_used",
        "reports.unshared",
        "reports.deleted",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

#[test]
fn a_job_left_queued_by_a_restart_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut server = Server::start_with(&data, &["--demo"], &[]);
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    server.terminate();
    drop(server);
    // As if the process had died right after accepting the job.
    let db = rusqlite::Connection::open(data.join("state.db")).expect("db");
    db.execute(
        "INSERT INTO report_jobs (id, tenant, kind, format, status, requested_by, created_at) \
         VALUES ('01JRESUMED0000000000000000', 'default', 'triage', 'md', 'running', 'env-admin', \
         '2026-11-26T10:00:00Z')",
        [],
    )
    .expect("insert");
    drop(db);
    let server = Server::start_with(&data, &["--demo"], &[]);
    let job = wait_done(&server, TOKEN, "01JRESUMED0000000000000000");
    assert!(job["size"].as_u64() > Some(100), "{job}");
    let md = client()
        .get(server.url("/api/v1/reports/jobs/01JRESUMED0000000000000000/file"))
        .bearer_auth(TOKEN)
        .send()
        .expect("file")
        .text()
        .expect("text");
    assert!(md.starts_with("# Alert triage"), "{md}");
}
