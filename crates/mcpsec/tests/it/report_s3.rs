//! `deliver.s3`: scheduled reports written to an S3-compatible server (the npm package
//! `s3rver`, installed by .ci/run, started here on 127.0.0.1) with a SigV4 pre-signed
//! PUT; the object is read back and compared with the stored report. An access key the
//! server does not know is refused and named in the schedule's `last_error`.
//!
//! Those two are skipped, and said so, when `S3RVER_BIN` does not point at the `s3rver`
//! executable. s3rver does not verify SigV4 signatures, so the signature itself is
//! checked by an endpoint of the test (`sigv4.rs`) that recomputes it from the
//! specification: the right secret passes, a wrong one is refused and recorded.

use crate::common::*;
use crate::report_mail::{assert_deliver_refused, find_schedule, run_schedule};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running s3rver, killed on drop.
struct S3rver {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for S3rver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3rver(bucket: &str) -> Option<S3rver> {
    let Some(bin) = std::env::var_os("S3RVER_BIN").filter(|b| std::path::Path::new(b).exists())
    else {
        eprintln!(
            "SKIPPED: S3RVER_BIN is not set to the s3rver executable (.ci/run installs it from npm)"
        );
        return None;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let child = Command::new(bin)
        .args(["-d"])
        .arg(dir.path())
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "--silent"])
        .args(["--configure-bucket", bucket])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn s3rver");
    let s = S3rver {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3rver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(s)
}

fn start(data: &std::path::Path, port: u16, access_key: &str, demo: bool) -> Server {
    let endpoint = format!("http://127.0.0.1:{port}");
    let args: &[&str] = if demo { &["--demo"] } else { &[] };
    Server::start_with(
        data,
        args,
        &[
            ("MCPSEC_REPORT__S3__ENDPOINT", &endpoint),
            ("MCPSEC_REPORT__S3__PATH_STYLE", "true"),
            ("MCPSEC_REPORT__S3__ACCESS_KEY_ENV", "MCPSEC_S3_KEY"),
            ("MCPSEC_REPORT__S3__SECRET_KEY_ENV", "MCPSEC_S3_SECRET"),
            ("MCPSEC_S3_KEY", access_key),
            ("MCPSEC_S3_SECRET", "S3RVER"),
        ],
    )
}

/// The schedule once its delivery finished (`last_error` set, or the object there).
fn schedule(s: &Server, id: &str) -> Value {
    find_schedule(s, id).expect("schedule")
}

#[test]
fn scheduled_reports_are_stored_in_object_storage_with_sigv4() {
    let Some(s3) = s3rver("sec-reports") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&dir.path().join("data"), s3.port, "S3RVER", true);
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    assert_deliver_refused(
        &server,
        &[
            json!({"s3": {"bucket": "Sec_Reports"}}),
            json!({"s3": {"bucket": "sec-reports", "prefix": "../escape"}}),
            json!({"s3": {"bucket": "sec-reports", "region": "x"}}),
        ],
    );
    let (id, job) = run_schedule(
        &server,
        "csv",
        json!({"s3": {"bucket": "sec-reports", "prefix": "mcpsec/weekly/"}}),
    );
    let (_, view) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        &format!("/api/v1/reports/jobs/{job}"),
        None,
    );
    let date = &view["created_at"].as_str().expect("created_at")[..10];
    let key = format!("mcpsec/weekly/default/triage/{date}-{job}.csv");
    let object = format!("http://127.0.0.1:{}/sec-reports/{key}", s3.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    let got = loop {
        let r = client().get(&object).send().expect("get object");
        // s3rver lists an object while its upload is still being written (empty, with
        // a default type): wait for the whole of it.
        if r.status() == 200 && r.content_length().is_some_and(|n| n > 0) {
            break r;
        }
        let sched = schedule(&server, &id);
        assert!(sched["last_error"].is_null(), "{sched}");
        assert!(Instant::now() < deadline, "no object at {key}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        got.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv"),
        "{:?}",
        got.headers()
    );
    let bytes = got.bytes().expect("bytes");
    let stored = client()
        .get(server.url(&format!("/api/v1/reports/jobs/{job}/file")))
        .bearer_auth(TOKEN)
        .send()
        .expect("file")
        .bytes()
        .expect("bytes");
    assert_eq!(bytes, stored, "the object is the stored report");
    assert!(!bytes.is_empty());
    assert!(schedule(&server, &id)["last_error"].is_null());
}

