//! `[server.tls]`: HTTPS with client certificates mapped to identities. The CA, server and
//! client certificates are generated here; requests go through rustls with and without a
//! client certificate, with an unmapped one and with one from another CA.

use crate::common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Ca {
    cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("ca");
    Ca {
        cert,
        issuer: Issuer::new(p, key),
    }
}

/// A leaf certificate and its key (DER), issued by `ca`.
fn leaf(ca: &Ca, cn: &str, sans: Vec<SanType>) -> (Vec<u8>, Vec<u8>, String, String) {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names = sans;
    let key = KeyPair::generate().expect("key");
    let cert = p.signed_by(&key, &ca.issuer).expect("leaf");
    (
        cert.der().to_vec(),
        key.serialize_der(),
        cert.pem(),
        key.serialize_pem(),
    )
}

/// One HTTP/1.1 request over rustls; `(status, body)`, or the TLS/IO error text.
fn https(
    port: u16,
    root: &CertificateDer<'static>,
    client: Option<(&[u8], &[u8])>,
    request: &str,
) -> Result<(u16, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).expect("root");
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.to_vec())],
                PrivateKeyDer::try_from(key.to_vec()).expect("key"),
            )
            .expect("client cert"),
        None => b.with_no_client_auth(),
    };
    let name = ServerName::try_from("localhost").expect("name");
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn get(path: &str, bearer: Option<&str>) -> String {
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

#[test]
fn client_certificates_map_to_identities_and_strangers_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let ca1 = ca("mcpsec test CA");
    let rogue = ca("rogue CA");
    let (_, _, server_pem, server_key) = leaf(
        &ca1,
        "localhost",
        vec![SanType::DnsName("localhost".try_into().expect("dns"))],
    );
    let (agent, agent_key, agent_pem, agent_key_pem) = leaf(
        &ca1,
        "agent-1",
        vec![SanType::URI(
            "spiffe://acme/agent-1".try_into().expect("uri"),
        )],
    );
    let (by_uri, by_uri_key, _, _) = leaf(
        &ca1,
        "no-cn-match",
        vec![SanType::URI(
            "spiffe://acme/collector".try_into().expect("uri"),
        )],
    );
    let (stranger, stranger_key, _, _) = leaf(&ca1, "stranger", vec![]);
    let (forged, forged_key, _, _) = leaf(&rogue, "agent-1", vec![]);
    let port = free_port();
    let cfg = format!(
        "data_dir = {data:?}\nlisten = \"127.0.0.1:{port}\"\n\n[server.tls]\ncert = {:?}\nkey = {:?}\n\
         client_ca = {:?}\nclient_auth = \"optional\"\n\n\
         [[server.tls.clients]]\nsubject = \"agent-1\"\ntenant = \"default\"\nrole = \"viewer\"\nname = \"agent-one\"\n\n\
         [[server.tls.clients]]\nsubject = \"spiffe://acme/collector\"\ntenant = \"default\"\nrole = \"analyst\"\nname = \"collector\"\n",
        write(dir.path(), "server.pem", &server_pem),
        write(dir.path(), "server.key", &server_key),
        write(dir.path(), "ca.pem", &ca1.cert.pem()),
    );
    let cfg_path = write(dir.path(), "mcpsec.toml", &cfg);
    let check = Command::new(bin())
        .args(["config", "check", &cfg_path])
        .output()
        .expect("config check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::create_dir_all(&data).expect("data");
    let log = dir.path().join("serve.log");
    let mut child = Command::new(bin())
        .args(["serve", "--config", &cfg_path])
        .env("MCPSEC_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("serve");
    let root = ca1.cert.der().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while https(port, &root, None, &get("/healthz", None)).map(|r| r.0) != Ok(200) {
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "serve exited {st}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // No certificate: API keys still work; nothing else does.
    let (s, _) = https(port, &root, None, &get("/api/v1/stats", Some(TOKEN))).expect("key");
    assert_eq!(s, 200);
    let (s, body) = https(port, &root, None, &get("/api/v1/stats", None)).expect("none");
    assert_eq!(s, 401, "{body}");
    // A mapped certificate, by CN: a viewer of the default tenant.
    let (s, body) = https(
        port,
        &root,
        Some((&agent, &agent_key)),
        &get("/api/v1/events?q=*", None),
    )
    .expect("cert");
    assert_eq!(s, 200, "{body}");
    let post = "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"a\": \"b\"}\n\n";
    let (s, body) = https(port, &root, Some((&agent, &agent_key)), post).expect("post");
    assert_eq!(s, 403, "a viewer may not ingest: {body}");
    // By URI SAN: an analyst.
    let (s, body) = https(port, &root, Some((&by_uri, &by_uri_key)), post).expect("post");
    assert_eq!(s, 200, "{body}");
    // Trusted but unmapped: 401 naming the certificate.
    let (s, body) = https(
        port,
        &root,
        Some((&stranger, &stranger_key)),
        &get("/api/v1/stats", None),
    )
    .expect("stranger");
    assert_eq!(s, 401);
    assert!(
        body.contains("stranger") && body.contains("not mapped"),
        "{body}"
    );
    // Issued by another CA: the handshake fails.
    let forged_answer = https(
        port,
        &root,
        Some((&forged, &forged_key)),
        &get("/api/v1/stats", None),
    );
    assert!(forged_answer.is_err(), "{forged_answer:?}");
    // Plain HTTP on the TLS port gets nothing.
    let plain = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send();
    assert!(plain.is_err() || !plain.is_ok_and(|r| r.status().is_success()));

    grpc_with_certificates(port, &ca1.cert.pem(), &agent_pem, &agent_key_pem);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // The audit log recorded the certificate logins and the refusals.
    let conn = rusqlite::Connection::open(data.join("state.db")).expect("db");
    let audit: Vec<String> = conn
        .prepare("SELECT actor || ' ' || action || ' ' || target || ' ' || details FROM audit_log")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
        })
        .expect("audit");
    drop(conn);
    let audit = audit.join("\n");
    assert!(audit.contains("cert:agent-one auth.success"), "{audit}");
    assert!(audit.contains("cert:collector auth.success"), "{audit}");
    assert!(audit.contains("not mapped to an identity"), "{audit}");
    assert!(
        audit.contains("auth.failure tls handshake"),
        "the forged certificate: {audit}"
    );

    // client_auth = "required": no certificate, no connection.
    let port2 = free_port();
    let cfg2 = cfg
        .replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{port2}"))
        .replace("client_auth = \"optional\"", "client_auth = \"required\"");
    let cfg2_path = write(dir.path(), "required.toml", &cfg2);
    let mut child = Command::new(bin())
        .args(["serve", "--config", &cfg2_path])
        .env("MCPSEC_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    while https(
        port2,
        &root,
        Some((&agent, &agent_key)),
        &get("/healthz", None),
    )
    .map(|r| r.0)
        != Ok(200)
    {
        assert!(
            Instant::now() < deadline,
            "required-mode serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        https(port2, &root, None, &get("/api/v1/stats", Some(TOKEN))).is_err(),
        "a key without a certificate is refused at the handshake"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    // Broken settings are refused by `config check`, naming the problem.
    let bad = cfg.replace("client_ca = ", "# client_ca = ");
    let out = Command::new(bin())
        .args(["config", "check", &write(dir.path(), "bad.toml", &bad)])
        .output()
        .expect("check");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_ca"));
    let missing = cfg.replace("server.key", "nope.key");
    let out = Command::new(bin())
        .args([
            "config",
            "check",
            &write(dir.path(), "missing.toml", &missing),
        ])
        .output()
        .expect("check");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.key"));
}

/// gRPC on the same TLS port: a call without a token authenticates with the client
/// certificate (a viewer: search yes, ingest no); without either it is refused.
fn grpc_with_certificates(port: u16, ca_pem: &str, cert_pem: &str, key_pem: &str) {
    use mcpsec_grpc::pb;
    use mcpsec_grpc::pb::event_service_client::EventServiceClient;
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let connect = |identity: Option<Identity>| async move {
            let mut tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca_pem))
                .domain_name("localhost");
            if let Some(i) = identity {
                tls = tls.identity(i);
            }
            Channel::from_shared(format!("https://127.0.0.1:{port}"))
                .expect("uri")
                .tls_config(tls)
                .expect("tls")
                .connect()
                .await
                .expect("connect")
        };
        let mut with_cert =
            EventServiceClient::new(connect(Some(Identity::from_pem(cert_pem, key_pem))).await);
        with_cert
            .search(pb::SearchRequest {
                query: "*".into(),
                limit: 1,
                ..Default::default()
            })
            .await
            .expect("search with a certificate");
        let err = with_cert
            .ingest(tokio_stream::iter(Vec::<pb::IngestRequest>::new()))
            .await
            .expect_err("a viewer may not ingest");
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err}");
        let mut anonymous = EventServiceClient::new(connect(None).await);
        let err = anonymous
            .search(pb::SearchRequest::default())
            .await
            .expect_err("no certificate, no key");
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    });
}
