//! `deliver.email`: scheduled reports mailed through `[report.smtp]` to a real SMTP
//! relay on 127.0.0.1 (see `smtp.rs`), the received MIME parsed and its attachment
//! compared byte for byte with the stored report; plain with AUTH, and STARTTLS with a
//! private CA. Bad addresses are refused, refused recipients end in `last_error`.

use crate::common::*;
use crate::smtp::{Mail, relay};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Makes a triage schedule in `format` that never fires by itself and runs it now;
/// `(schedule, job)`.
pub(crate) fn run_schedule(s: &Server, format: &str, deliver: Value) -> (String, String) {
    let (st, sched) = call(
        s,
        TOKEN,
        reqwest::Method::POST,
        "/api/v1/reports/schedules",
        Some(
            json!({"name": "Delivered", "kind": "triage", "format": format,
            "cron": "0 0 1 1 *", "period_hours": 8784, "deliver": deliver}),
        ),
    );
    assert_eq!(st, 201, "{sched}");
    let id = sched["id"].as_str().expect("id").to_owned();
    let (st, run) = call(
        s,
        TOKEN,
        reqwest::Method::POST,
        &format!("/api/v1/reports/schedules/{id}/run"),
        None,
    );
    assert_eq!(st, 202, "{run}");
    (id, run["job"].as_str().expect("job").to_owned())
}

fn document(s: &Server, job: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client()
            .get(s.url(&format!("/api/v1/reports/jobs/{job}/file")))
            .bearer_auth(TOKEN)
            .send()
            .expect("file");
        if r.status() == 200 {
            return r.bytes().expect("bytes").to_vec();
        }
        assert!(Instant::now() < deadline, "report {job} not done");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The schedule `id` as listed, `None` when it is not there.
pub(crate) fn find_schedule(s: &Server, id: &str) -> Option<Value> {
    let (_, list) = call(
        s,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/reports/schedules",
        None,
    );
    list["schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .find(|x| x["id"] == id)
        .cloned()
}

/// Each `deliver` value is refused when a schedule is created with it.
pub(crate) fn assert_deliver_refused(s: &Server, bad: &[Value]) {
    for bad in bad {
        let (st, body) = call(
            s,
            TOKEN,
            reqwest::Method::POST,
            "/api/v1/reports/schedules",
            Some(json!({"name": "x", "kind": "triage", "cron": "@daily", "deliver": bad})),
        );
        // 400: a bad value; 422: not the schema (an unknown field, a wrong type).
        assert!(matches!(st, 400 | 422), "{bad}: {st} {body}");
    }
}

/// Waits for the schedule's `last_error` to be set.
fn last_error(s: &Server, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = find_schedule(s, id).and_then(|x| x["last_error"].as_str().map(str::to_owned));
        if let Some(e) = found {
            return e;
        }
        assert!(Instant::now() < deadline, "no last_error on {id}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Checks the parsed message against the stored report; returns its text part.
fn check_message(mail: &Mail, job: &str, stored: &[u8]) -> String {
    let msg = MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    let attachment = msg.attachment(0).expect("one attachment");
    let ct = attachment.content_type().expect("content type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("application", Some("pdf")),
        "{ct:?}"
    );
    assert_eq!(
        attachment.attachment_name(),
        Some(format!("mcpsec-triage-{job}.pdf").as_str())
    );
    assert_eq!(
        attachment.contents(),
        stored,
        "the attachment is the stored report"
    );
    assert!(stored.starts_with(b"%PDF-"));
    msg.body_text(0).expect("text part").into_owned()
}

#[test]
fn scheduled_reports_are_mailed_with_the_document_attached() {
    let relay = relay(None);
    let port = relay.port.to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start_with(
        &data,
        &["--demo"],
        &[
            ("MCPSEC_REPORT__SMTP__HOST", "127.0.0.1"),
            ("MCPSEC_REPORT__SMTP__PORT", &port),
            ("MCPSEC_REPORT__SMTP__TLS", "none"),
            ("MCPSEC_REPORT__SMTP__FROM", "reports@acme.example"),
            ("MCPSEC_REPORT__SMTP__USERNAME", "mcpsec"),
            ("MCPSEC_REPORT__SMTP__PASSWORD_ENV", "MCPSEC_SMTP_PASSWORD"),
            ("MCPSEC_SMTP_PASSWORD", "smtp-pass-4242-secret"),
            ("MCPSEC_REPORT__PUBLIC_URL", "https://mcpsec.acme.example/"),
        ],
    );
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");

    // Bad addresses and subjects are refused before anything is stored.
    assert_deliver_refused(
        &server,
        &[
            json!({"email": {"to": []}}),
            json!({"email": {"to": ["not-an-address"]}}),
            json!({"email": {"to": ["soc@acme.example\r\nRCPT TO:<x@evil.example>"]}}),
            json!({"email": {"to": ["soc@acme.example"], "cc": ["Boss <boss@acme.example>"]}}),
            json!({"email": {"to": ["soc@acme.example"], "subject": "a\r\nBcc: x@evil.example"}}),
            json!({"email": {"to": ["soc@acme.example"], "bcc": ["x@evil.example"]}}),
            json!({"email": {"to": "soc@acme.example"}}),
        ],
    );
    let (_, list) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/reports/schedules",
        None,
    );
    assert_eq!(list["schedules"], json!([]));

    // The first MAIL meets a temporary failure; the retry goes through.
    let (id, job) = run_schedule(
        &server,
        "pdf",
        json!({"email": {"to": ["soc@acme.example"], "cc": ["ciso@acme.example"],
            "subject": "Weekly triage"}}),
    );
    let mail = relay
        .mails
        .recv_timeout(Duration::from_secs(60))
        .expect("a message");
    assert_eq!(mail.from, "<reports@acme.example>");
    assert_eq!(mail.rcpt, vec!["<soc@acme.example>", "<ciso@acme.example>"]);
    assert_eq!(
        mail.auth.as_deref(),
        Some(&b"\0mcpsec\0smtp-pass-4242-secret"[..])
    );
    assert!(!mail.tls);
    let stored = document(&server, &job);
    let text = check_message(&mail, &job, &stored);
    let msg = MessageParser::default().parse(&mail.data).expect("mime");
    assert_eq!(msg.subject(), Some("Weekly triage"));
    assert_eq!(
        msg.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("reports@acme.example")
    );
    assert_eq!(
        msg.cc().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("ciso@acme.example")
    );
    for want in [
        "Report: triage".to_owned(),
        "Tenant: default".to_owned(),
        format!("Job: https://mcpsec.acme.example/api/v1/reports/jobs/{job}"),
        format!("Sent by schedule {id}"),
    ] {
        assert!(text.contains(&want), "{want:?} in {text}");
    }
    assert!(
        !server.log_text().contains("smtp-pass-4242-secret"),
        "the password is never logged"
    );

    // A recipient refused for good is not retried and is named in last_error.
    let (bad_id, _) = run_schedule(
        &server,
        "pdf",
        json!({"email": {"to": ["nobody@acme.example"]}}),
    );
    let err = last_error(&server, &bad_id);
    assert!(err.starts_with("email: the SMTP relay refused"), "{err}");
    assert!(err.contains("550"), "{err}");
    let ok = find_schedule(&server, &id).expect("schedule");
    assert!(ok["last_error"].is_null(), "{ok}");
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains("mcpsec_report_deliveries_total{target=\"email\",outcome=\"failed\"} 1"),
        "{metrics}"
    );
    // The audit log says where schedules deliver, without the addresses.
    let (_, audit) = call(
        &server,
        TOKEN,
        reqwest::Method::GET,
        "/api/v1/audit?limit=1000",
        None,
    );
    let created: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "reports.schedule_created")
        .collect();
    assert_eq!(created.len(), 2, "{audit}");
    assert!(
        created
            .iter()
            .all(|e| e["details"]["deliver"] == json!(["email"]))
    );
    assert!(!audit.to_string().contains("soc@acme.example"));
}

#[test]
fn reports_are_mailed_over_starttls_to_a_relay_with_a_private_ca() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, "Test mail CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca = p.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(p, ca_key);
    let mut lp = CertificateParams::default();
    lp.distinguished_name.push(DnType::CommonName, "mail.test");
    lp.subject_alt_names = vec![SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]))];
    let key = KeyPair::generate().expect("key");
    let leaf = lp.signed_by(&key, &issuer).expect("leaf");
    let cfg = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");
    let relay = relay(Some(std::sync::Arc::new(cfg)));
    let dir = tempfile::tempdir().expect("tmp");
    let ca_file = dir.path().join("mail-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("ca file");
    let data = dir.path().join("data");
    let port = relay.port.to_string();
    let ca_path = ca_file.display().to_string();
    let server = Server::start_with(
        &data,
        &["--demo"],
        &[
            ("MCPSEC_REPORT__SMTP__HOST", "127.0.0.1"),
            ("MCPSEC_REPORT__SMTP__PORT", &port),
            ("MCPSEC_REPORT__SMTP__TLS", "starttls"),
            ("MCPSEC_REPORT__SMTP__FROM", "reports@acme.example"),
            ("MCPSEC_REPORT__SMTP__CA_FILE", &ca_path),
        ],
    );
    assert!(server.wait_for("*", 47) >= 47, "demo data indexed");
    let (_, job) = run_schedule(
        &server,
        "pdf",
        json!({"email": {"to": ["soc@acme.example"]}}),
    );
    let mail = relay
        .mails
        .recv_timeout(Duration::from_secs(60))
        .expect("a message");
    assert!(mail.tls, "the message came inside TLS");
    let stored = document(&server, &job);
    let text = check_message(&mail, &job, &stored);
    assert!(
        text.contains(&format!("Job: /api/v1/reports/jobs/{job}")),
        "{text}"
    );
}