#[test]
fn an_unknown_access_key_is_refused_and_recorded() {
    let Some(s3) = s3rver("sec-reports") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&dir.path().join("data"), s3.port, "NOT-A-KEY", false);
    let (id, _) = run_schedule(&server, "csv", json!({"s3": {"bucket": "sec-reports"}}));
    let deadline = Instant::now() + Duration::from_secs(60);
    let err = loop {
        if let Some(e) = schedule(&server, &id)["last_error"].as_str() {
            break e.to_owned();
        }
        assert!(Instant::now() < deadline, "no last_error");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(err.starts_with("s3: object storage answered 403"), "{err}");
    assert!(err.contains("InvalidAccessKeyId"), "{err}");
    assert!(
        !server.log_text().contains("NOT-A-KEY"),
        "keys are never logged"
    );
}

fn start_at(data: &std::path::Path, endpoint: &str, secret: &str) -> Server {
    Server::start_with(
        data,
        &[],
        &[
            ("MCPSEC_REPORT__S3__ENDPOINT", endpoint),
            ("MCPSEC_REPORT__S3__REGION", "eu-west-3"),
            ("MCPSEC_REPORT__S3__PATH_STYLE", "true"),
            ("MCPSEC_REPORT__S3__ACCESS_KEY_ENV", "MCPSEC_S3_KEY"),
            ("MCPSEC_REPORT__S3__SECRET_KEY_ENV", "MCPSEC_S3_SECRET"),
            ("MCPSEC_S3_KEY", "AKIDEXAMPLE"),
            ("MCPSEC_S3_SECRET", secret),
        ],
    )
}

#[test]
fn the_sigv4_signature_verifies_and_a_wrong_secret_is_refused() {
    let (endpoint, puts) = crate::sigv4::endpoint("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let dir = tempfile::tempdir().expect("tmp");
    let good = start_at(
        &dir.path().join("good"),
        &endpoint,
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    let (id, job) = run_schedule(&good, "csv", json!({"s3": {"bucket": "sec-reports"}}));
    let put = puts
        .recv_timeout(Duration::from_secs(60))
        .expect("a verified PUT");
    let (_, view) = call(
        &good,
        TOKEN,
        reqwest::Method::GET,
        &format!("/api/v1/reports/jobs/{job}"),
        None,
    );
    let date = &view["created_at"].as_str().expect("created_at")[..10];
    assert_eq!(
        put.path,
        format!("/sec-reports/default/triage/{date}-{job}.csv")
    );
    assert!(
        put.content_type.starts_with("text/csv"),
        "{}",
        put.content_type
    );
    let stored = client()
        .get(good.url(&format!("/api/v1/reports/jobs/{job}/file")))
        .bearer_auth(TOKEN)
        .send()
        .expect("file")
        .bytes()
        .expect("bytes");
    assert_eq!(put.body, stored.to_vec());
    assert!(schedule(&good, &id)["last_error"].is_null());

    let bad = start_at(&dir.path().join("bad"), &endpoint, "not-the-secret-key");
    let (id, _) = run_schedule(&bad, "csv", json!({"s3": {"bucket": "sec-reports"}}));
    let deadline = Instant::now() + Duration::from_secs(60);
    let err = loop {
        if let Some(e) = schedule(&bad, &id)["last_error"].as_str() {
            break e.to_owned();
        }
        assert!(Instant::now() < deadline, "no last_error");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        err.starts_with("s3: object storage answered 403 Forbidden (SignatureDoesNotMatch)"),
        "{err}"
    );
    assert!(
        puts.try_recv().is_err(),
        "nothing stored with a wrong secret"
    );
    assert!(!bad.log_text().contains("not-the-secret-key"));
}
