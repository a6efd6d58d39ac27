//! `POST /api/v1/reports` jobs: queued, rendered in the background, kept in the history,
//! downloaded, shared through signed links that expire or are revoked, kept to their
//! tenant, and finished after a restart.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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

/// One HTTP request as the test webhook saw it.
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// A webhook on 127.0.0.1 that answers 503 to the first request and 200 to the rest,
/// passing every request it reads to the test.
fn webhook() -> (String, std::sync::mpsc::Receiver<Received>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/hooks/reports",
        listener.local_addr().expect("addr")
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let status = if n == 0 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            if tx.send(Received { head, body }).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn schedules_deliver_signed_reports_to_a_webhook_and_stay_with_their_tenant() {
    use hmac::{Hmac, Mac};
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(
        &data,
        &["--demo"],
        &[("MCPSEC_WEBHOOK_KEY", "hook-secret-0123")],
    );
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    let other = tenant_key(&data, "other", "admin");
    let (url, received) = webhook();
    let post = |body: Value| {
        call(
            &server,
            TOKEN,
            reqwest::Method::POST,
            "/api/v1/reports/schedules",
            Some(body),
        )
    };
    let base = json!({"name": "Every second", "kind": "triage", "format": "md", "cron": "* * * * * *",
        "timezone": "Europe/Paris", "period_hours": 8784,
        "deliver": {"webhook": {"url": url, "secret_env": "MCPSEC_WEBHOOK_KEY"}}});
    for (field, value) in [
        ("cron", json!("every monday")),
        ("timezone", json!("Mars/Olympus")),
        ("kind", json!("weekly")),
        ("period_hours", json!(0)),
        ("name", json!("")),
        ("deliver", json!({"webhook": {"url": "file:///etc/passwd"}})),
        (
            "deliver",
            json!({"webhook": {"url": url, "secret_env": "HOME"}}),
        ),
    ] {
        let mut bad = base.clone();
        bad[field] = value;
        let (st, body) = post(bad);
        assert_eq!(st, 400, "{field}: {body}");
    }
    let (st, schedule) = post(base);
    assert_eq!(st, 201, "{schedule}");
    let id = schedule["id"].as_str().expect("id").to_owned();

    // The scheduler (not a manual run) makes the report; the first delivery attempt
    // meets a 503 and is retried with the same idempotency key.
    let first = received
        .recv_timeout(Duration::from_secs(60))
        .expect("first attempt");
    let second = received
        .recv_timeout(Duration::from_secs(30))
        .expect("retry");
    assert!(
        first.head.starts_with("POST /hooks/reports HTTP/1.1"),
        "{}",
        first.head
    );
    assert_eq!(
        first.header("idempotency-key"),
        second.header("idempotency-key")
    );
    assert_eq!(
        second.header("x-mcpsec-schedule").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(second.header("x-mcpsec-report").as_deref(), Some("triage"));
    assert!(
        second
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/markdown"))
    );
    let body = String::from_utf8(second.body.clone()).expect("utf-8");
    assert!(body.starts_with("# Alert triage"), "{body}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret-0123").expect("key");
    mac.update(&second.body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(second.header("x-mcpsec-signature"), Some(want));
    assert!(
        !server.log_text().contains("hook-secret-0123"),
        "the key is never logged"
    );

    // The run is recorded; the job is in the history like any other report.
    let (_, list) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/reports/schedules",
        None,
    );
    let job = list["schedules"][0]["last_job"]
        .as_str()
        .expect("last job")
        .to_owned();
    let done = wait_done(&server, TOKEN, &job);
    assert_eq!(done["requested_by"], format!("schedule:{id}"));

    // Another tenant neither sees nor deletes nor runs it.
    let (_, theirs) = call(
        &server,
        &other,
        reqwest::Method::GET,
        "/api/v1/reports/schedules",
        None,
    );
    assert_eq!(theirs["schedules"], json!([]));
    let path = format!("/api/v1/reports/schedules/{id}");
    assert_eq!(
        call(&server, &other, reqwest::Method::DELETE, &path, None).0,
        404
    );
    assert_eq!(
        call(
            &server,
            &other,
            reqwest::Method::POST,
            &format!("{path}/run"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(&server, TOKEN, reqwest::Method::DELETE, &path, None).0,
        204
    );
    let (_, mine) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/reports/schedules",
        None,
    );
    assert_eq!(mine["schedules"], json!([]));
}