#[test]
fn bad_smtp_settings_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let check = |smtp: &str| {
        let file = dir.path().join("mcpsec.toml");
        std::fs::write(&file, format!("[report.smtp]\n{smtp}\n")).expect("config");
        let out = std::process::Command::new(bin())
            .args(["config", "check"])
            .arg(&file)
            .output()
            .expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check("host = \"127.0.0.1\"\nfrom = \"r@acme.example\"");
    assert!(ok, "{err}");
    for (smtp, want) in [
        (
            "host = \"127.0.0.1\"\nfrom = \"Reports <r@acme.example>\"",
            "report.smtp.from",
        ),
        (
            "host = \"127.0.0.1\"\nfrom = \"r@acme.example\"\ntls = \"ssl3\"",
            "ssl3",
        ),
        (
            "host = \"127.0.0.1\"\nfrom = \"r@acme.example\"\nusername = \"u\"",
            "password_env",
        ),
        (
            "host = \"127.0.0.1\"\nfrom = \"r@acme.example\"\nca_file = \"/nonexistent/ca.pem\"",
            "ca_file",
        ),
        (
            "host = \"127.0.0.1\"\nfrom = \"r@acme.example\"\npassword = \"inline\"",
            "password",
        ),
    ] {
        let (ok, err) = check(smtp);
        assert!(!ok, "{smtp}");
        assert!(err.contains(want), "{smtp}: {err}");
    }
}
